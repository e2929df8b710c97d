//! Domain types shared by every sparring crate.
//!
//! This crate deliberately knows nothing of candle, wasmtime or axum: personas,
//! dialogue state and scorecards are plain data that any front end or backend can
//! use without pulling heavy dependencies.

pub mod agreement;
pub mod chat;
pub mod condition;
pub mod customer_prompt;
pub mod dialogue;
pub mod embedding;
pub mod guard;
pub mod persona;
pub mod scorecard;
pub mod scoring;
pub mod transcript;

pub use chat::{FinishReason, GenerationStats, Message, PromptMode, Role, SamplingParams};
pub use embedding::{cosine, EmbedError, Embedder};
