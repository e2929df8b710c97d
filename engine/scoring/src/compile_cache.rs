//! Compiled plugins on disk, keyed by the component's sha256 and the engine's
//! compatibility hash (wasmtime version, target, settings): compiling takes tens
//! of milliseconds, loading a cached artifact a fraction of that.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Where compiled components are kept. `None` disables caching.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
}

/// How a component was obtained, for benchmarks and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Compiled,
}

impl CompileCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CompileCache {
            dir: Some(dir.into()),
        }
    }

    pub fn disabled() -> Self {
        CompileCache { dir: None }
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn path_for(&self, engine: &Engine, wasm: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let digest = Sha256::digest(wasm);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Some(dir.join(format!(
            "{hex}-wasmtime{}-{:016x}.cwasm",
            wasmtime_version(),
            hasher.finish()
        )))
    }

    /// The component for `wasm`, from the cache when an artifact for these
    /// bytes and this engine is there, else compiled (and stored).
    pub fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path_for(engine, wasm);
        if let Some(path) = path.as_ref().filter(|p| p.is_file()) {
            // Read into memory rather than `deserialize_file`: a mapped file
            // truncated by someone else would crash the process (SIGBUS).
            match std::fs::read(path) {
                // SAFETY: the bytes are a file this cache wrote with
                // `Component::serialize` under a key that includes the engine's
                // compatibility hash; wasmtime also checks the header and
                // version before using them.
                Ok(bytes) => match unsafe { Component::deserialize(engine, &bytes) } {
                    Ok(c) => return Ok((c, CacheOutcome::Hit)),
                    Err(e) => tracing::warn!(
                        path = %path.display(),
                        "ignoring unusable compiled plugin in the cache: {e}"
                    ),
                },
                Err(e) => tracing::warn!(path = %path.display(), "cannot read cached plugin: {e}"),
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Some(path) = path {
            if let Err(e) = store(&path, &component) {
                tracing::warn!(path = %path.display(), "could not cache compiled plugin: {e}");
            }
        }
        Ok((component, CacheOutcome::Compiled))
    }
}

fn store(path: &Path, component: &Component) -> Result<(), Box<dyn std::error::Error>> {
    let dir = path.parent().ok_or("cache path has no directory")?;
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize().map_err(|e| e.to_string())?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(path)?;
    Ok(())
}

fn wasmtime_version() -> &'static str {
    // Pinned in Cargo.toml; part of the key so an upgrade never reads old files.
    "48.0.8"
}
