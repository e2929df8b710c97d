//! The JSON API, one module per resource.

pub mod account;
pub mod assignments;
pub mod batches;
pub mod personas;
pub mod plugins;
pub mod progress;
pub mod sessions;
