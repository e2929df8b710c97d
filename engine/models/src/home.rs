//! The cache directory models are installed into, and checking what is there.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};

use crate::error::ModelsError;
use crate::manifest::ModelEntry;
use crate::progress;

/// Size of the buffer files are hashed and copied with.
pub(crate) const BUFFER_SIZE: usize = 1 << 20;

/// The sparring cache directory (`$SPARRING_HOME`); models live in `models/` inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `$SPARRING_HOME` if set, else the platform data directory + `sparring`
    /// (`~/.local/share/sparring` on Linux), else `~/.sparring`.
    pub fn from_env() -> Home {
        if let Some(dir) = std::env::var_os("SPARRING_HOME").filter(|d| !d.is_empty()) {
            return Home::new(dir);
        }
        if let Some(data) = dirs::data_dir() {
            return Home::new(data.join("sparring"));
        }
        match dirs::home_dir() {
            Some(home) => Home::new(home.join(".sparring")),
            None => Home::new(".sparring"),
        }
    }

    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `ROOT/models`.
    pub fn models_dir(&self) -> PathBuf {
        self.root.join("models")
    }

    /// Where the entry's main file is (or would be) installed.
    pub fn model_path(&self, entry: &ModelEntry) -> PathBuf {
        self.models_dir().join(&entry.file)
    }

    /// Whether all files of the entry exist with the right sizes (no checksum: cheap).
    pub fn is_installed(&self, entry: &ModelEntry) -> bool {
        entry.file_specs().iter().all(|spec| {
            std::fs::metadata(self.models_dir().join(spec.file))
                .is_ok_and(|m| m.is_file() && m.len() == spec.size)
        })
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyStatus {
    /// Every file is there with the right size and checksum.
    Ok,
    /// A file is not there.
    Missing,
    /// A file has the wrong size.
    SizeMismatch { expected: u64, actual: u64 },
    /// A file has the right size but the wrong checksum.
    ChecksumMismatch { expected: String, actual: String },
}

/// Checks the installed files of `entry` byte for byte (full SHA-256). With `progress`, a
/// progress bar on stderr. For a multi-file model, the first problem found is reported.
pub fn verify(
    home: &Home,
    entry: &ModelEntry,
    progress: bool,
) -> Result<VerifyStatus, ModelsError> {
    let specs = entry.file_specs();
    // Cheap checks first, so a missing tokenizer is reported without hashing the weights.
    for spec in &specs {
        let path = home.models_dir().join(spec.file);
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(VerifyStatus::Missing),
            Err(e) => return Err(ModelsError::io(path, e)),
            Ok(m) if !m.is_file() => return Ok(VerifyStatus::Missing),
            Ok(m) if m.len() != spec.size => {
                return Ok(VerifyStatus::SizeMismatch {
                    expected: spec.size,
                    actual: m.len(),
                })
            }
            Ok(_) => {}
        }
    }
    let bar = progress::bytes_bar(
        progress,
        entry.total_size(),
        format!("checking {}", entry.id),
    );
    let mut result = VerifyStatus::Ok;
    for spec in &specs {
        let path = home.models_dir().join(spec.file);
        let actual = sha256_file(&path, &bar)?;
        if actual != spec.sha256 {
            result = VerifyStatus::ChecksumMismatch {
                expected: spec.sha256.to_string(),
                actual,
            };
            break;
        }
    }
    bar.finish_and_clear();
    Ok(result)
}

/// Hex SHA-256 of a file, read in 1 MiB pieces; advances `bar` by the bytes read.
pub(crate) fn sha256_file(path: &Path, bar: &ProgressBar) -> Result<String, ModelsError> {
    let mut file = File::open(path).map_err(|e| ModelsError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ModelsError::io(path, e)),
        };
        hasher.update(&buffer[..n]);
        bar.inc(n as u64);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// For test suites that run real models: the installed file of manifest model
/// `id`, or `None` so the test can skip, printing how to install it. Under
/// `SPARRING_REQUIRE_MODELS=1` (CI) a missing model panics instead, so no test
/// passes by skipping there.
pub fn installed_or_skip(id: &str) -> Option<PathBuf> {
    let manifest = crate::Manifest::builtin();
    let home = Home::from_env();
    let entry = manifest
        .get(id)
        .unwrap_or_else(|| panic!("model {id} is not in the manifest"));
    if home.is_installed(entry) {
        return Some(home.model_path(entry));
    }
    let msg = format!(
        "model {id} is not installed under {}; run `sparring models pull {id}`",
        home.models_dir().display()
    );
    if std::env::var("SPARRING_REQUIRE_MODELS").as_deref() == Ok("1") {
        panic!("{msg}");
    }
    eprintln!("skipping: {msg}");
    None
}
