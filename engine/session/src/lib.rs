//! A role-play session, wired from the engine's parts: the persona's state
//! (sparring-core) decides what the customer does, scorer plugins
//! (sparring-scoring) rate each reply and move that state, and a model
//! (sparring-llm) voices the customer's move under an output guard, falling
//! back to authored lines. The server and the CLI both drive this crate.

pub mod fidelity;
pub mod record;
pub mod session;

pub use record::{
    Candidate, CustomerLine, LineSource, PluginResult, SessionReport, TurnRecord, TurnUpdateRecord,
    VoiceCounts,
};
pub use session::{Event, Session, SessionError, SessionOptions, MAX_REPLY_CHARS};
