//! `sparring bench llm`: speed and memory of every installed chat model, and
//! the same GGUF under llama.cpp's `llama-bench` in the same run for ratios.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use sparring_llm::bench::{BenchConfig, BenchResult};
use sparring_llm::{LoadOptions, LocalModel};
use sparring_models::{Home, Manifest, ModelKind};

use crate::generate::resolve_model;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Prompt and decode speed, time to first token and peak memory per model.
    Llm(LlmArgs),
    /// Scoring latency per reply (p50/p99) with and without embeddings,
    /// compile, cache-hit and instantiation costs of the plugins.
    Scoring(crate::bench_scoring::ScoringArgs),
    /// Batch scoring throughput: agent turns per second through the path
    /// `sparring score` takes, with and without embeddings, at 1 and 2 jobs.
    Score(crate::bench_score::ScoreBenchArgs),
    /// The web app under N concurrent chat sessions on loopback: time to
    /// the first streamed token (p50/p99) and no lost turns.
    Serve(crate::bench_serve::ServeBenchArgs),
    /// One model in this process (used by `bench llm` so each model's peak
    /// memory is its own).
    #[command(hide = true)]
    LlmOne {
        #[arg(long)]
        model: String,
        #[arg(long)]
        prompt_tokens: usize,
        #[arg(long)]
        gen_tokens: usize,
        #[arg(long)]
        repeats: usize,
    },
}

#[derive(Args)]
pub struct LlmArgs {
    /// Model ids or GGUF paths (default: every installed chat model).
    #[arg(long)]
    model: Vec<String>,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// A llama.cpp `llama-bench` binary to run on the same files.
    #[arg(long)]
    llama_bench: Option<PathBuf>,
    /// Length of the synthetic prompt.
    #[arg(long, default_value_t = 300)]
    prompt_tokens: usize,
    /// Tokens to decode (greedy, end-of-turn ignored).
    #[arg(long, default_value_t = 64)]
    gen_tokens: usize,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct OneResult {
    model: String,
    path: PathBuf,
    threads: usize,
    load_ms: f64,
    peak_rss_mib: f64,
    #[serde(flatten)]
    result: BenchResultRow,
}

#[derive(Debug, Serialize, Deserialize)]
struct BenchResultRow {
    prompt_tokens: usize,
    gen_tokens: usize,
    prompt_tok_s: f64,
    decode_tok_s: f64,
    ttft_ms: f64,
    turn5_ttft_cached_ms: f64,
    turn5_ttft_fresh_ms: f64,
    turn5_prompt_tokens: usize,
}

impl From<BenchResult> for BenchResultRow {
    fn from(r: BenchResult) -> Self {
        Self {
            prompt_tokens: r.prompt_tokens,
            gen_tokens: r.gen_tokens,
            prompt_tok_s: r.prompt_tok_s,
            decode_tok_s: r.decode_tok_s,
            ttft_ms: r.ttft_ms,
            turn5_ttft_cached_ms: r.turn5_ttft_cached_ms,
            turn5_ttft_fresh_ms: r.turn5_ttft_fresh_ms,
            turn5_prompt_tokens: r.turn5_prompt_tokens,
        }
    }
}

#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    candle: OneResult,
    llama_cpp_prompt_tok_s: Option<f64>,
    llama_cpp_decode_tok_s: Option<f64>,
    prompt_ratio: Option<f64>,
    decode_ratio: Option<f64>,
}

pub fn run(cmd: BenchCommand, threads: Option<usize>) -> Result<()> {
    let threads = threads.unwrap_or(2);
    match cmd {
        BenchCommand::LlmOne {
            model,
            prompt_tokens,
            gen_tokens,
            repeats,
        } => {
            let (path, mode) = resolve_model(&model)?;
            let t0 = Instant::now();
            let m = LocalModel::load(&path, mode, &LoadOptions::default())?;
            let load_ms = t0.elapsed().as_secs_f64() * 1e3;
            let r = sparring_llm::bench::run(
                &m,
                &BenchConfig {
                    prompt_tokens,
                    gen_tokens,
                    repeats,
                },
            )?;
            let out = OneResult {
                model,
                path,
                threads,
                load_ms,
                peak_rss_mib: peak_rss_mib(),
                result: r.into(),
            };
            println!("{}", serde_json::to_string(&out)?);
            Ok(())
        }
        BenchCommand::Llm(args) => run_all(args, threads),
        BenchCommand::Scoring(args) => crate::bench_scoring::run(args),
        BenchCommand::Score(args) => crate::bench_score::run(args),
        BenchCommand::Serve(args) => crate::bench_serve::run(args),
    }
}

fn run_all(args: LlmArgs, threads: usize) -> Result<()> {
    let models = if args.model.is_empty() {
        let manifest = Manifest::builtin();
        let home = Home::from_env();
        let ids: Vec<String> = manifest
            .models
            .iter()
            .filter(|m| m.kind == ModelKind::Chat && home.is_installed(m))
            .map(|m| m.id.clone())
            .collect();
        if ids.is_empty() {
            bail!("no chat model is installed; run `sparring models pull smollm2-135m-instruct`");
        }
        ids
    } else {
        args.model.clone()
    };
    let exe = std::env::current_exe()?;
    let mut rows = Vec::new();
    for model in &models {
        eprintln!("benchmarking {model} with {threads} threads …");
        let out = Command::new(&exe)
            .args(["--threads", &threads.to_string(), "bench", "llm-one"])
            .args(["--model", model])
            .args(["--prompt-tokens", &args.prompt_tokens.to_string()])
            .args(["--gen-tokens", &args.gen_tokens.to_string()])
            .args(["--repeats", &args.repeats.to_string()])
            .output()
            .context("running the benchmark worker")?;
        if !out.status.success() {
            bail!(
                "benchmark of {model} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let one: OneResult = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("reading the result for {model}"))?;
        let (lp, lg) = match &args.llama_bench {
            Some(bin) => {
                eprintln!("running llama-bench on {} …", one.path.display());
                let (p, g) = llama_bench(bin, &one.path, threads, &args)?;
                (Some(p), Some(g))
            }
            None => (None, None),
        };
        rows.push(Row {
            prompt_ratio: lp.map(|l| one.result.prompt_tok_s / l),
            decode_ratio: lg.map(|l| one.result.decode_tok_s / l),
            llama_cpp_prompt_tok_s: lp,
            llama_cpp_decode_tok_s: lg,
            candle: one,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "threads: {threads}; prompt {} tokens, decode {} tokens, median of {}",
        args.prompt_tokens, args.gen_tokens, args.repeats
    );
    println!(
        "| model | prompt tok/s | decode tok/s | TTFT ms ({} tok) | turn-5 TTFT cached / fresh ms | peak RSS MiB | load ms | llama.cpp pp / tg tok/s | ratio pp / tg |",
        args.prompt_tokens
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        let c = &r.candle;
        let fmt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |x| format!("{x:.p$}"));
        println!(
            "| {} | {:.1} | {:.1} | {:.0} | {:.0} / {:.0} ({} tok) | {:.0} | {:.0} | {} / {} | {} / {} |",
            c.model,
            c.result.prompt_tok_s,
            c.result.decode_tok_s,
            c.result.ttft_ms,
            c.result.turn5_ttft_cached_ms,
            c.result.turn5_ttft_fresh_ms,
            c.result.turn5_prompt_tokens,
            c.peak_rss_mib,
            c.load_ms,
            fmt(r.llama_cpp_prompt_tok_s, 1),
            fmt(r.llama_cpp_decode_tok_s, 1),
            fmt(r.prompt_ratio, 3),
            fmt(r.decode_ratio, 3),
        );
    }
    Ok(())
}

/// Runs llama-bench and returns (prompt tok/s, decode tok/s).
fn llama_bench(
    bin: &PathBuf,
    model: &PathBuf,
    threads: usize,
    args: &LlmArgs,
) -> Result<(f64, f64)> {
    let out = Command::new(bin)
        .arg("-m")
        .arg(model)
        .args(["-t", &threads.to_string()])
        .args(["-p", &args.prompt_tokens.to_string()])
        .args(["-n", &args.gen_tokens.to_string()])
        .args(["-r", &args.repeats.max(1).to_string()])
        .args(["-o", "json"])
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{} printed no JSON", bin.display()))?;
    let mut pp = None;
    let mut tg = None;
    for test in v.as_array().into_iter().flatten() {
        let n_prompt = test["n_prompt"].as_u64().unwrap_or(0);
        let n_gen = test["n_gen"].as_u64().unwrap_or(0);
        let ts = test["avg_ts"].as_f64();
        if n_prompt > 0 && n_gen == 0 {
            pp = ts;
        } else if n_gen > 0 && n_prompt == 0 {
            tg = ts;
        }
    }
    match (pp, tg) {
        (Some(p), Some(g)) => Ok((p, g)),
        _ => bail!("llama-bench output had no pp/tg results"),
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
