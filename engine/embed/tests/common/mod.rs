//! Finding the real model the tests run on, and the C engine's reference outputs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use serde::Deserialize;
use sparring_embed::E5Embedder;

pub const MODEL_ID: &str = "multilingual-e5-small";

/// The installed file of a manifest model (skip or, in CI, fail when missing).
pub fn model_path(id: &str) -> Option<PathBuf> {
    sparring_models::installed_or_skip(id)
}

/// multilingual-e5-small, loaded once per test binary.
pub fn e5() -> Option<&'static E5Embedder> {
    static M: OnceLock<Option<E5Embedder>> = OnceLock::new();
    M.get_or_init(|| {
        let path = model_path(MODEL_ID)?;
        Some(E5Embedder::load(&path).expect("model loads"))
    })
    .as_ref()
}

#[derive(Debug, Deserialize)]
pub struct Fixture {
    pub prefix: String,
    pub max_tokens: usize,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub text: String,
    /// The C tokenizer on the raw text: no prefix, no specials, no truncation.
    pub content_ids: Vec<u32>,
    /// The model input: <s> + tokens of prefix + text, truncated + </s>.
    pub ids: Vec<u32>,
    pub n_content: usize,
    /// The C engine's embedding of `ids`.
    pub embedding: Vec<f32>,
    /// What e5_embed returns for texts over one window (averaged windows).
    pub embedding_sliding_windows: Option<Vec<f32>>,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/e5_reference.json"
        );
        let text = std::fs::read_to_string(path).expect("fixture readable");
        serde_json::from_str(&text).expect("fixture parses")
    })
}

pub fn case(name: &str) -> &'static Case {
    fixture()
        .cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no fixture case {name}"))
}
