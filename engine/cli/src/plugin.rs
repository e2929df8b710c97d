//! `sparring plugin …`: scaffold, build, list and test scorer plugins.

use crate::plugins::{self, PluginOptions};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use sparring_scoring::builder;
use sparring_scoring::labelled::{self, LabelledReply};
use sparring_scoring::Plugin;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Create a new plugin crate (Rust, wasm32-wasip2) from a working example.
    New {
        /// Plugin id: lowercase letters, digits, `-`.
        name: String,
        /// Where to create it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The sparring-scorer-sdk crate to depend on (default: this
        /// checkout's plugins/sdk, or $SPARRING_SDK).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build plugin crates into WebAssembly components, next to their plugin.toml.
    Build {
        /// A plugin crate or a workspace of plugins (default: ./plugins).
        crates: Vec<PathBuf>,
        /// Also install the built plugins into $SPARRING_HOME/plugins.
        #[arg(long)]
        install: bool,
        #[command(flatten)]
        options: PluginOptions,
    },
    /// Installed and local plugins, with what they score.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: PluginOptions,
    },
    /// Run expectation cases (JSONL: context + reply + expected level or range).
    Test {
        /// Plugin id or directory.
        plugin: String,
        /// Cases file(s).
        #[arg(required = true)]
        cases: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: PluginOptions,
    },
}

pub fn run(cmd: PluginCommand) -> Result<()> {
    match cmd {
        PluginCommand::New { name, dir, sdk } => new(&name, dir, sdk),
        PluginCommand::Build {
            crates,
            install,
            options,
        } => build(crates, install, &options),
        PluginCommand::List { json, options } => list(json, &options),
        PluginCommand::Test {
            plugin,
            cases,
            json,
            options,
        } => test(&plugin, &cases, json, &options),
    }
}

fn new(name: &str, dir: Option<PathBuf>, sdk: Option<PathBuf>) -> Result<()> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
    {
        bail!(
            "plugin name `{name}`: use lowercase letters, digits and `-`, starting with a letter"
        );
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        bail!("{} already exists and is not empty", dir.display());
    }
    let sdk = match sdk.or_else(|| std::env::var_os("SPARRING_SDK").map(PathBuf::from)) {
        Some(p) => p,
        None => {
            let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/sdk");
            if !checkout.join("Cargo.toml").is_file() {
                bail!("cannot find sparring-scorer-sdk; pass --sdk PATH (the plugins/sdk directory of a sparring checkout)");
            }
            checkout
        }
    };
    let sdk = std::fs::canonicalize(&sdk).with_context(|| format!("--sdk {}", sdk.display()))?;
    let fill = |template: &str| {
        template
            .replace("{{id}}", name)
            .replace("{{crate}}", &format!("sparring-plugin-{name}"))
            .replace("{{sdk}}", &sdk.display().to_string())
    };
    std::fs::create_dir_all(dir.join("src"))?;
    let files = [
        (
            "Cargo.toml",
            include_str!("../templates/plugin/Cargo.toml.tmpl"),
        ),
        (
            "plugin.toml",
            include_str!("../templates/plugin/plugin.toml.tmpl"),
        ),
        (
            "src/lib.rs",
            include_str!("../templates/plugin/lib.rs.tmpl"),
        ),
        (
            "cases.jsonl",
            include_str!("../templates/plugin/cases.jsonl.tmpl"),
        ),
        (
            ".gitignore",
            include_str!("../templates/plugin/gitignore.tmpl"),
        ),
    ];
    for (file, template) in files {
        std::fs::write(dir.join(file), fill(template))
            .with_context(|| format!("writing {}", dir.join(file).display()))?;
    }
    println!("created plugin `{name}` in {}", dir.display());
    println!("  sparring plugin build {}", dir.display());
    println!(
        "  sparring plugin test {} {}",
        dir.display(),
        dir.join("cases.jsonl").display()
    );
    Ok(())
}

fn build(dirs: Vec<PathBuf>, install: bool, options: &PluginOptions) -> Result<()> {
    let dirs = if dirs.is_empty() {
        vec![PathBuf::from("plugins")]
    } else {
        dirs
    };
    let mut failed = 0;
    for dir in &dirs {
        let built = builder::build(dir)?;
        // Load each one as the host will: catches a wrong interface now.
        let host = plugins::host(options)?;
        for b in built {
            let Some(manifest) = b.manifest else {
                println!(
                    "{:<20} built {} (no plugin.toml: not installable)",
                    b.package,
                    b.artifact.display()
                );
                continue;
            };
            let size = std::fs::metadata(&manifest.wasm)
                .map(|m| m.len())
                .unwrap_or(0);
            match host.load(&manifest) {
                Ok(plugin) => {
                    println!(
                        "{:<20} {:<8} {:>6} KiB  {}  {}",
                        manifest.id,
                        manifest.version,
                        size / 1024,
                        manifest.wasm.display(),
                        dimensions_text(&plugin)
                    );
                    if install {
                        let to = install_plugin(&manifest)?;
                        println!("{:<20} installed in {}", "", to.display());
                    }
                }
                Err(e) => {
                    failed += 1;
                    println!("{:<20} FAILED TO LOAD: {e}", manifest.id);
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} plugin(s) built but do not load");
    }
    Ok(())
}

/// Copy a built plugin (manifest + component) into $SPARRING_HOME/plugins/ID.
fn install_plugin(manifest: &sparring_scoring::PluginManifest) -> Result<PathBuf> {
    let dest = plugins::installed_dir().join(&manifest.id);
    std::fs::create_dir_all(&dest)?;
    let wasm_name = manifest
        .wasm
        .file_name()
        .context("plugin wasm path has no file name")?;
    std::fs::copy(&manifest.wasm, dest.join(wasm_name))
        .with_context(|| format!("copying {}", manifest.wasm.display()))?;
    std::fs::copy(&manifest.path, dest.join(sparring_scoring::MANIFEST_FILE))
        .with_context(|| format!("copying {}", manifest.path.display()))?;
    Ok(dest)
}

/// "empathy (4.2.1,4.3.2); …": what a plugin scores, for tables.
fn dimensions_text(plugin: &Plugin) -> String {
    plugin
        .info
        .dimensions
        .iter()
        .map(|d| format!("{} ({})", d.id, d.skill_codes.join(",")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn list(json: bool, options: &PluginOptions) -> Result<()> {
    let host = plugins::host(options)?;
    // Each manifest found, and (when it parsed) whether its component loads.
    let found: Vec<_> = plugins::discover(&options.search_dirs())
        .into_iter()
        .map(|m| {
            let loaded = m.as_ref().ok().map(|m| host.load(m));
            (m, loaded)
        })
        .collect();
    if json {
        let rows: Vec<_> = found
            .iter()
            .map(|(m, loaded)| match m {
                Err(e) => serde_json::json!({"error": e.to_string()}),
                Ok(m) => serde_json::json!({
                    "id": m.id,
                    "version": m.version,
                    "enabled": m.enabled,
                    "path": m.path,
                    "description": m.description,
                    "dimensions": loaded.as_ref().and_then(|l| l.as_ref().ok()).map(|p| &p.info.dimensions),
                    "error": loaded.as_ref().and_then(|l| l.as_ref().err()).map(|e| e.to_string()),
                }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if found.is_empty() {
        println!(
            "no plugins in {}; build the built-in ones with `sparring plugin build --install`",
            options.search_dirs_text()
        );
        return Ok(());
    }
    println!(
        "{:<16} {:<8} {:<8} {:<40} path",
        "id", "version", "enabled", "dimensions (skill codes)"
    );
    for (m, loaded) in &found {
        let (m, loaded) = match (m, loaded) {
            (Err(e), _) => {
                println!("error: {e}");
                continue;
            }
            (Ok(m), Some(loaded)) => (m, loaded),
            (Ok(_), None) => unreachable!("every parsed manifest is loaded"),
        };
        let dims = match loaded {
            Ok(p) => dimensions_text(p),
            Err(e) => format!("NOT LOADABLE: {e}"),
        };
        println!(
            "{:<16} {:<8} {:<8} {:<40} {}",
            m.id,
            m.version,
            if m.enabled { "yes" } else { "no" },
            dims,
            m.path.display()
        );
    }
    Ok(())
}

/// Outcome of one expectation case.
#[derive(serde::Serialize)]
struct CaseResult {
    case: String,
    passed: bool,
    dimension: String,
    level: Option<String>,
    value: Option<f32>,
    expected: String,
    tip: Option<String>,
    error: Option<String>,
}

fn check(plugin: &Plugin, case: &LabelledReply) -> CaseResult {
    let dimension = case
        .dimension
        .clone()
        .or_else(|| plugin.info.dimensions.first().map(|d| d.id.clone()))
        .unwrap_or_default();
    let mut expected = Vec::new();
    if let Some(l) = case.level {
        expected.push(format!("level {l}"));
    }
    if let Some(m) = case.min {
        expected.push(format!("value >= {m}"));
    }
    if let Some(m) = case.max {
        expected.push(format!("value <= {m}"));
    }
    let mut result = CaseResult {
        case: case.id.clone(),
        passed: false,
        dimension: dimension.clone(),
        level: None,
        value: None,
        expected: expected.join(", "),
        tip: None,
        error: None,
    };
    match plugin.score_turn(&case.ctx) {
        Err(e) => result.error = Some(e.to_string()),
        Ok(scores) => match scores.into_iter().find(|s| s.dimension == dimension) {
            None => result.error = Some(format!("no `{dimension}` score returned")),
            Some(s) => {
                result.passed = case.level.is_none_or(|l| s.level_number() == Some(l))
                    && case.min.is_none_or(|m| s.value >= m)
                    && case.max.is_none_or(|m| s.value <= m);
                result.level = Some(s.level);
                result.value = Some(s.value);
                result.tip = Some(s.tip);
            }
        },
    }
    result
}

fn test(name: &str, files: &[PathBuf], json: bool, options: &PluginOptions) -> Result<()> {
    let plugin = plugins::load_one(options, name)?;
    let mut results = Vec::new();
    let mut bad_lines = Vec::new();
    for file in files {
        let (cases, errors) =
            labelled::read_jsonl(file).with_context(|| format!("reading {}", file.display()))?;
        bad_lines.extend(errors);
        results.extend(cases.iter().map(|c| check(&plugin, c)));
    }
    let passed = results.iter().filter(|r| r.passed).count();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "plugin": plugin.id,
                "passed": passed,
                "failed": results.len() - passed,
                "cases": results,
                "bad_lines": bad_lines.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            }))?
        );
    } else {
        for r in &results {
            let got = match (&r.level, r.value, &r.error) {
                (_, _, Some(e)) => format!("error: {e}"),
                (Some(l), Some(v), _) => format!("level {l}, value {v:.1}"),
                _ => String::new(),
            };
            println!(
                "{} {:<28} expected {:<24} got {}",
                if r.passed { "PASS" } else { "FAIL" },
                r.case,
                r.expected,
                got
            );
        }
        for e in &bad_lines {
            println!("BAD  {e}");
        }
        println!(
            "{}: {passed}/{} cases passed{}",
            plugin.id,
            results.len(),
            if bad_lines.is_empty() {
                String::new()
            } else {
                format!(", {} unreadable line(s)", bad_lines.len())
            }
        );
    }
    if passed < results.len() || !bad_lines.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
