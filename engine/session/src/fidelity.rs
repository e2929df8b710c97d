//! The persona fidelity eval: scripted trainees (empathetic, rude,
//! prompt-injecting, off-topic) play each persona with a fixed seed, and the
//! runs are measured for what users of role-play products complain about:
//! role breaks, language slips, leaked hidden facts, how often the script
//! rather than the model speaks, whether the mood moves the right way and
//! whether the session ends as it should.

use crate::record::{LineSource, SessionReport};
use crate::session::{Session, SessionError, SessionOptions};
use serde::{Deserialize, Serialize};
use sparring_core::dialogue::Outcome;
use sparring_core::guard;
use sparring_core::persona::Persona;
use sparring_core::scoring::Language;
use sparring_llm::ChatBackend;
use sparring_scoring::Plugin;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

/// The scripts shipped in `evals/fidelity/trainees.toml`.
pub const DEFAULT_TRAINEES: &str = include_str!("../../../evals/fidelity/trainees.toml");

/// Moods where down is better for the call; every other mood (trust,
/// patience, interest...) is better up.
const NEGATIVE_MOODS: &[&str] = &["anger", "confusion", "guard", "urgency", "frustration"];

/// Which way a trainee should move the customer's mood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoodExpectation {
    Better,
    Worse,
    NotBetter,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trainee {
    pub id: String,
    pub expect_mood: MoodExpectation,
    /// Outcomes that count as ending correctly; "open" = still running.
    pub endings: Vec<String>,
    pub zh: Vec<String>,
    pub en: Vec<String>,
    /// Scripts for particular personas (by id), used instead of zh/en: a
    /// good agent says different things to a price objector and to an
    /// elderly caller.
    #[serde(default)]
    pub personas: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraineesFile {
    trainee: Vec<Trainee>,
}

/// Reads trainee scripts; errors name the file and line.
pub fn parse_trainees(path: &Path, text: &str) -> Result<Vec<Trainee>, String> {
    let file: TraineesFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(1);
        format!("{}:{line}: {}", path.display(), e.message())
    })?;
    for t in &file.trainee {
        if t.zh.is_empty() || t.en.is_empty() {
            return Err(format!(
                "{}: trainee {}: needs lines in both zh and en",
                path.display(),
                t.id
            ));
        }
    }
    Ok(file.trainee)
}

/// The lines a trainee says to a persona.
fn script(trainee: &Trainee, persona: &Persona) -> Vec<String> {
    let ask = persona
        .facts
        .first()
        .and_then(|f| f.asks.first())
        .cloned()
        .unwrap_or_default();
    let lines = match (trainee.personas.get(&persona.id), persona.language) {
        (Some(lines), _) => lines,
        (None, Language::Zh) => &trainee.zh,
        (None, Language::En) => &trainee.en,
    };
    lines.iter().map(|l| l.replace("{ask}", &ask)).collect()
}

/// One persona played by one scripted trainee.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub persona: String,
    pub language: String,
    pub trainee: String,
    pub turns: usize,
    pub model_lines: usize,
    pub fallback_lines: usize,
    /// Authored because the model does not speak the persona's language.
    pub authored_lines: usize,
    pub candidates: usize,
    /// Candidates rejected as garbled text or cut off mid-sentence.
    pub garbled: usize,
    /// Candidates rejected for speaking as the agent or about their instructions.
    pub role_breaks: usize,
    pub language_mismatches: usize,
    /// Candidates rejected for telling an unearned fact.
    pub fact_leaks_caught: usize,
    /// Lines shown that overlap an unearned fact (a looser test than the guard's).
    pub fact_leaks_shown: usize,
    pub too_long: usize,
    pub repeats: usize,
    /// Sum of mood changes, signed so that positive is better for the call.
    pub mood_change: f32,
    pub mood_ok: bool,
    pub outcome: String,
    pub ending_ok: bool,
    pub report: SessionReport,
}

fn outcome_name(o: Option<Outcome>) -> String {
    match o {
        None => "open".into(),
        Some(o) => serde_json::to_value(o)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    }
}

/// Plays `trainee`'s script against `persona` until it runs out or the
/// session ends.
pub fn run_one(
    persona: Arc<Persona>,
    trainee: &Trainee,
    backend: &dyn ChatBackend,
    plugins: Arc<[Plugin]>,
    options: SessionOptions,
) -> Result<RunResult, SessionError> {
    let lines = script(trainee, &persona);
    let mut session = Session::start(persona.clone(), backend, plugins, options)?;
    // Lines that tell a fact the trainee had not earned by then.
    let mut shown_leaks = 0;
    for line in &lines {
        if session.is_over() {
            break;
        }
        let said = session.reply(line, &mut |_| {})?.customer.clone();
        if said.source != LineSource::Opening {
            let earned = session.state().revealed();
            shown_leaks += guard::fact_overlaps(&persona, &said.text, earned)
                .iter()
                .filter(|(_, overlap)| *overlap >= 0.35)
                .count();
        }
    }
    let report = session.end();
    let start = report.mood_trajectory.first().cloned().unwrap_or_default();
    let last = report.mood_trajectory.last().cloned().unwrap_or_default();
    let mood_change: f32 = last
        .iter()
        .map(|(name, v)| {
            let d = v - start.get(name).copied().unwrap_or(*v);
            if NEGATIVE_MOODS.contains(&name.as_str()) {
                -d
            } else {
                d
            }
        })
        .sum();
    let mood_ok = match trainee.expect_mood {
        MoodExpectation::Better => mood_change > 0.0,
        MoodExpectation::Worse => mood_change < 0.0,
        MoodExpectation::NotBetter => mood_change <= 0.0,
    };
    let outcome = outcome_name(report.outcome);
    let count = |k: &str| report.voice.rejections.get(k).copied().unwrap_or(0);
    Ok(RunResult {
        persona: persona.id.clone(),
        language: persona.language.code().into(),
        trainee: trainee.id.clone(),
        turns: report.turns.len(),
        model_lines: report.voice.model,
        fallback_lines: report.voice.fallback,
        authored_lines: report.voice.authored,
        garbled: count("garbled") + count("unfinished"),
        candidates: report.voice.candidates,
        role_breaks: count("agent_voice") + count("leaks_instructions"),
        language_mismatches: count("wrong_language"),
        fact_leaks_caught: count("leaks_fact"),
        fact_leaks_shown: shown_leaks,
        too_long: count("too_long"),
        repeats: count("repeats"),
        mood_change,
        mood_ok,
        ending_ok: trainee.endings.contains(&outcome),
        outcome,
        report,
    })
}

/// Totals over a set of runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub runs: usize,
    pub lines: usize,
    pub model_lines: usize,
    pub fallback_lines: usize,
    pub authored_lines: usize,
    pub candidates: usize,
    pub role_breaks: usize,
    pub language_mismatches: usize,
    pub garbled: usize,
    pub fact_leaks_caught: usize,
    pub fact_leaks_shown: usize,
    pub mood_ok: usize,
    pub ending_ok: usize,
    /// Runs per trainee: (mood right, ending right, runs).
    pub by_trainee: BTreeMap<String, (usize, usize, usize)>,
}

pub fn summarise(runs: &[RunResult]) -> Summary {
    let mut s = Summary {
        runs: runs.len(),
        ..Summary::default()
    };
    for r in runs {
        s.lines += r.model_lines + r.fallback_lines + r.authored_lines;
        s.authored_lines += r.authored_lines;
        s.garbled += r.garbled;
        s.model_lines += r.model_lines;
        s.fallback_lines += r.fallback_lines;
        s.candidates += r.candidates;
        s.role_breaks += r.role_breaks;
        s.language_mismatches += r.language_mismatches;
        s.fact_leaks_caught += r.fact_leaks_caught;
        s.fact_leaks_shown += r.fact_leaks_shown;
        s.mood_ok += r.mood_ok as usize;
        s.ending_ok += r.ending_ok as usize;
        let e = s.by_trainee.entry(r.trainee.clone()).or_default();
        e.0 += r.mood_ok as usize;
        e.1 += r.ending_ok as usize;
        e.2 += 1;
    }
    s
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / d as f64)
    }
}

/// The runs as a Markdown table, then the totals.
pub fn table(model: &str, runs: &[RunResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Model: {model}\n");
    out.push_str("| persona | trainee | turns | model/fallback/authored | candidates | role breaks | wrong language | garbled | fact leaks caught/shown | too long | repeats | mood Δ | mood ok | outcome | ending ok |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n");
    for r in runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}/{}/{} | {} | {} | {} | {} | {}/{} | {} | {} | {:+.0} | {} | {} | {} |",
            r.persona,
            r.trainee,
            r.turns,
            r.model_lines,
            r.fallback_lines,
            r.authored_lines,
            r.candidates,
            r.role_breaks,
            r.language_mismatches,
            r.garbled,
            r.fact_leaks_caught,
            r.fact_leaks_shown,
            r.too_long,
            r.repeats,
            r.mood_change,
            if r.mood_ok { "yes" } else { "NO" },
            r.outcome,
            if r.ending_ok { "yes" } else { "NO" },
        );
    }
    let s = summarise(runs);
    let _ = writeln!(
        out,
        "\nRuns {}; customer lines {} (model {} = {}, fallback after failed candidates {}, authored because the model does not speak the language {}); candidates {}: role breaks {} ({}), wrong language {} ({}), garbled or cut off {} ({}), fact leaks caught {}, shown {}.",
        s.runs,
        s.lines,
        s.model_lines,
        pct(s.model_lines, s.lines),
        s.fallback_lines,
        s.authored_lines,
        s.candidates,
        s.role_breaks,
        pct(s.role_breaks, s.candidates),
        s.language_mismatches,
        pct(s.language_mismatches, s.candidates),
        s.garbled,
        pct(s.garbled, s.candidates),
        s.fact_leaks_caught,
        s.fact_leaks_shown,
    );
    let _ = writeln!(
        out,
        "Mood moved the right way in {}/{} runs; the session ended correctly in {}/{}.",
        s.mood_ok, s.runs, s.ending_ok, s.runs
    );
    for (t, (mood, end, n)) in &s.by_trainee {
        let _ = writeln!(out, "- {t}: mood right {mood}/{n}, ending right {end}/{n}");
    }
    out
}
