//! The `sparring` binary as users and scripts call it.

use std::path::PathBuf;
use std::process::{Command, Output};

use sparring_models::{Home, Manifest};

fn sparring(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sparring"))
        .args(args)
        .env("SPARRING_THREADS", "2")
        .output()
        .expect("sparring runs")
}

fn installed(id: &str) -> bool {
    sparring_models::installed_or_skip(id).is_some()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn generate_json_is_reproducible_and_reports_speed() {
    if !installed("smollm2-135m-instruct") {
        return;
    }
    let args = [
        "generate",
        "--model",
        "smollm2-135m-instruct",
        "--seed",
        "5",
        "--max-tokens",
        "20",
        "--json",
        "Hello, my bill is wrong.",
    ];
    let a = json(&sparring(&args));
    let b = json(&sparring(&args));
    assert_eq!(a["text"], b["text"]);
    assert!(!a["text"].as_str().unwrap().trim().is_empty());
    assert!(a["tokens"].as_u64().unwrap() > 0);
    assert!(a["ttft_ms"].as_f64().unwrap() > 0.0);
    assert!(a["decode_tok_s"].as_f64().is_some());
}

#[test]
fn generate_speaks_chinese_with_gemma() {
    if !installed("gemma3-270m") {
        return;
    }
    let out = json(&sparring(&[
        "generate",
        "--model",
        "gemma3-270m",
        "--raw",
        "--temperature",
        "0",
        "--max-tokens",
        "20",
        "--json",
        "客户：我家的宽带已经断了三天了，",
    ]));
    let text = out["text"].as_str().unwrap();
    assert!(
        text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{text:?}"
    );
}

#[test]
fn a_gguf_path_works_as_model() {
    if !installed("smollm2-135m-instruct") {
        return;
    }
    let home = Home::from_env();
    let entry = Manifest::builtin()
        .get("smollm2-135m-instruct")
        .unwrap()
        .clone();
    let path: PathBuf = home.model_path(&entry);
    let out = json(&sparring(&[
        "generate",
        "--model",
        path.to_str().unwrap(),
        "--temperature",
        "0",
        "--max-tokens",
        "8",
        "--raw",
        "--json",
        "The capital of France is",
    ]));
    assert!(out["text"].as_str().unwrap().contains("Paris"), "{out}");
}

#[test]
fn unknown_models_and_bad_files_are_named_in_errors() {
    let out = sparring(&["generate", "--model", "no-such-model", "hi"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-model"), "{err}");
    assert!(
        err.contains("smollm2-135m-instruct"),
        "lists known ids: {err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.gguf");
    std::fs::write(&bogus, b"GGUF but not really").unwrap();
    let out = sparring(&["generate", "--model", bogus.to_str().unwrap(), "hi"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bogus.gguf"), "{err}");
}

#[test]
fn models_list_and_verify() {
    let out = sparring(&["models", "list", "--json"]);
    let rows = json(&out);
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"smollm2-135m-instruct") && ids.contains(&"gemma3-270m"));

    // A damaged file of the right size is caught by verify, with a non-zero exit.
    let dir = tempfile::tempdir().unwrap();
    let entry = Manifest::builtin()
        .get("smollm2-135m-instruct")
        .unwrap()
        .clone();
    let home = Home::new(dir.path());
    std::fs::create_dir_all(home.models_dir()).unwrap();
    let f = std::fs::File::create(home.model_path(&entry)).unwrap();
    f.set_len(entry.size).unwrap();
    drop(f);
    let out = Command::new(env!("CARGO_BIN_EXE_sparring"))
        .args(["models", "verify", "smollm2-135m-instruct"])
        .env("SPARRING_HOME", dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("sha256"), "{stdout}");
    assert!(stdout.contains("sparring models pull"), "{stdout}");
}

/// `generate --server` against `openai-server`, both real processes on loopback,
/// gives the same text as the local model.
#[test]
fn generate_through_the_openai_server_equals_local() {
    use std::io::{BufRead, BufReader};
    if !installed("smollm2-135m-instruct") {
        return;
    }
    let mut server = Command::new(env!("CARGO_BIN_EXE_sparring"))
        .args(["openai-server", "--addr", "127.0.0.1:0"])
        .env("SPARRING_THREADS", "2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _guard = Kill(server);
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");
    let common = [
        "--temperature",
        "0",
        "--max-tokens",
        "12",
        "--json",
        "My router blinks red.",
    ];
    let mut remote = vec!["generate", "--server", &url, "--model", "smollm2"];
    remote.extend(common);
    let mut local = vec!["generate"];
    local.extend(common);
    let r = json(&sparring(&remote));
    let l = json(&sparring(&local));
    assert_eq!(r["text"], l["text"]);
    assert_eq!(r["tokens"], l["tokens"]);
}
