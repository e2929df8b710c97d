//! The seam between the dialogue engine and whatever runs the model: the
//! in-process candle backend or a remote OpenAI-compatible server.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use sparring_core::{GenerationStats, Message, PromptMode, SamplingParams};
use tokio::sync::mpsc;

use crate::error::LlmError;
use crate::local::{Conversation, LocalModel};
use crate::prompt::TranscriptStyle;

/// One item of a generation stream.
#[derive(Debug, Clone)]
pub enum StreamEvent {
    /// New text; always whole UTF-8 characters.
    Delta(String),
    /// The last event: what the generation cost and why it ended.
    Done(GenerationStats),
}

/// What to generate from.
#[derive(Debug, Clone)]
pub enum Prompt {
    /// A conversation, formatted by the backend (chat template or transcript).
    Messages {
        messages: Vec<Message>,
        /// Labels for base models' transcripts; ignored by chat models.
        transcript: Option<TranscriptStyle>,
    },
    /// Raw text to continue.
    Text(String),
}

/// Text deltas as they are generated. Dropping the stream stops generation.
pub struct TextStream {
    rx: mpsc::Receiver<Result<StreamEvent, LlmError>>,
}

impl TextStream {
    /// A stream fed by the sender; for backends.
    pub fn channel(buffer: usize) -> (mpsc::Sender<Result<StreamEvent, LlmError>>, Self) {
        let (tx, rx) = mpsc::channel(buffer);
        (tx, Self { rx })
    }

    /// The next event, waiting on this thread (for callers outside an async
    /// runtime, such as a blocking task of the server or the CLI).
    pub fn blocking_next(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        self.rx.blocking_recv()
    }

    /// Waits for the whole text (for callers that do not stream).
    pub async fn collect_text(mut self) -> Result<(String, GenerationStats), LlmError> {
        use futures::StreamExt;
        let mut text = String::new();
        while let Some(ev) = self.next().await {
            match ev? {
                StreamEvent::Delta(d) => text.push_str(&d),
                StreamEvent::Done(stats) => return Ok((text, stats)),
            }
        }
        Err(LlmError::Worker("stream ended without a result".into()))
    }
}

impl Stream for TextStream {
    type Item = Result<StreamEvent, LlmError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A source of conversations.
pub trait ChatBackend: Send + Sync {
    /// A short description for logs and reports (model name, server URL).
    fn describe(&self) -> String;
    /// How prompts should be written for this model: instructions for chat
    /// models, a transcript to continue for base models.
    fn prompt_mode(&self) -> PromptMode {
        PromptMode::Chat
    }
    /// Starts a conversation; backends that can, keep state (a KV cache) in it.
    fn open(&self) -> Result<Box<dyn ChatSession>, LlmError>;
}

/// One conversation. Each call streams one reply.
pub trait ChatSession: Send {
    fn stream(&mut self, prompt: Prompt, params: SamplingParams) -> TextStream;
}

impl ChatBackend for LocalModel {
    fn describe(&self) -> String {
        let info = self.info();
        format!("{} ({}, in-process)", info.name, info.architecture)
    }

    fn prompt_mode(&self) -> PromptMode {
        LocalModel::prompt_mode(self)
    }

    fn open(&self) -> Result<Box<dyn ChatSession>, LlmError> {
        Ok(Box::new(LocalSession {
            conversation: Arc::new(Mutex::new(self.new_conversation()?)),
        }))
    }
}

/// Runs each generation on its own OS thread, off the async runtime; the
/// conversation's cache stays with the session between turns.
struct LocalSession {
    conversation: Arc<Mutex<Conversation>>,
}

impl ChatSession for LocalSession {
    fn stream(&mut self, prompt: Prompt, params: SamplingParams) -> TextStream {
        let (tx, stream) = TextStream::channel(64);
        let conversation = self.conversation.clone();
        let spawned = std::thread::Builder::new()
            .name("sparring-generate".into())
            .spawn(move || {
                let mut conv = match conversation.lock() {
                    Ok(c) => c,
                    Err(poisoned) => {
                        let mut c = poisoned.into_inner();
                        c.reset();
                        c
                    }
                };
                let on_delta = |d: &str| {
                    tx.blocking_send(Ok(StreamEvent::Delta(d.to_string())))
                        .is_ok()
                };
                let result = match &prompt {
                    Prompt::Messages {
                        messages,
                        transcript,
                    } => conv.chat(messages, transcript.as_ref(), &params, on_delta),
                    Prompt::Text(text) => conv.complete(text, &params, on_delta),
                };
                let _ = tx.blocking_send(result.map(|(_, stats)| StreamEvent::Done(stats)));
            });
        if let Err(e) = spawned {
            let (tx, stream) = TextStream::channel(1);
            let _ = tx.try_send(Err(LlmError::Worker(e.to_string())));
            return stream;
        }
        stream
    }
}
