//! What the host offers plugins: embeddings, similarity, Chinese segmentation,
//! language detection and logging. All deterministic.

use crate::bindings::sparring::scorer::host as imports;
use crate::{Language, LogLevel};

/// Normalised sentence embeddings, one per text. Fails when the host has no
/// embedding model installed; scorers should then fall back to rules.
pub fn embed(texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
    imports::embed(texts)
}

/// Cosine similarity of two texts' embeddings.
pub fn similarity(a: &str, b: &str) -> Result<f32, String> {
    imports::similarity(a, b)
}

/// Words of a text: Chinese is segmented by a dictionary, other text split on
/// whitespace and punctuation.
pub fn segment(text: &str) -> Vec<String> {
    imports::segment(text)
}

pub fn detect_language(text: &str) -> Language {
    imports::detect_language(text)
}

/// A message in the host's log, tagged with the plugin.
pub fn log(level: LogLevel, message: &str) {
    imports::log(level, message)
}
