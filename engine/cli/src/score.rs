//! `sparring score`: batch-score recorded or typed call transcripts with the
//! scorer plugins, in parallel and resumably, into JSONL and CSV (and an
//! HTML report) for evaluators.
//!
//! `calls.jsonl` in the output directory is both the result and the
//! journal: one line per scored call, appended and flushed as soon as the
//! call is scored, keyed by file and call id with a fingerprint of the
//! call's text and the plugins' versions and configs. A rerun skips calls
//! whose fingerprint is there; an interrupted run loses at most the call
//! being written (a torn last line is dropped on the next run). The other
//! outputs are rebuilt from it at the end of every run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use sparring_core::transcript::{Call, Format, TextOptions, EXTENSIONS};
use sparring_report::tables;
use sparring_scoring::batch::{pending, plugins_fingerprint, score_calls, summarise, CallResult};
use sparring_scoring::Plugin;

use crate::plugins::{self, PluginOptions};

#[derive(Args)]
pub struct ScoreArgs {
    /// Transcript files, directories (searched recursively for .jsonl,
    /// .ndjson, .csv and .txt) or glob patterns.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Where the results go.
    #[arg(long, default_value = "score-out")]
    pub out: PathBuf,
    /// Calls scored at once (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Speaker prefix of the agent in plain-text transcripts (repeatable;
    /// default 客服, 坐席, Agent), followed by `:` or `：` in the file.
    #[arg(long = "agent-prefix", value_name = "PREFIX")]
    pub agent_prefixes: Vec<String>,
    /// Speaker prefix of the customer in plain-text transcripts (repeatable;
    /// default 客户, Customer).
    #[arg(long = "customer-prefix", value_name = "PREFIX")]
    pub customer_prefixes: Vec<String>,
    #[command(flatten)]
    pub plugin_options: PluginOptions,
}

/// One line of `calls.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    file: String,
    fingerprint: String,
    #[serde(flatten)]
    result: CallResult,
}

/// A problem with an input: file, line (0: the whole file), message.
#[derive(Debug, Clone, Serialize)]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// `*` any run of characters, `?` one character; on file names.
fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    go(&p, &n)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// The files the inputs name, in order, each once; inputs that name
/// nothing are errors.
pub fn expand(inputs: &[String]) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let path = Path::new(input);
        let before = files.len();
        if is_pattern(input) {
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let pattern = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Ok(entries) = std::fs::read_dir(dir) {
                let mut found: Vec<PathBuf> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| matches(pattern, n))
                    })
                    .collect();
                found.sort();
                files.extend(found);
            }
        } else if path.is_dir() {
            if let Err(e) = walk(path, &mut files) {
                errors.push(InputError {
                    file: input.clone(),
                    line: 0,
                    message: e.to_string(),
                });
            }
        } else if path.is_file() {
            files.push(path.to_path_buf());
        }
        if files.len() == before {
            errors.push(InputError {
                file: input.clone(),
                line: 0,
                message: "no transcript files here (.jsonl, .ndjson, .csv, .txt)".into(),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    (files, errors)
}

/// The calls of one file, in the format its name or content says (a
/// plain-text transcript is one call named for the file); errors name the file.
fn read_calls(path: &Path, text_options: &TextOptions) -> (Vec<Call>, Vec<InputError>) {
    let file = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let line = e.as_bytes()[..valid]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                return (
                    Vec::new(),
                    vec![InputError {
                        file,
                        line,
                        message: "not UTF-8 text".into(),
                    }],
                );
            }
        },
        Err(e) => {
            return (
                Vec::new(),
                vec![InputError {
                    file,
                    line: 0,
                    message: e.to_string(),
                }],
            )
        }
    };
    let (calls, errors) = Format::detect(&file, &text).parse(&file, &text, text_options);
    let errors = errors
        .into_iter()
        .map(|e| InputError {
            file: file.clone(),
            line: e.line,
            message: e.message,
        })
        .collect();
    (calls, errors)
}

/// The scored calls already in the journal, by (file, call id): the last
/// line for a key wins. A line that does not parse (a torn write) is dropped.
fn load_journal(path: &Path) -> Result<(Vec<Journal>, usize)> {
    let Ok(f) = File::open(path) else {
        return Ok((Vec::new(), 0));
    };
    let mut out = Vec::new();
    let mut torn = 0;
    for line in BufReader::new(f).lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Journal>(&line) {
            Ok(j) => out.push(j),
            Err(_) => torn += 1,
        }
    }
    Ok((out, torn))
}

/// Writes `path` whole or not at all.
fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut w = BufWriter::new(
            File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?,
        );
        f(&mut w)?;
        w.flush()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// turns.jsonl, calls.csv, turns.csv, errors.jsonl from the journal.
fn write_outputs(out: &Path, journal: &[Journal], errors: &[InputError]) -> Result<()> {
    let rows: Vec<tables::Row> = journal
        .iter()
        .map(|j| (j.file.as_str(), &j.result))
        .collect();
    write_atomic(&out.join("turns.jsonl"), |w| tables::turns_jsonl(w, &rows))?;
    write_atomic(&out.join("calls.csv"), |w| tables::calls_csv(w, &rows))?;
    write_atomic(&out.join("turns.csv"), |w| tables::turns_csv(w, &rows))?;
    write_atomic(&out.join("errors.jsonl"), |w| {
        for e in errors {
            writeln!(w, "{}", serde_json::to_string(e).expect("plain data"))?;
        }
        Ok(())
    })
}

pub fn run(args: ScoreArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let (files, mut errors) = expand(&args.inputs);
    let defaults = TextOptions::default();
    let text_options = TextOptions {
        agent_prefixes: if args.agent_prefixes.is_empty() {
            defaults.agent_prefixes
        } else {
            args.agent_prefixes.clone()
        },
        customer_prefixes: if args.customer_prefixes.is_empty() {
            defaults.customer_prefixes
        } else {
            args.customer_prefixes.clone()
        },
    };
    let mut calls: Vec<((String, String), Call)> = Vec::new();
    for f in &files {
        let (found, errs) = read_calls(f, &text_options);
        errors.extend(errs);
        let file = f.display().to_string();
        calls.extend(
            found
                .into_iter()
                .map(|c| ((file.clone(), c.call_id.clone()), c)),
        );
    }
    let ids: HashSet<(String, String)> = calls.iter().map(|(k, _)| k.clone()).collect();
    for e in &errors {
        if e.line > 0 {
            eprintln!("{}:{}: {}", e.file, e.line, e.message);
        } else {
            eprintln!("{}: {}", e.file, e.message);
        }
    }
    let loaded = plugins::load(&args.plugin_options, &[])?;
    for e in &loaded.errors {
        eprintln!("warning: plugin not loaded: {e}");
    }
    if loaded.plugins.is_empty() {
        bail!(
            "no scorer plugins in {}; build them with `sparring plugin build`",
            args.plugin_options.search_dirs_text()
        );
    }
    let plugins: Vec<&Plugin> = loaded.plugins.iter().collect();
    let plugin_fp = plugins_fingerprint(&plugins);
    let journal_path = args.out.join("calls.jsonl");
    let (previous, torn) = load_journal(&journal_path)?;
    if torn > 0 {
        eprintln!("{}: {torn} unreadable line(s) (an interrupted write) dropped; those calls are scored again", journal_path.display());
    }
    let done: HashMap<(String, String), String> = previous
        .iter()
        .map(|j| {
            (
                (j.file.clone(), j.result.call_id.clone()),
                j.fingerprint.clone(),
            )
        })
        .collect();
    let (todo, skipped) = pending(calls, &done, &plugin_fp);
    // Rewrite the journal without torn lines before appending to it.
    if torn > 0 {
        write_atomic(&journal_path, |w| {
            for j in &previous {
                writeln!(w, "{}", serde_json::to_string(j).expect("plain data"))?;
            }
            Ok(())
        })?;
    }
    let mut journal_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&journal_path)
        .with_context(|| format!("opening {}", journal_path.display()))?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let bar = progress_bar(!args.quiet, todo.len() as u64);
    let mut scored = 0usize;
    score_calls(&plugins, todo, jobs, |p, result| -> Result<()> {
        let line = Journal {
            file: p.key.0,
            fingerprint: p.fingerprint,
            result,
        };
        writeln!(
            journal_file,
            "{}",
            serde_json::to_string(&line).expect("plain data")
        )?;
        journal_file.flush()?;
        scored += 1;
        bar.inc(1);
        Ok(())
    })
    .with_context(|| format!("writing {}", journal_path.display()))?;
    bar.finish_and_clear();
    drop(journal_file);

    // The outputs hold every call in the journal that the inputs still name.
    let (all, _) = load_journal(&journal_path)?;
    let mut latest: BTreeMap<(String, String), Journal> = BTreeMap::new();
    for j in all {
        latest.insert((j.file.clone(), j.result.call_id.clone()), j);
    }
    let current: Vec<Journal> = latest
        .into_iter()
        .filter(|(k, _)| ids.contains(k))
        .map(|(_, j)| j)
        .collect();
    write_outputs(&args.out, &current, &errors)?;
    let results: Vec<CallResult> = current.iter().map(|j| j.result.clone()).collect();
    let report_errors: Vec<(String, usize, String)> = errors
        .iter()
        .map(|e| (e.file.clone(), e.line, e.message.clone()))
        .collect();
    let html = sparring_report::html(&sparring_report::ReportInput {
        title: format!("sparring QA report: {}", args.inputs.join(", ")),
        results: &results,
        errors: &report_errors,
        plugins: loaded
            .plugins
            .iter()
            .map(|p| (p.id.clone(), p.version.clone()))
            .collect(),
        generated_at: String::new(),
    });
    write_atomic(&args.out.join("report.html"), |w| {
        w.write_all(html.as_bytes())
    })?;
    println!(
        "{} calls: {scored} scored, {skipped} already scored with the same plugins; {} input error(s)",
        current.len(),
        errors.len()
    );
    println!(
        "{:<14} {:<10} {:>7} {:>7} {:>7} {:>6}",
        "dimension", "skill", "mean", "min", "max", "turns"
    );
    for d in summarise(&results) {
        println!(
            "{:<14} {:<10} {:>7.1} {:>7.1} {:>7.1} {:>6}",
            d.dimension, d.skill_code, d.mean, d.min, d.max, d.n
        );
    }
    println!("results in {}", args.out.display());
    Ok(())
}

fn progress_bar(enabled: bool, len: u64) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} calls, {per_sec}, ETA {eta}")
            .expect("valid template"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_file_names() {
        assert!(matches("*.jsonl", "calls.jsonl"));
        assert!(matches("day-?.csv", "day-3.csv"));
        assert!(!matches("*.jsonl", "calls.csv"));
        assert!(matches("*", ""));
        assert!(!matches("a?", "a"));
    }
}
