//! `sparring persona fidelity`: scripted trainees against every persona, per
//! model, as a table (see sparring_session::fidelity).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use sparring_session::fidelity::{self, RunResult, DEFAULT_TRAINEES};
use sparring_session::SessionOptions;

use crate::generate::open_backend;
use crate::persona::all_personas;
use crate::plugins::{self, PluginOptions};

#[derive(Args)]
pub struct FidelityArgs {
    /// Model ids or GGUF paths (repeatable); each gets its own table.
    #[arg(long, default_value = "gemma3-270m")]
    pub model: Vec<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Only these personas (repeatable; default all in --personas).
    #[arg(long = "persona", value_name = "ID")]
    pub only_personas: Vec<String>,
    /// Only these trainees (repeatable): empathetic, rude, injecting, off_topic.
    #[arg(long = "trainee", value_name = "ID")]
    pub only_trainees: Vec<String>,
    #[arg(long, default_value = "personas")]
    pub personas: PathBuf,
    /// Trainee scripts (default: the ones in evals/fidelity/trainees.toml, built in).
    #[arg(long, value_name = "FILE")]
    pub trainees: Option<PathBuf>,
    /// Model candidates per customer line before the authored fallback.
    #[arg(long, default_value_t = 3)]
    pub attempts: usize,
    #[command(flatten)]
    pub plugin_options: PluginOptions,
    /// Print every run, with its whole session record, as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the tables (Markdown) to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: FidelityArgs) -> Result<()> {
    let trainees = match &args.trainees {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            fidelity::parse_trainees(path, &text).map_err(anyhow::Error::msg)?
        }
        None => fidelity::parse_trainees(
            std::path::Path::new("evals/fidelity/trainees.toml"),
            DEFAULT_TRAINEES,
        )
        .map_err(anyhow::Error::msg)?,
    };
    let trainees: Vec<_> = trainees
        .into_iter()
        .filter(|t| args.only_trainees.is_empty() || args.only_trainees.contains(&t.id))
        .collect();
    let personas: Vec<_> = all_personas(&args.personas)?
        .into_iter()
        .filter(|p| args.only_personas.is_empty() || args.only_personas.contains(&p.id))
        .map(Arc::new)
        .collect();
    if trainees.is_empty() || personas.is_empty() {
        bail!("nothing to run: no matching personas or trainees");
    }
    let plugins = plugins::load_for_sessions(&args.plugin_options)?;
    let mut markdown = String::new();
    let mut all = Vec::new();
    for model in &args.model {
        let (backend, name, _) = open_backend(model, None, None)?;
        let mut runs: Vec<RunResult> = Vec::new();
        for persona in &personas {
            for trainee in &trainees {
                let started = Instant::now();
                let options = SessionOptions {
                    seed: args.seed,
                    attempts: args.attempts,
                    model_languages: crate::generate::model_languages(model),
                    ..SessionOptions::default()
                };
                let r = fidelity::run_one(
                    persona.clone(),
                    trainee,
                    backend.as_ref(),
                    plugins.clone(),
                    options,
                )?;
                eprintln!(
                    "{model}: {} × {}: {} turns, lines model/fallback/authored {}/{}/{}, {} ({:.1} s)",
                    persona.id,
                    trainee.id,
                    r.turns,
                    r.model_lines,
                    r.fallback_lines,
                    r.authored_lines,
                    r.outcome,
                    started.elapsed().as_secs_f64()
                );
                runs.push(r);
            }
        }
        let table = fidelity::table(&format!("{name} (`{model}`)"), &runs);
        if !args.json {
            println!("{table}");
        }
        markdown.push_str(&table);
        markdown.push('\n');
        all.push(serde_json::json!({
            "model": model,
            "name": name,
            "summary": fidelity::summarise(&runs),
            "runs": runs,
        }));
    }
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &all)?;
        writeln!(out)?;
    }
    if let Some(path) = &args.out {
        std::fs::write(path, markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
