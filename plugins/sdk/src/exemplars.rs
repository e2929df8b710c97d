//! Similarity to example replies an instructor labelled, via the host's
//! multilingual sentence embeddings.

use crate::host;
use std::cell::OnceCell;

/// Example replies per level; a reply is placed by which examples it is
/// closest to. English exemplars serve Chinese replies too (the embedding
/// model maps paraphrases across the two languages close together).
#[derive(Debug, Clone, Default)]
pub struct ExemplarSet {
    /// (level, example text)
    pub examples: Vec<(u8, String)>,
    /// The examples' embeddings, asked of the host once per instance (the
    /// host reuses configured instances) instead of on every reply.
    vectors: OnceCell<Vec<Vec<f32>>>,
}

/// Where a reply sits among the exemplars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Similarity-weighted level, 0.0–2.0.
    pub level: f32,
    /// Similarity of the closest exemplar.
    pub best: f32,
}

impl ExemplarSet {
    pub fn new(examples: Vec<(u8, String)>) -> Self {
        Self {
            examples,
            vectors: OnceCell::new(),
        }
    }

    fn vectors(&self) -> Option<&[Vec<f32>]> {
        if let Some(v) = self.vectors.get() {
            return Some(v);
        }
        let texts: Vec<String> = self.examples.iter().map(|(_, t)| t.clone()).collect();
        let v = host::embed(&texts).ok()?;
        Some(self.vectors.get_or_init(|| v))
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Place `reply` among the exemplars: a softmax over similarities (with
    /// `sharpness`, e.g. 20) weights each exemplar's level. `None` when the
    /// host has no embedding model or there are no exemplars.
    pub fn place(&self, reply: &str, sharpness: f32) -> Option<Placement> {
        if self.examples.is_empty() {
            return None;
        }
        let examples = self.vectors()?;
        let reply = host::embed(&[reply.to_string()]).ok()?.pop()?;
        let sims: Vec<f32> = examples.iter().map(|v| dot(&reply, v)).collect();
        let best = sims.iter().cloned().fold(f32::MIN, f32::max);
        let weights: Vec<f32> = sims
            .iter()
            .map(|s| ((s - best) * sharpness).exp())
            .collect();
        let total: f32 = weights.iter().sum();
        let level = weights
            .iter()
            .zip(&self.examples)
            .map(|(w, (l, _))| w * *l as f32)
            .sum::<f32>()
            / total;
        Some(Placement { level, best })
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
