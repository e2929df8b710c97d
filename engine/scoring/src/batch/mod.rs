//! Batch scoring of recorded or typed calls (quality control, the standard's
//! intermediate level): every agent turn of a [`Call`] rated by every plugin,
//! per-call means per dimension, and a summary over many calls. [`runner`]
//! scores many calls on many threads and skips those already scored.

mod runner;

pub use runner::{call_fingerprint, pending, plugins_fingerprint, score_calls, Pending};

use crate::plugin::Plugin;
use crate::run::score_turn_each;
use serde::{Deserialize, Serialize};
use sparring_core::scoring::{Score, Speaker, TurnContext};
use sparring_core::transcript::Call;
use std::collections::BTreeMap;

/// One plugin's failure on one turn; the other plugins' scores still count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginErrorInfo {
    pub plugin: String,
    /// [`crate::PluginError::kind`]: `trapped`, `timed_out`, `failed`, ….
    pub kind: String,
    pub message: String,
}

/// The scores of one agent turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnResult {
    /// Index of the turn in [`Call::turns`].
    pub turn: usize,
    pub reply: String,
    /// Every plugin's scores, in the order the plugins were given.
    pub scores: Vec<Score>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<PluginErrorInfo>,
}

/// The scores of one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallResult {
    pub call_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// One per agent turn, in call order.
    pub turns: Vec<TurnResult>,
    /// Mean value (0–100) per dimension over the agent turns that dimension
    /// was scored on (a turn whose plugin failed does not count).
    pub dimensions: BTreeMap<String, f64>,
}

/// One dimension over many calls, from the per-turn scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionSummary {
    pub dimension: String,
    pub skill_code: String,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Number of turn scores summarised.
    pub n: usize,
}

/// Score every agent turn of `call` with every plugin. Each turn is rated in
/// the context of the turns before it, in the call's language and scenario;
/// there is no persona or mood in a recorded call. The plugins run one after
/// another on the calling thread.
pub fn score_call(plugins: &[&Plugin], call: &Call) -> CallResult {
    let turns: Vec<TurnResult> = call
        .turns
        .iter()
        .enumerate()
        .filter(|(_, t)| t.speaker == Speaker::Agent)
        .map(|(i, t)| {
            let ctx = TurnContext {
                language: call.language,
                scenario: call.scenario,
                persona_summary: String::new(),
                mood: Vec::new(),
                history: call.turns[..i].to_vec(),
                reply: t.text.clone(),
                speech: None,
            };
            let mut scores = Vec::new();
            let mut errors = Vec::new();
            for outcome in score_turn_each(plugins, &ctx) {
                match outcome.result {
                    Ok(s) => scores.extend(s),
                    Err(e) => errors.push(PluginErrorInfo {
                        plugin: outcome.plugin,
                        kind: e.kind().to_string(),
                        message: e.to_string(),
                    }),
                }
            }
            TurnResult {
                turn: i,
                reply: ctx.reply,
                scores,
                errors,
            }
        })
        .collect();
    CallResult {
        call_id: call.call_id.clone(),
        agent_id: call.agent_id.clone(),
        timestamp: call.timestamp.clone(),
        dimensions: dimension_means(&turns),
        turns,
    }
}

/// Mean value per dimension over `turns`.
fn dimension_means(turns: &[TurnResult]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for s in turns.iter().flat_map(|t| &t.scores) {
        let e = sums.entry(s.dimension.clone()).or_default();
        e.0 += f64::from(s.value);
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(d, (sum, n))| (d, sum / n as f64))
        .collect()
}

/// Mean, min and max of every dimension's per-turn values over `results`,
/// one row per dimension and skill code (a plugin may cite different codes
/// in different scenarios), sorted by dimension then skill code.
pub fn summarise(results: &[CallResult]) -> Vec<DimensionSummary> {
    let mut groups: BTreeMap<(&str, &str), DimensionSummary> = BTreeMap::new();
    let scores = results
        .iter()
        .flat_map(|r| &r.turns)
        .flat_map(|t| &t.scores);
    for s in scores {
        let v = f64::from(s.value);
        let g = groups
            .entry((&s.dimension, &s.skill_code))
            .or_insert_with(|| DimensionSummary {
                dimension: s.dimension.clone(),
                skill_code: s.skill_code.clone(),
                mean: 0.0,
                min: v,
                max: v,
                n: 0,
            });
        g.mean += v; // the sum until the end
        g.min = g.min.min(v);
        g.max = g.max.max(v);
        g.n += 1;
    }
    groups
        .into_values()
        .map(|mut g| {
            g.mean /= g.n as f64;
            g
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(dimension: &str, skill_code: &str, value: f32) -> Score {
        Score {
            dimension: dimension.into(),
            skill_code: skill_code.into(),
            value,
            level: "1".into(),
            evidence: Vec::new(),
            tip: String::new(),
        }
    }

    fn turn(turn: usize, scores: Vec<Score>) -> TurnResult {
        TurnResult {
            turn,
            reply: format!("reply {turn}"),
            scores,
            errors: Vec::new(),
        }
    }

    fn call(id: &str, turns: Vec<TurnResult>) -> CallResult {
        CallResult {
            call_id: id.into(),
            agent_id: None,
            timestamp: None,
            dimensions: dimension_means(&turns),
            turns,
        }
    }

    #[test]
    fn call_means_count_only_turns_the_dimension_was_scored_on() {
        let turns = vec![
            turn(
                1,
                vec![
                    score("empathy", "4.3.2", 80.0),
                    score("expectation", "4.2.3", 10.0),
                ],
            ),
            turn(3, vec![score("empathy", "4.3.2", 40.0)]),
            turn(5, vec![]),
        ];
        let means = dimension_means(&turns);
        assert_eq!(means.len(), 2);
        assert!((means["empathy"] - 60.0).abs() < 1e-9, "{means:?}");
        assert!((means["expectation"] - 10.0).abs() < 1e-9, "{means:?}");
        assert!(dimension_means(&[]).is_empty());
    }

    #[test]
    fn summarise_pools_turn_scores_across_calls() {
        let results = vec![
            call(
                "c1",
                vec![
                    turn(
                        1,
                        vec![
                            score("empathy", "4.3.2", 20.0),
                            score("objection", "3.2.1", 50.0),
                        ],
                    ),
                    turn(3, vec![score("empathy", "4.3.2", 90.0)]),
                ],
            ),
            call("c2", vec![turn(0, vec![score("empathy", "4.3.2", 40.0)])]),
            call("c3", vec![]),
        ];
        let summary = summarise(&results);
        assert_eq!(summary.len(), 2);
        assert_eq!(
            summary[0],
            DimensionSummary {
                dimension: "empathy".into(),
                skill_code: "4.3.2".into(),
                mean: 50.0,
                min: 20.0,
                max: 90.0,
                n: 3,
            }
        );
        assert_eq!(summary[1].dimension, "objection");
        assert_eq!(
            (
                summary[1].mean,
                summary[1].min,
                summary[1].max,
                summary[1].n
            ),
            (50.0, 50.0, 50.0, 1)
        );
        assert!(summarise(&[]).is_empty());
    }

    #[test]
    fn summarise_keeps_skill_codes_apart() {
        let results = vec![call(
            "c1",
            vec![
                turn(0, vec![score("empathy", "4.3.2", 10.0)]),
                turn(1, vec![score("empathy", "1.2.1", 30.0)]),
            ],
        )];
        let summary = summarise(&results);
        let rows: Vec<_> = summary
            .iter()
            .map(|s| (s.dimension.as_str(), s.skill_code.as_str(), s.n))
            .collect();
        assert_eq!(rows, [("empathy", "1.2.1", 1), ("empathy", "4.3.2", 1)]);
    }

    #[test]
    fn results_round_trip_through_json() {
        let mut r = call("c1", vec![turn(1, vec![score("empathy", "4.3.2", 70.0)])]);
        r.agent_id = Some("a7".into());
        r.turns[0].errors.push(PluginErrorInfo {
            plugin: "slow".into(),
            kind: "timed_out".into(),
            message: "plugin `slow` ran longer than its 50 ms limit and was stopped".into(),
        });
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""dimensions":{"empathy":70.0}"#), "{json}");
        let back: CallResult = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let s = summarise(std::slice::from_ref(&r));
        let back: Vec<DimensionSummary> =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
