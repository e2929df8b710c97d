//! Local LLM inference for sparring.
//!
//! Loads GGUF models (llama, qwen2, qwen3, gemma3) on candle, builds their
//! tokenizers from the file's own metadata, renders chat templates or few-shot
//! transcripts, samples reproducibly, and streams text off the async runtime.
//! [`ChatBackend`] is the seam the dialogue engine uses; an OpenAI-compatible
//! server is the other implementation.

pub mod backend;
pub mod bench;
pub mod error;
pub mod gguf;
pub mod local;
pub mod model;
pub mod openai;
pub mod prompt;
pub mod sampler;
pub mod text_decoder;
pub mod tokenizer;

pub use backend::{ChatBackend, ChatSession, Prompt, StreamEvent, TextStream};
pub use error::LlmError;
pub use local::{Conversation, LocalModel, ModelInfo};
pub use model::LoadOptions;
pub use prompt::TranscriptStyle;
pub use tokenizer::Tokenizer;
