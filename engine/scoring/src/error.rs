//! Errors of loading plugins (per file) and of calling them (per plugin).

use std::path::PathBuf;
use thiserror::Error;

/// A plugin could not be installed or loaded.
#[derive(Debug, Error)]
pub enum ScoringError {
    #[error("{}:{line}: {message}", file.display())]
    Manifest {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid WebAssembly component: {message}", file.display())]
    Compile { file: PathBuf, message: String },
    #[error("{}: built for another interface: {detail} (this host implements {expected})", file.display())]
    Incompatible {
        file: PathBuf,
        detail: String,
        expected: &'static str,
    },
    #[error("{}: {source}", file.display())]
    Plugin {
        file: PathBuf,
        #[source]
        source: PluginError,
    },
    #[error("{}: plugin id `{manifest}` in plugin.toml but the component calls itself `{described}`", file.display())]
    NameMismatch {
        file: PathBuf,
        manifest: String,
        described: String,
    },
    #[error("scoring engine: {0}")]
    Engine(String),
}

/// One call into one plugin failed. The message names the plugin.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum PluginError {
    #[error("plugin `{plugin}` trapped: {message}{}", stderr_suffix(stderr))]
    Trapped {
        plugin: String,
        message: String,
        stderr: String,
    },
    #[error("plugin `{plugin}` ran longer than its {limit_ms} ms limit and was stopped")]
    TimedOut { plugin: String, limit_ms: u64 },
    #[error(
        "plugin `{plugin}` tried to use more than its {limit_mib} MiB memory limit and was stopped"
    )]
    OutOfMemory { plugin: String, limit_mib: u64 },
    #[error("plugin `{plugin}` reported an error: {message}")]
    Failed { plugin: String, message: String },
    #[error("plugin `{plugin}` returned invalid output: {field}: {problem}")]
    InvalidOutput {
        plugin: String,
        field: String,
        problem: String,
    },
    #[error("plugin `{plugin}` could not be started: {message}")]
    Instantiate { plugin: String, message: String },
}

impl PluginError {
    pub fn plugin(&self) -> &str {
        match self {
            PluginError::Trapped { plugin, .. }
            | PluginError::TimedOut { plugin, .. }
            | PluginError::OutOfMemory { plugin, .. }
            | PluginError::Failed { plugin, .. }
            | PluginError::InvalidOutput { plugin, .. }
            | PluginError::Instantiate { plugin, .. } => plugin,
        }
    }

    /// A short machine-readable kind, for JSON output and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PluginError::Trapped { .. } => "trapped",
            PluginError::TimedOut { .. } => "timed_out",
            PluginError::OutOfMemory { .. } => "out_of_memory",
            PluginError::Failed { .. } => "failed",
            PluginError::InvalidOutput { .. } => "invalid_output",
            PluginError::Instantiate { .. } => "instantiate",
        }
    }
}

fn stderr_suffix(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(" (plugin stderr: {stderr})")
    }
}
