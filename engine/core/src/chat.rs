//! Messages and generation settings exchanged with a language-model backend.

use serde::{Deserialize, Serialize};

/// Who said a line in a conversation with the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One line of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
}

/// How a conversation is turned into model input.
///
/// Instruct models have a chat template; base models (Gemma 3 270M) only continue
/// text, so they get a transcript with few-shot lines instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptMode {
    Chat,
    Transcript,
}

/// Sampling settings. The same model, prompt and settings (seed included) give
/// byte-identical output, which is what makes sessions reproducible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// 0 means greedy decoding.
    pub temperature: f32,
    /// 0 disables top-k.
    pub top_k: usize,
    /// 1.0 disables nucleus sampling.
    pub top_p: f32,
    /// 0.0 disables min-p.
    pub min_p: f32,
    /// 1.0 disables the penalty.
    pub repeat_penalty: f32,
    /// How many recent tokens the repetition penalty looks at.
    pub repeat_last_n: usize,
    pub max_tokens: usize,
    /// Generation stops before any of these strings; they are not part of the output.
    pub stop: Vec<String>,
    pub seed: u64,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.7,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            max_tokens: 256,
            stop: Vec::new(),
            seed: 42,
        }
    }
}

impl SamplingParams {
    /// Deterministic argmax decoding: what tests and benchmarks use.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            ..Self::default()
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model emitted an end-of-turn token.
    Stop,
    /// A stop string was produced.
    StopString,
    /// `max_tokens` was reached.
    Length,
    /// The receiver went away.
    Cancelled,
}

/// What one generation cost; reported at the end of every stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    /// Tokens in the whole prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens actually computed (the rest came from the conversation's cache).
    pub prompt_tokens_computed: usize,
    pub generated_tokens: usize,
    pub ttft_ms: f64,
    pub prompt_tok_s: f64,
    pub decode_tok_s: f64,
    pub finish_reason: FinishReason,
    /// Mean log-probability the model gave the tokens it chose (natural log;
    /// None when the backend does not say). Very low means the model was
    /// guessing: small models writing a language they barely know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_logprob: Option<f64>,
}
