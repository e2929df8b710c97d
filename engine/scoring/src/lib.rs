//! Runs scorer plugins: WebAssembly components of the `sparring:scorer` WIT
//! world, compiled once (and cached on disk), instantiated fresh for every call
//! in a sandbox with no files, network, environment or clock, a time limit, a
//! memory cap and bounded output.
//!
//! A plugin that traps, loops, runs out of memory, returns garbage or was built
//! for another interface version yields a [`PluginError`] for that plugin only;
//! the other plugins' scores still arrive.

pub mod batch;
pub mod bench;
mod bindings;
pub mod builder;
mod compile_cache;
mod convert;
mod error;
pub mod eval;
pub mod labelled;
mod manifest;
mod plugin;
mod run;
mod sandbox;
mod services;
mod validate;

pub use compile_cache::{CacheOutcome, CompileCache};
pub use error::{PluginError, ScoringError};
pub use manifest::{PluginManifest, MANIFEST_FILE};
pub use plugin::{Metering, Plugin, ScoringHost};
pub use run::{score_session_all, score_turn_all, score_turn_each, PluginOutcome};
pub use sandbox::{Limits, FUEL_PER_MS};
pub use services::HostServices;

/// The WIT package version this host implements.
pub const WIT_PACKAGE: &str = "sparring:scorer@0.1.0";
