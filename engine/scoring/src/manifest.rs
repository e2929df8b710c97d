//! `plugin.toml`: how a plugin is installed and enabled.
//!
//! ```toml
//! id = "empathy"
//! version = "0.1.0"
//! wasm = "empathy.wasm"          # relative to this file
//! description = "Empathy and emotion management (4.2.x, 4.3.2)"
//! enabled = true                 # optional, default true
//!
//! [limits]                       # optional, override the host's defaults
//! timeout_ms = 50
//! memory_mib = 64
//!
//! [config]                       # optional: merged over the plugin's own defaults
//! level2_from = 70
//! ```

use crate::error::ScoringError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// File name of a plugin manifest inside a plugin directory.
pub const MANIFEST_FILE: &str = "plugin.toml";

#[derive(Debug, Clone, PartialEq)]
pub struct PluginManifest {
    /// Where the manifest was read from.
    pub path: PathBuf,
    pub id: String,
    pub version: String,
    /// Absolute or manifest-relative path of the component, resolved.
    pub wasm: PathBuf,
    pub description: String,
    pub enabled: bool,
    pub timeout_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    /// The instructor's configuration, as the JSON `configure` receives.
    pub config: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: String,
    version: String,
    wasm: String,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    config: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    timeout_ms: Option<u64>,
    memory_mib: Option<u64>,
}

fn yes() -> bool {
    true
}

impl PluginManifest {
    /// Read `plugin.toml` (or a directory containing one).
    pub fn load(path: &Path) -> Result<Self, ScoringError> {
        let path = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ScoringError::Io {
            file: path.clone(),
            source,
        })?;
        Self::parse(&path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ScoringError> {
        let error = |line: usize, message: String| ScoringError::Manifest {
            file: path.to_path_buf(),
            line,
            message,
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            error(line, e.message().to_string())
        })?;
        let line_of = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map_or(1, |i| i + 1)
        };
        if raw.id.is_empty()
            || !raw
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(error(
                line_of("id"),
                format!(
                    "id `{}`: use lowercase letters, digits, `-` and `_`",
                    raw.id
                ),
            ));
        }
        if raw.version.trim().is_empty() {
            return Err(error(line_of("version"), "version is empty".into()));
        }
        if raw.wasm.trim().is_empty() {
            return Err(error(line_of("wasm"), "wasm is empty".into()));
        }
        if raw.limits.timeout_ms == Some(0) || raw.limits.memory_mib == Some(0) {
            return Err(error(line_of("[limits]"), "limits must be above 0".into()));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let config = match raw.config {
            Some(table) => serde_json::to_value(table)
                .map_err(|e| error(line_of("[config]"), format!("config: {e}")))?,
            None => serde_json::Value::Object(Default::default()),
        };
        Ok(PluginManifest {
            path: path.to_path_buf(),
            id: raw.id,
            version: raw.version,
            wasm: base.join(raw.wasm),
            description: raw.description,
            enabled: raw.enabled,
            timeout_ms: raw.limits.timeout_ms,
            memory_mib: raw.limits.memory_mib,
            config,
        })
    }

    /// Every `*/plugin.toml` one level below `dir`, sorted by path. Broken
    /// manifests come back as errors next to the good ones.
    pub fn discover(dir: &Path) -> Vec<Result<PluginManifest, ScoringError>> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join(MANIFEST_FILE))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        paths.iter().map(|p| Self::load(p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_wasm_path() {
        let m = PluginManifest::parse(
            Path::new("/p/empathy/plugin.toml"),
            "id = \"empathy\"\nversion = \"0.1.0\"\nwasm = \"empathy.wasm\"\n\n[config]\nlevel2_from = 70\n",
        )
        .unwrap();
        assert_eq!(m.wasm, Path::new("/p/empathy/empathy.wasm"));
        assert!(m.enabled);
        assert_eq!(m.config["level2_from"], 70);
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = PluginManifest::parse(
            Path::new("x/plugin.toml"),
            "id = \"e\"\nversion = \"1\"\nwasm = \"e.wasm\"\ntimeout = 5\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("x/plugin.toml:4: "), "{err}");
        assert!(err.contains("timeout"), "{err}");
        let err = PluginManifest::parse(
            Path::new("x/plugin.toml"),
            "version = \"1\"\nid = \"Bad Id\"\nwasm = \"e.wasm\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("x/plugin.toml:2: id `Bad Id`"), "{err}");
    }
}
