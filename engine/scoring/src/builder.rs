//! Building plugin crates into components: `cargo build --target
//! wasm32-wasip2`, then each component copied next to its `plugin.toml`
//! under the name the manifest gives it.

use crate::manifest::{PluginManifest, MANIFEST_FILE};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use thiserror::Error;

/// The target plugins are built for.
pub const TARGET: &str = "wasm32-wasip2";

#[derive(Debug, Error)]
pub enum BuildError {
    #[error("{}: no Cargo.toml here; point at a plugin crate or a workspace of plugins", .0.display())]
    NoCrate(PathBuf),
    #[error("could not run cargo: {0}")]
    Cargo(std::io::Error),
    #[error("cargo build failed for {} (see the compiler output above)", .0.display())]
    Failed(PathBuf),
    #[error("the {TARGET} target is not installed and `rustup target add {TARGET}` failed: {0}")]
    Target(String),
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] crate::ScoringError),
}

/// One component cargo produced.
#[derive(Debug, Clone)]
pub struct Built {
    /// Cargo package name.
    pub package: String,
    /// The crate's directory.
    pub dir: PathBuf,
    /// Where cargo wrote the component.
    pub artifact: PathBuf,
    /// The plugin's manifest and where the component was copied for it, when
    /// the crate has a `plugin.toml`.
    pub manifest: Option<PluginManifest>,
}

/// Build the plugin crate (or workspace of plugin crates) at `dir` in release
/// mode, and copy each component next to its `plugin.toml`.
pub fn build(dir: &Path) -> Result<Vec<Built>, BuildError> {
    let manifest_path = dir.join("Cargo.toml");
    if !manifest_path.is_file() {
        return Err(BuildError::NoCrate(dir.to_path_buf()));
    }
    ensure_target()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args(["build", "--release", "--target", TARGET])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&manifest_path)
        // Native-only flags (e.g. target-cpu=native) must not reach wasm.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(BuildError::Cargo)?;
    let mut built = Vec::new();
    let stdout = child.stdout.take().expect("piped stdout");
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(BuildError::Cargo)?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" {
            continue;
        }
        let is_cdylib = message["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "cdylib"));
        let wasm = message["filenames"].as_array().and_then(|f| {
            f.iter()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))
        });
        let (true, Some(wasm)) = (is_cdylib, wasm) else {
            continue;
        };
        let package_dir = message["manifest_path"]
            .as_str()
            .and_then(|p| Path::new(p).parent())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.to_path_buf());
        built.push(Built {
            package: message["target"]["name"]
                .as_str()
                .unwrap_or_default()
                .replace('_', "-"),
            dir: package_dir,
            artifact: PathBuf::from(wasm),
            manifest: None,
        });
    }
    let status = child.wait().map_err(BuildError::Cargo)?;
    if !status.success() {
        return Err(BuildError::Failed(dir.to_path_buf()));
    }
    for b in &mut built {
        let manifest_file = b.dir.join(MANIFEST_FILE);
        if !manifest_file.is_file() {
            continue;
        }
        let manifest = PluginManifest::load(&manifest_file)?;
        copy_if_changed(&b.artifact, &manifest.wasm)?;
        b.manifest = Some(manifest);
    }
    Ok(built)
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<(), BuildError> {
    let io = |file: &Path| {
        let file = file.to_path_buf();
        move |source| BuildError::Io { file, source }
    };
    let new = std::fs::read(from).map_err(io(from))?;
    if std::fs::read(to).ok().as_deref() == Some(new.as_slice()) {
        return Ok(());
    }
    let dir = to.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    std::io::Write::write_all(&mut tmp, &new).map_err(io(to))?;
    // Temporary files are private; an installed component is not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io(to))?;
    }
    tmp.persist(to).map_err(|e| BuildError::Io {
        file: to.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Add the wasm target with rustup when it is missing (a no-op when present
/// or when rustup is not how Rust was installed).
fn ensure_target() -> Result<(), BuildError> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(());
    };
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    let out = Command::new("rustup")
        .args(["target", "add", TARGET])
        .output()
        .map_err(|e| BuildError::Target(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BuildError::Target(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}
