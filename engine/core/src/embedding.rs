//! Sentence embeddings as a capability, so scoring can ask for them without
//! knowing which model or runtime computes them.

/// Why an embedding could not be computed.
pub type EmbedError = Box<dyn std::error::Error + Send + Sync>;

/// Computes L2-normalised sentence embeddings. Implementations must be
/// deterministic: the same text always yields the same vector, so scores are
/// reproducible.
pub trait Embedder: Send + Sync {
    /// One normalised vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Length of every vector `embed` returns.
    fn dim(&self) -> usize;
}

/// Cosine similarity of two vectors (dot product when both are normalised).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
