//! What a session keeps of each turn: plain data that serialises both ways,
//! so a front end can store it and a report can be rebuilt from it.

use serde::{Deserialize, Serialize};
use sparring_core::dialogue::{Outcome, TurnUpdate};
use sparring_core::guard::Rejection;
use sparring_core::scorecard::Scorecard;
use sparring_core::scoring::Score;
use sparring_scoring::PluginOutcome;
use std::collections::BTreeMap;

/// Where a customer line came from: the count of `Model` against `Fallback`
/// is the honest measure of how much the model, not the script, is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineSource {
    /// The persona's authored opening line.
    Opening,
    /// A model candidate that passed the guard.
    Model,
    /// An authored (or stock) line, after every candidate failed the guard.
    Fallback,
    /// An authored line because the model does not speak the persona's
    /// language (the model was not asked).
    Authored,
}

/// One model candidate for a customer line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The text as tidied for the guard (up to where it was stopped).
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
    /// The backend failed (the line then falls back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub tokens: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_logprob: Option<f64>,
    pub ms: f64,
}

/// A customer line as shown to the trainee, and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerLine {
    pub text: String,
    /// The move it voices (one of `sparring_core::persona::INTENTS`).
    pub intent: String,
    pub source: LineSource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
}

/// One plugin's result for one reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginResult {
    pub plugin: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PluginFailure>,
    pub elapsed_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginFailure {
    /// trapped, timed_out, out_of_memory, failed, invalid_output, instantiate.
    pub kind: String,
    pub message: String,
}

impl From<PluginOutcome> for PluginResult {
    fn from(o: PluginOutcome) -> Self {
        let (scores, error) = match o.result {
            Ok(scores) => (scores, None),
            Err(e) => (
                Vec::new(),
                Some(PluginFailure {
                    kind: e.kind().to_string(),
                    message: e.to_string(),
                }),
            ),
        };
        PluginResult {
            plugin: o.plugin,
            version: o.version,
            scores,
            error,
            elapsed_ms: o.elapsed.as_secs_f64() * 1e3,
        }
    }
}

/// One exchange: the trainee's reply, how it was rated, what it changed, and
/// the customer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    pub reply: String,
    pub plugins: Vec<PluginResult>,
    pub update: TurnUpdateRecord,
    pub customer: CustomerLine,
}

impl TurnRecord {
    /// Every score the plugins gave the reply.
    pub fn scores(&self) -> Vec<Score> {
        self.plugins
            .iter()
            .flat_map(|p| p.scores.iter().cloned())
            .collect()
    }
}

/// [`TurnUpdate`] in a form that reads back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnUpdateRecord {
    pub turn: u32,
    /// Mood values after the reply.
    pub moods: BTreeMap<String, f32>,
    /// Change of each mood by the reply.
    pub mood_changes: BTreeMap<String, f32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revealed: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub intent: String,
}

impl From<&TurnUpdate> for TurnUpdateRecord {
    fn from(u: &TurnUpdate) -> Self {
        TurnUpdateRecord {
            turn: u.turn,
            moods: u
                .moods
                .iter()
                .map(|(k, _, after)| (k.clone(), *after))
                .collect(),
            mood_changes: u
                .moods
                .iter()
                .map(|(k, before, after)| (k.clone(), after - before))
                .collect(),
            revealed: u.revealed.clone(),
            resolved: u.resolved.clone(),
            outcome: u.outcome,
            intent: u.intent.clone(),
        }
    }
}

/// How often each path made a customer line, and why candidates failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VoiceCounts {
    /// Lines after the opening.
    pub lines: usize,
    pub model: usize,
    pub fallback: usize,
    /// Lines authored because the model does not speak the language.
    #[serde(default)]
    pub authored: usize,
    pub candidates: usize,
    /// Rejected candidates by reason (`agent_voice`, `wrong_language`, ...),
    /// plus `error` for backend failures.
    pub rejections: BTreeMap<String, usize>,
}

impl VoiceCounts {
    pub fn add(&mut self, line: &CustomerLine) {
        if line.source == LineSource::Opening {
            return;
        }
        self.lines += 1;
        match line.source {
            LineSource::Model => self.model += 1,
            LineSource::Authored => self.authored += 1,
            _ => self.fallback += 1,
        }
        self.candidates += line.candidates.len();
        for c in &line.candidates {
            let kind = match (&c.rejection, &c.error) {
                (Some(r), _) => r.kind(),
                (None, Some(_)) => "error",
                (None, None) => continue,
            };
            *self.rejections.entry(kind.to_string()).or_default() += 1;
        }
    }
}

/// A whole session, as `sparring chat --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionReport {
    pub persona: String,
    pub language: String,
    pub model: String,
    pub prompt_mode: String,
    pub seed: u64,
    pub opening: CustomerLine,
    pub turns: Vec<TurnRecord>,
    /// Mood values at the start and after each reply.
    pub mood_trajectory: Vec<BTreeMap<String, f32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub voice: VoiceCounts,
    pub scorecard: Scorecard,
}
