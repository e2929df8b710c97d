//! Errors of the inference crate; each names the file, key or server it concerns.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    BadModel { path: PathBuf, detail: String },
    #[error("{path}: unsupported architecture `{arch}` (supported: llama, qwen2, qwen3, gemma3)")]
    UnsupportedArchitecture { path: PathBuf, arch: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    Template(String),
    #[error("prompt of {tokens} tokens does not fit the context of {context} tokens")]
    ContextOverflow { tokens: usize, context: usize },
    #[error("inference: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("server {url}: {detail}")]
    Remote { url: String, detail: String },
    #[error("server {url}: no answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error("generation worker stopped unexpectedly: {0}")]
    Worker(String),
}
