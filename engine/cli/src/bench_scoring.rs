//! `sparring bench scoring`: what scoring a reply costs.

use crate::plugins::{self, PluginOptions};
use anyhow::{bail, Context, Result};
use clap::Args;
use sparring_scoring::bench;
use sparring_scoring::labelled;
use std::path::PathBuf;

#[derive(Args)]
pub struct ScoringArgs {
    /// Replies to score: labelled JSONL files (default: evals/scoring/*.jsonl).
    #[arg(long, value_name = "FILE")]
    replies: Vec<PathBuf>,
    /// Passes over the replies without embeddings (with embeddings: one pass,
    /// so each reply is embedded once, as in use).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: PluginOptions,
}

/// The labelled replies given, else those of `evals/scoring`.
pub fn labelled_files(given: &[PathBuf]) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given.to_vec();
    }
    ["empathy", "expectation", "objection"]
        .iter()
        .map(|d| PathBuf::from(format!("evals/scoring/{d}.jsonl")))
        .collect()
}

pub fn run(args: ScoringArgs) -> Result<()> {
    let mut replies = Vec::new();
    for f in &labelled_files(&args.replies) {
        let (items, _) =
            labelled::read_jsonl(f).with_context(|| format!("reading {}", f.display()))?;
        replies.extend(items.into_iter().map(|i| i.ctx));
    }
    if replies.len() < 2 {
        bail!("need at least two replies to time");
    }
    let manifests: Vec<_> = plugins::discover(&args.options.search_dirs())
        .into_iter()
        .filter_map(|m| m.ok())
        .filter(|m| m.enabled)
        .collect();
    if manifests.is_empty() {
        bail!("no plugins found; run `sparring plugin build` first");
    }
    let embedder = plugins::embedder(&args.options);
    let report = bench::run(&manifests, &replies, embedder.clone(), args.repeats)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} replies, {} thread(s) available, wasmtime 48.0.8, embeddings: {}",
        replies.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if embedder.is_some() {
            plugins::EMBEDDING_MODEL
        } else {
            "not installed / disabled"
        }
    );
    println!();
    println!(
        "{:<14} {:>8} {:>12} {:>14} {:>16} {:>24}",
        "plugin",
        "wasm KiB",
        "compile ms",
        "cache hit ms",
        "instantiate µs",
        "instantiate+configure µs"
    );
    for l in &report.load {
        println!(
            "{:<14} {:>8} {:>12.1} {:>14.2} {:>16.1} {:>24.1}",
            l.plugin, l.wasm_kib, l.compile_ms, l.cache_hit_ms, l.instantiate_us, l.configured_us
        );
    }
    println!();
    println!(
        "{:<14} {:>10} {:>8} {:>9} {:>9} {:>9} {:>12}",
        "per reply", "embeddings", "replies", "p50 ms", "p99 ms", "max ms", "fuel/call"
    );
    for l in &report.latency {
        println!(
            "{:<14} {:>10} {:>8} {:>9.3} {:>9.3} {:>9.3} {:>12}",
            l.what,
            if l.embeddings { "yes" } else { "no" },
            l.replies,
            l.p50_ms,
            l.p99_ms,
            l.max_ms,
            l.fuel.map_or("-".into(), |f| f.to_string())
        );
    }
    println!();
    println!(
        "fuel rate: {:.0} per ms of plugin time (deadline assumes {})",
        report.fuel_per_ms,
        sparring_scoring::FUEL_PER_MS
    );
    if let Some(ms) = report.embed_reply_ms {
        println!("embedding one reply alone: {ms:.2} ms (p50)");
    }
    Ok(())
}
