//! `sparring bench score`: batch-scoring throughput (agent turns per second)
//! on the path `sparring score` takes — JSONL text parsed, fingerprinted,
//! scored on N threads and journalled to a file — with and without
//! embeddings, at 1, 2, … jobs.
//!
//! The calls are built from the labelled replies of `evals/scoring`: each
//! call alternates the customer line that preceded a labelled reply with
//! that reply, zh and en calls in turn. Without embeddings replies recur
//! across calls (nothing is cached per reply there); with embeddings every
//! reply is used once and each run gets a fresh host, so no reply's
//! embedding is served from the cache.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use sparring_core::scoring::{Language, Speaker, Turn};
use sparring_core::transcript::{Call, Format, TextOptions};
use sparring_scoring::batch::{pending, plugins_fingerprint, score_calls};
use sparring_scoring::labelled::{self, LabelledReply};
use sparring_scoring::Plugin;

use crate::bench_scoring::labelled_files;
use crate::plugins::{self, PluginOptions};

#[derive(Args)]
pub struct ScoreBenchArgs {
    /// Calls per run without embeddings.
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Agent turns per call (each after a customer turn).
    #[arg(long, default_value_t = 4)]
    turns: usize,
    /// Job counts to run (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    jobs: Vec<usize>,
    /// Labelled JSONL files the calls are built from (default: evals/scoring/*.jsonl).
    #[arg(long, value_name = "FILE")]
    replies: Vec<std::path::PathBuf>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: PluginOptions,
}

/// One run: how long the whole path took for how many turns.
#[derive(Debug, Serialize)]
pub struct ScoreRun {
    pub embeddings: bool,
    pub jobs: usize,
    pub calls: usize,
    pub agent_turns: usize,
    pub parse_ms: f64,
    pub seconds: f64,
    pub turns_per_second: f64,
    /// Turns per second relative to the first job count's run.
    pub scaling: f64,
}

/// `n` calls of `turns` agent turns from `items`; with `unique`, no reply
/// is used twice (fewer calls when the items run out).
fn build_calls(items: &[LabelledReply], n: usize, turns: usize, unique: bool) -> Vec<Call> {
    let by_lang = |l: Language| -> Vec<&LabelledReply> {
        items
            .iter()
            .filter(|i| {
                i.ctx.language == l
                    && i.ctx
                        .history
                        .last()
                        .is_some_and(|t| t.speaker == Speaker::Customer)
            })
            .collect()
    };
    let pools = [by_lang(Language::Zh), by_lang(Language::En)];
    let mut calls = Vec::with_capacity(n);
    for i in 0..n {
        let pool = &pools[i % 2];
        if pool.is_empty() {
            continue;
        }
        let mut call_turns = Vec::with_capacity(turns * 2);
        for k in 0..turns {
            let slot = (i / 2) * turns + k;
            if unique && slot >= pool.len() {
                return calls;
            }
            // A stride prime to the pool size varies the mix across calls.
            let item = if unique {
                pool[slot]
            } else {
                pool[(slot * 37) % pool.len()]
            };
            let customer = item.ctx.history.last().expect("filtered above");
            call_turns.push(customer.clone());
            call_turns.push(Turn {
                speaker: Speaker::Agent,
                text: item.ctx.reply.clone(),
            });
        }
        calls.push(Call {
            call_id: format!("bench-{i}"),
            agent_id: Some(format!("agent-{}", i % 7)),
            language: pool[0].ctx.language,
            scenario: pool[(i / 2) % pool.len()].ctx.scenario,
            timestamp: None,
            turns: call_turns,
            first_line: i + 1,
        });
    }
    calls
}

/// The calls as the JSONL a user would give `sparring score`.
fn as_jsonl(calls: &[Call]) -> String {
    let mut out = String::new();
    for c in calls {
        let mut v = serde_json::to_value(c).expect("plain data");
        v.as_object_mut().expect("object").remove("first_line");
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// Parse, fingerprint, score and journal `jsonl` on `jobs` threads.
fn run_once(plugins: &[&Plugin], jsonl: &str, jobs: usize, embeddings: bool) -> Result<ScoreRun> {
    let journal = tempfile::NamedTempFile::new().context("temporary journal")?;
    let mut out = std::io::BufWriter::new(journal.reopen()?);
    let started = Instant::now();
    let (calls, errors) = Format::Jsonl.parse("bench.jsonl", jsonl, &TextOptions::default());
    if !errors.is_empty() {
        bail!("the generated calls did not parse: {}", errors[0]);
    }
    let parse_ms = started.elapsed().as_secs_f64() * 1000.0;
    let n_calls = calls.len();
    let agent_turns: usize = calls
        .iter()
        .map(|c| {
            c.turns
                .iter()
                .filter(|t| t.speaker == Speaker::Agent)
                .count()
        })
        .sum();
    let keyed = calls.into_iter().map(|c| (c.call_id.clone(), c));
    let (todo, _) = pending(keyed, &Default::default(), &plugins_fingerprint(plugins));
    let mut scored_turns = 0;
    score_calls(plugins, todo, jobs, |p, result| -> std::io::Result<()> {
        scored_turns += result.turns.len();
        let line = serde_json::json!({ "file": "bench.jsonl", "fingerprint": p.fingerprint, "result": result });
        writeln!(out, "{line}")?;
        out.flush()
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if scored_turns != agent_turns {
        bail!("scored {scored_turns} of {agent_turns} agent turns");
    }
    Ok(ScoreRun {
        embeddings,
        jobs,
        calls: n_calls,
        agent_turns,
        parse_ms,
        seconds,
        turns_per_second: agent_turns as f64 / seconds,
        scaling: 1.0,
    })
}

pub fn run(args: ScoreBenchArgs) -> Result<()> {
    let mut items = Vec::new();
    for f in labelled_files(&args.replies) {
        let (found, _) =
            labelled::read_jsonl(&f).with_context(|| format!("reading {}", f.display()))?;
        items.extend(found);
    }
    if args.jobs.is_empty() || args.jobs.contains(&0) {
        bail!("--jobs takes job counts of at least 1");
    }
    let mut runs: Vec<ScoreRun> = Vec::new();
    let mut names = Vec::new();
    let with_embeddings = !args.options.no_embeddings && plugins::embedder(&args.options).is_some();
    for embeddings in [false, true] {
        if embeddings && !with_embeddings {
            continue;
        }
        let calls = build_calls(&items, args.calls, args.turns.max(1), embeddings);
        if calls.is_empty() {
            bail!("no labelled replies with a customer turn before them to build calls from");
        }
        let jsonl = as_jsonl(&calls);
        let first = runs.len();
        for &jobs in &args.jobs {
            // A fresh host per run: an empty embedding cache.
            let mut options = args.options.clone();
            options.no_embeddings = !embeddings;
            let loaded = plugins::load(&options, &[])?;
            if loaded.plugins.is_empty() {
                bail!("no plugins found; run `sparring plugin build` first");
            }
            let plugins: Vec<&Plugin> = loaded.plugins.iter().collect();
            names = plugins
                .iter()
                .map(|p| format!("{} {}", p.id, p.version))
                .collect();
            // Warm-up: pooled instances, and with embeddings the exemplars.
            let warm = build_calls(&items, 2, 1, false);
            for c in &warm {
                let mut c = c.clone();
                for t in c.turns.iter_mut().filter(|t| t.speaker == Speaker::Agent) {
                    t.text = format!("{} (warm-up)", t.text);
                }
                sparring_scoring::batch::score_call(&plugins, &c);
            }
            let mut r = run_once(&plugins, &jsonl, jobs, embeddings)?;
            r.scaling = r.turns_per_second
                / runs
                    .get(first)
                    .map_or(r.turns_per_second, |b: &ScoreRun| b.turns_per_second);
            runs.push(r);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    println!(
        "batch scoring: {}; {} thread(s) available; embeddings: {}",
        names.join(", "),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if with_embeddings {
            plugins::EMBEDDING_MODEL
        } else {
            "not installed / disabled"
        }
    );
    println!();
    println!(
        "{:<10} {:>4} {:>6} {:>11} {:>9} {:>9} {:>9} {:>8}",
        "embeddings", "jobs", "calls", "agent turns", "parse ms", "seconds", "turns/s", "scaling"
    );
    for r in &runs {
        println!(
            "{:<10} {:>4} {:>6} {:>11} {:>9.1} {:>9.2} {:>9.0} {:>7.2}x",
            if r.embeddings { "yes" } else { "no" },
            r.jobs,
            r.calls,
            r.agent_turns,
            r.parse_ms,
            r.seconds,
            r.turns_per_second,
            r.scaling
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparring_core::scoring::{ScenarioKind, TurnContext};

    fn item(language: Language, n: usize) -> LabelledReply {
        LabelledReply {
            id: format!("{language:?}-{n}"),
            dimension: None,
            ctx: TurnContext {
                language,
                scenario: ScenarioKind::Complaint,
                persona_summary: String::new(),
                mood: Vec::new(),
                history: vec![Turn {
                    speaker: Speaker::Customer,
                    text: format!("customer {n}"),
                }],
                reply: format!("reply {language:?} {n}"),
                speech: None,
            },
            level: Some(1),
            min: None,
            max: None,
            split: None,
        }
    }

    #[test]
    fn calls_alternate_languages_and_unique_calls_use_each_reply_once() {
        let items: Vec<_> = (0..8)
            .flat_map(|n| [item(Language::Zh, n), item(Language::En, n)])
            .collect();
        let calls = build_calls(&items, 10, 2, false);
        assert_eq!(calls.len(), 10);
        assert_eq!(calls[0].language, Language::Zh);
        assert_eq!(calls[1].language, Language::En);
        assert_eq!(calls[3].turns.len(), 4);
        assert_eq!(calls[3].turns[0].speaker, Speaker::Customer);
        let unique = build_calls(&items, 100, 2, true);
        assert_eq!(unique.len(), 8, "16 replies, 2 per call");
        let mut replies: Vec<&str> = unique
            .iter()
            .flat_map(|c| &c.turns)
            .filter(|t| t.speaker == Speaker::Agent)
            .map(|t| t.text.as_str())
            .collect();
        replies.sort();
        replies.dedup();
        assert_eq!(replies.len(), 16);
        let (back, errors) = Format::Jsonl.parse("x", &as_jsonl(&unique), &TextOptions::default());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(back.len(), 8);
        assert_eq!(back[5].turns, unique[5].turns);
    }
}
