//! `sparring eval`: how well the plugins agree with human labels.

use crate::plugins::{self, PluginOptions};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use sparring_scoring::eval::{evaluate, EvalReport};
use sparring_scoring::labelled;
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Split {
    Dev,
    Test,
    All,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Labelled JSONL files or directories of them (e.g. evals/scoring).
    #[arg(required = true)]
    datasets: Vec<PathBuf>,
    /// Which part of the data: `dev` (for tuning), `test` (held out) or `all`.
    #[arg(long, value_enum, default_value_t = Split::All)]
    split: Split,
    /// Print the report as JSON (agreement, every prediction, failures).
    #[arg(long)]
    json: bool,
    /// Also list up to N items whose level disagrees with the label.
    #[arg(long, value_name = "N", default_value_t = 0)]
    misses: usize,
    #[command(flatten)]
    options: PluginOptions,
}

fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn run(args: EvalArgs) -> Result<()> {
    let loaded = plugins::load(&args.options, &[])?;
    for e in &loaded.errors {
        eprintln!("warning: {e}");
    }
    let mut items = Vec::new();
    for file in files(&args.datasets)? {
        let (found, errors) =
            labelled::read_jsonl(&file).with_context(|| format!("reading {}", file.display()))?;
        for e in &errors {
            eprintln!("skipped {e}");
        }
        items.extend(found.into_iter().filter(|i| match args.split {
            Split::All => true,
            Split::Dev => i.split.as_deref() == Some("dev"),
            Split::Test => i.split.as_deref() == Some("test"),
        }));
    }
    if items.is_empty() {
        bail!("no labelled items in {:?} for this split", args.datasets);
    }
    let report = evaluate(&loaded.refs(), &items);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print_report(&report, args.misses, &items);
    Ok(())
}

fn fmt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3}"))
}

fn print_report(report: &EvalReport, misses: usize, items: &[labelled::LabelledReply]) {
    println!(
        "{:<12} {:<4} {:>4} {:>9} {:>7} {:>9} {:>9}   confusion (rows: label 0/1/2, cols: predicted)",
        "dimension", "lang", "n", "spearman", "qwk", "pairwise", "accuracy"
    );
    for a in &report.agreements {
        let confusion: Vec<String> = a
            .confusion
            .iter()
            .map(|r| r.iter().map(|c| format!("{c:>3}")).collect::<String>())
            .collect();
        println!(
            "{:<12} {:<4} {:>4} {:>9} {:>7} {:>9} {:>9.3}   {}",
            a.dimension,
            a.language,
            a.n,
            fmt(a.spearman),
            fmt(a.qwk),
            fmt(a.pairwise),
            a.accuracy,
            confusion.join(" |")
        );
    }
    for (id, why) in &report.failures {
        println!("not scored: {id}: {why}");
    }
    if misses > 0 {
        println!();
        for p in report
            .predictions
            .iter()
            .filter(|p| p.level != p.label)
            .take(misses)
        {
            let reply = items
                .iter()
                .find(|i| i.id == p.id)
                .map_or("", |i| i.ctx.reply.as_str());
            println!(
                "{:<12} label {} got {} ({:>5.1})  {}",
                p.id, p.label, p.level, p.value, reply
            );
        }
    }
}
