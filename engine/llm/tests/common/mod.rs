//! Finding the real models the tests run on.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use sparring_core::PromptMode;
use sparring_llm::{LoadOptions, LocalModel};

/// The installed file of a manifest model (skip or, in CI, fail when missing).
pub fn model_path(id: &str) -> Option<PathBuf> {
    sparring_models::installed_or_skip(id)
}

fn load(id: &str, mode: PromptMode) -> Option<LocalModel> {
    let path = model_path(id)?;
    Some(LocalModel::load(&path, Some(mode), &LoadOptions::default()).expect("model loads"))
}

/// SmolLM2-135M-Instruct, loaded once per test binary.
pub fn smollm2() -> Option<LocalModel> {
    static M: OnceLock<Option<LocalModel>> = OnceLock::new();
    M.get_or_init(|| load("smollm2-135m-instruct", PromptMode::Chat))
        .clone()
}

/// Gemma 3 270M (base), loaded once per test binary.
pub fn gemma() -> Option<LocalModel> {
    static M: OnceLock<Option<LocalModel>> = OnceLock::new();
    M.get_or_init(|| load("gemma3-270m", PromptMode::Transcript))
        .clone()
}

pub mod tiny;

/// Largest difference between the next-token probabilities two logit vectors
/// give: what sampling sees, unlike raw logits whose scale varies.
pub fn max_prob_diff(a: &[f32], b: &[f32]) -> f32 {
    fn softmax(l: &[f32]) -> Vec<f32> {
        let max = l.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
        let e: Vec<f32> = l.iter().map(|&x| (x - max).exp()).collect();
        let sum: f32 = e.iter().sum();
        e.into_iter().map(|x| x / sum).collect()
    }
    softmax(a)
        .iter()
        .zip(softmax(b))
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}
