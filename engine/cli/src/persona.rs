//! `sparring persona …`: check and list persona files.

use anyhow::{bail, Result};
use clap::Subcommand;
use sparring_core::persona::Persona;
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum PersonaCommand {
    /// Validate persona files (or directories of them); errors name file, line and field.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// The personas in a directory: id, language, scenario, difficulty, skill codes.
    List {
        #[arg(long, default_value = "personas")]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Scripted trainees (empathetic, rude, injecting, off-topic) play every
    /// persona; prints role breaks, language slips, leaks, fallbacks, mood
    /// direction and endings as a table.
    Fidelity(crate::fidelity::FidelityArgs),
}

fn toml_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            found.retain(|f| f.extension().is_some_and(|e| e == "toml"));
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    out
}

pub fn run(cmd: PersonaCommand) -> Result<()> {
    match cmd {
        PersonaCommand::Check { files } => check(&files),
        PersonaCommand::List { dir, json } => list(&dir, json),
        PersonaCommand::Fidelity(args) => crate::fidelity::run(args),
    }
}

/// A persona by id among the files in `dir`, or by path.
pub fn find_persona(dir: &Path, id: &str) -> Result<Persona> {
    let path = Path::new(id);
    if path.extension().is_some_and(|e| e == "toml") || path.is_file() {
        return Ok(Persona::load(path)?);
    }
    let mut ids = Vec::new();
    for f in toml_files(&[dir.to_path_buf()]) {
        match Persona::load(&f) {
            Ok(p) if p.id == id => return Ok(p),
            Ok(p) => ids.push(p.id),
            // The file named for this id is broken: say why, not "no persona".
            Err(e) if f.file_stem().is_some_and(|s| s == id) => return Err(e.into()),
            Err(_) => {}
        }
    }
    bail!(
        "no persona `{id}` in {} (there: {})",
        dir.display(),
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    )
}

/// Every persona in `dir`, sorted by file name; broken files are errors.
pub fn all_personas(dir: &Path) -> Result<Vec<Persona>> {
    toml_files(&[dir.to_path_buf()])
        .iter()
        .map(|f| Persona::load(f).map_err(anyhow::Error::from))
        .collect()
}

fn check(paths: &[PathBuf]) -> Result<()> {
    let files = toml_files(paths);
    let mut bad = 0;
    for f in &files {
        match Persona::load(f) {
            Ok(p) => println!("ok    {} ({})", f.display(), p.id),
            Err(e) => {
                bad += 1;
                println!("error {e}");
            }
        }
    }
    if bad > 0 {
        bail!("{bad} of {} persona file(s) have errors", files.len());
    }
    Ok(())
}

fn list(dir: &Path, json: bool) -> Result<()> {
    let mut personas = Vec::new();
    for f in toml_files(&[dir.to_path_buf()]) {
        match Persona::load(&f) {
            Ok(p) => personas.push(p),
            Err(e) => eprintln!("skipped {e}"),
        }
    }
    if json {
        let rows: Vec<_> = personas
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "name": p.name, "language": p.language, "scenario": p.scenario,
                    "difficulty": p.difficulty, "skills": p.skills, "summary": p.summary,
                    "path": p.path,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let width = personas.iter().map(|p| p.id.len()).max().unwrap_or(2);
    println!(
        "{:<width$} {:<4} {:<10} {:>10}  skills",
        "id", "lang", "scenario", "difficulty"
    );
    for p in &personas {
        println!(
            "{:<width$} {:<4} {:<10} {:>10}  {}",
            p.id,
            p.language.code(),
            format!("{:?}", p.scenario).to_lowercase(),
            p.difficulty,
            p.skills.join(", ")
        );
    }
    Ok(())
}
