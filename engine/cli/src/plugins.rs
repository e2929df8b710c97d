//! Finding, loading and hosting plugins for the commands that score.

use anyhow::Result;
use clap::Args;
use sparring_models::{Home, Manifest};
use sparring_scoring::{
    CompileCache, HostServices, Limits, Plugin, PluginManifest, ScoringError, ScoringHost,
    MANIFEST_FILE,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Id of the embedding model plugins get when it is installed.
pub const EMBEDDING_MODEL: &str = "multilingual-e5-small";

#[derive(Args, Clone, Default)]
pub struct PluginOptions {
    /// A plugin directory, or a directory of plugin directories (repeatable).
    /// Default: $SPARRING_HOME/plugins, and ./plugins when run from a checkout.
    #[arg(long = "plugins", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Do not give plugins sentence embeddings even when the model is installed.
    #[arg(long)]
    pub no_embeddings: bool,
    /// CPU limit per plugin call, in milliseconds (fuel-based, deterministic).
    #[arg(long, value_name = "MS", default_value_t = 50)]
    pub timeout_ms: u64,
    /// Memory limit per plugin call, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub memory_mib: u64,
}

impl PluginOptions {
    pub fn limits(&self) -> Limits {
        Limits {
            timeout: Duration::from_millis(self.timeout_ms),
            memory_bytes: (self.memory_mib as usize) << 20,
            ..Limits::default()
        }
    }

    /// The search directories, comma-separated, for messages.
    pub fn search_dirs_text(&self) -> String {
        self.search_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn search_dirs(&self) -> Vec<PathBuf> {
        if !self.dirs.is_empty() {
            return self.dirs.clone();
        }
        let mut dirs = vec![installed_dir()];
        let local = PathBuf::from("plugins");
        if local.is_dir() {
            dirs.push(local);
        }
        dirs
    }
}

/// Where `sparring plugin build --install` puts plugins.
pub fn installed_dir() -> PathBuf {
    Home::from_env().root().join("plugins")
}

pub fn compile_cache() -> CompileCache {
    CompileCache::new(Home::from_env().root().join("cache").join("plugins"))
}

/// Every plugin manifest in `dirs` (a directory holding `plugin.toml`, or
/// holding plugin directories), first one wins for a repeated id.
pub fn discover(dirs: &[PathBuf]) -> Vec<Result<PluginManifest, ScoringError>> {
    let mut out: Vec<Result<PluginManifest, ScoringError>> = Vec::new();
    for dir in dirs {
        let found = if dir.join(MANIFEST_FILE).is_file() || dir.is_file() {
            vec![PluginManifest::load(dir)]
        } else {
            PluginManifest::discover(dir)
        };
        for m in found {
            if let Ok(m) = &m {
                if out.iter().flatten().any(|o| o.id == m.id) {
                    continue;
                }
            }
            out.push(m);
        }
    }
    out
}

/// The sentence embedder, when installed and wanted.
pub fn embedder(options: &PluginOptions) -> Option<Arc<dyn sparring_core::Embedder>> {
    if options.no_embeddings {
        return None;
    }
    let manifest = Manifest::builtin();
    let entry = manifest.get(EMBEDDING_MODEL)?;
    let home = Home::from_env();
    if !home.is_installed(entry) {
        return None;
    }
    match sparring_embed::E5Embedder::load(home.model_path(entry)) {
        Ok(e) => Some(Arc::new(e)),
        Err(e) => {
            tracing::warn!("embeddings unavailable: {e}");
            None
        }
    }
}

/// A host and the enabled plugins it could load; load errors are kept, not fatal.
pub struct Loaded {
    pub plugins: Vec<Plugin>,
    pub errors: Vec<ScoringError>,
}

impl Loaded {
    pub fn refs(&self) -> Vec<&Plugin> {
        self.plugins.iter().collect()
    }
}

/// A host with these options' limits, compile cache and (maybe) embeddings.
pub fn host(options: &PluginOptions) -> Result<ScoringHost> {
    let services = Arc::new(HostServices::new(embedder(options)));
    Ok(ScoringHost::new(
        options.limits(),
        compile_cache(),
        services,
    )?)
}

pub fn load(options: &PluginOptions, only: &[String]) -> Result<Loaded> {
    let host = host(options)?;
    let mut plugins = Vec::new();
    let mut errors = Vec::new();
    for m in discover(&options.search_dirs()) {
        match m {
            Ok(m) if !m.enabled && only.is_empty() => {}
            Ok(m) if !only.is_empty() && !only.contains(&m.id) => {}
            Ok(m) => match host.load(&m) {
                Ok(p) => plugins.push(p),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e),
        }
    }
    Ok(Loaded { plugins, errors })
}

/// The enabled plugins for a session, shared between sessions; a plugin
/// that does not load is reported on stderr and left out.
pub fn load_for_sessions(options: &PluginOptions) -> Result<Arc<[Plugin]>> {
    let loaded = load(options, &[])?;
    for e in &loaded.errors {
        eprintln!("warning: plugin not loaded: {e}");
    }
    Ok(Arc::from(loaded.plugins))
}

/// A plugin named by id (among the discovered ones) or by path.
pub fn load_one(options: &PluginOptions, name: &str) -> Result<Plugin> {
    let host = host(options)?;
    let path = Path::new(name);
    let manifest = if path.exists() {
        PluginManifest::load(path)?
    } else {
        let found = discover(&options.search_dirs());
        match found.into_iter().flatten().find(|m| m.id == name) {
            Some(m) => m,
            None => anyhow::bail!(
                "no plugin `{name}` in {}; give a plugin directory or see `sparring plugin list`",
                options.search_dirs_text()
            ),
        }
    };
    Ok(host.load(&manifest)?)
}
