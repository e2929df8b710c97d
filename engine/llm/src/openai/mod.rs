//! The OpenAI-compatible side of the engine: a [`ChatBackend`](crate::ChatBackend)
//! for any chat-completions server ([`OpenAiBackend`]), and a server that
//! exposes any backend with the same API ([`server::router`]).

pub mod client;
pub mod server;
mod sse;

pub use client::{OpenAiBackend, OpenAiOptions};
