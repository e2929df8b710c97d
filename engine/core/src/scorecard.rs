//! The end-of-session scorecard: weighted dimensions, a pass mark,
//! compliance blockers that fail the session whatever the total, tiers, and
//! per-dimension evidence and coaching with the standard's skill codes.

use crate::condition::Condition;
use crate::dialogue::Outcome;
use crate::scoring::{score_variable, ScenarioKind, Score, Span};
use serde::{Deserialize, Serialize};

/// A rule that fails the session when it holds on any reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    pub when: Condition,
    pub reason_zh: String,
    pub reason_en: String,
}

/// How a persona (or its scenario, by default) grades a session.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardSpec {
    /// (dimension, weight); weights are normalised over the dimensions scored.
    pub weights: Vec<(String, f32)>,
    pub pass_mark: f32,
    /// (tier name, lowest total), highest first.
    pub tiers: Vec<(String, f32)>,
    pub blockers: Vec<Blocker>,
}

impl ScorecardSpec {
    /// Defaults per work area: complaints weigh empathy, sales weigh
    /// objection handling, everything weighs expectation management. Scores
    /// of 0 on empathy (the cap for service taboo phrases; a reply with no
    /// empathy at all scores above it) block.
    pub fn default_for(scenario: ScenarioKind) -> ScorecardSpec {
        let weights: &[(&str, f32)] = match scenario {
            ScenarioKind::Complaint => {
                &[("empathy", 0.5), ("expectation", 0.4), ("objection", 0.1)]
            }
            ScenarioKind::Telesales => {
                &[("objection", 0.5), ("expectation", 0.3), ("empathy", 0.2)]
            }
            ScenarioKind::Outbound => &[("expectation", 0.4), ("objection", 0.3), ("empathy", 0.3)],
            ScenarioKind::Inbound => &[("expectation", 0.5), ("empathy", 0.4), ("objection", 0.1)],
        };
        ScorecardSpec {
            weights: weights.iter().map(|(d, w)| (d.to_string(), *w)).collect(),
            pass_mark: 60.0,
            tiers: vec![
                ("gold".into(), 85.0),
                ("silver".into(), 72.0),
                ("bronze".into(), 60.0),
            ],
            blockers: vec![Blocker {
                when: Condition::parse("score.empathy <= 0").expect("valid"),
                reason_zh: "使用了服务禁语或指责客户".into(),
                reason_en: "Used a service taboo phrase or blamed the customer".into(),
            }],
        }
    }
}

/// One dimension on the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionResult {
    pub dimension: String,
    pub skill_codes: Vec<String>,
    /// Normalised weight in the total.
    pub weight: f32,
    /// Mean value over the agent turns scored, 0–100.
    pub value: f32,
    /// Level of the mean ("0", "1", "2"), by the mean of the turn levels.
    pub level: String,
    /// The best turn's evidence (what to keep doing), spans naming their turn.
    pub strength: Vec<Span>,
    /// The weakest turn's evidence and tip (what to work on first).
    pub weakness: Vec<Span>,
    pub tip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockerHit {
    /// Index of the agent turn (0-based among the trainee's replies).
    pub reply: usize,
    pub reason_zh: String,
    pub reason_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Weighted total, 0–100.
    pub total: f32,
    pub passed: bool,
    /// The highest tier reached, when passed.
    pub tier: Option<String>,
    pub outcome: Option<Outcome>,
    pub blockers: Vec<BlockerHit>,
    pub dimensions: Vec<DimensionResult>,
}

/// Grade a session from the scores of each trainee reply (in order).
pub fn grade(spec: &ScorecardSpec, replies: &[Vec<Score>], outcome: Option<Outcome>) -> Scorecard {
    let mut dimensions = Vec::new();
    for (dimension, weight) in &spec.weights {
        let rated: Vec<(usize, &Score)> = replies
            .iter()
            .enumerate()
            .filter_map(|(i, scores)| {
                scores
                    .iter()
                    .find(|s| &s.dimension == dimension)
                    .map(|s| (i, s))
            })
            .collect();
        if rated.is_empty() {
            continue;
        }
        let n = rated.len() as f32;
        let value = rated.iter().map(|(_, s)| s.value).sum::<f32>() / n;
        let mean_level = rated
            .iter()
            .map(|(_, s)| s.level_number().unwrap_or(0) as f32)
            .sum::<f32>()
            / n;
        let with_turn = |(i, s): &(usize, &Score)| -> Vec<Span> {
            s.evidence
                .iter()
                .map(|e| Span {
                    turn: Some(*i as u32),
                    ..e.clone()
                })
                .collect()
        };
        let best = rated
            .iter()
            .max_by(|a, b| a.1.value.total_cmp(&b.1.value))
            .expect("rated");
        let worst = rated
            .iter()
            .min_by(|a, b| a.1.value.total_cmp(&b.1.value))
            .expect("rated");
        let mut skill_codes: Vec<String> =
            rated.iter().map(|(_, s)| s.skill_code.clone()).collect();
        skill_codes.sort();
        skill_codes.dedup();
        dimensions.push(DimensionResult {
            dimension: dimension.clone(),
            skill_codes,
            weight: *weight,
            value,
            level: format!("{}", mean_level.round() as u8),
            strength: with_turn(best),
            weakness: with_turn(worst),
            tip: worst.1.tip.clone(),
        });
    }
    let weight_sum: f32 = dimensions.iter().map(|d| d.weight).sum();
    for d in &mut dimensions {
        d.weight = if weight_sum > 0.0 {
            d.weight / weight_sum
        } else {
            0.0
        };
    }
    let total = dimensions.iter().map(|d| d.weight * d.value).sum::<f32>();
    let mut blockers = Vec::new();
    for (i, scores) in replies.iter().enumerate() {
        let lookup = |name: &str| score_variable(scores, name);
        for b in &spec.blockers {
            if b.when.eval(&lookup) {
                blockers.push(BlockerHit {
                    reply: i,
                    reason_zh: b.reason_zh.clone(),
                    reason_en: b.reason_en.clone(),
                });
            }
        }
    }
    let passed = blockers.is_empty() && total >= spec.pass_mark && !dimensions.is_empty();
    let tier = passed
        .then(|| {
            spec.tiers
                .iter()
                .find(|(_, min)| total >= *min)
                .map(|(t, _)| t.clone())
        })
        .flatten();
    Scorecard {
        total,
        passed,
        tier,
        outcome,
        blockers,
        dimensions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(dimension: &str, value: f32, level: &str, quote: &str) -> Score {
        Score {
            dimension: dimension.into(),
            skill_code: if dimension == "empathy" {
                "4.3.2"
            } else {
                "1.2.3"
            }
            .into(),
            value,
            level: level.into(),
            evidence: vec![Span {
                turn: None,
                start: 0,
                end: quote.len() as u32,
                quote: quote.into(),
            }],
            tip: format!("tip for {quote}"),
        }
    }

    #[test]
    fn weights_tiers_and_evidence() {
        let spec = ScorecardSpec::default_for(ScenarioKind::Complaint);
        let replies = vec![
            vec![
                s("empathy", 70.0, "2", "I'm sorry"),
                s("expectation", 50.0, "1", "soon"),
            ],
            vec![
                s("empathy", 90.0, "2", "that must be awful"),
                s("expectation", 90.0, "2", "by 3pm"),
            ],
        ];
        let card = grade(&spec, &replies, Some(Outcome::Satisfied));
        // objection unscored: weights renormalise over empathy 0.5, expectation 0.4.
        let expected = (0.5 * 80.0 + 0.4 * 70.0) / 0.9;
        assert!((card.total - expected).abs() < 1e-3, "{}", card.total);
        assert!(card.passed);
        assert_eq!(card.tier.as_deref(), Some("silver"));
        let empathy = &card.dimensions[0];
        assert_eq!(empathy.skill_codes, ["4.3.2"]);
        assert_eq!(empathy.strength[0].quote, "that must be awful");
        assert_eq!(empathy.strength[0].turn, Some(1));
        assert_eq!(empathy.weakness[0].turn, Some(0));
        assert_eq!(card.dimensions[1].tip, "tip for soon");
    }

    #[test]
    fn a_blocker_fails_whatever_the_total() {
        let spec = ScorecardSpec::default_for(ScenarioKind::Complaint);
        let replies = vec![
            vec![
                s("empathy", 0.0, "0", "not my department"),
                s("expectation", 100.0, "2", "x"),
            ],
            vec![
                s("empathy", 100.0, "2", "y"),
                s("expectation", 100.0, "2", "z"),
            ],
            vec![
                s("empathy", 100.0, "2", "y"),
                s("expectation", 100.0, "2", "z"),
            ],
        ];
        let card = grade(&spec, &replies, None);
        assert!(
            card.total > spec.pass_mark,
            "would pass on points: {}",
            card.total
        );
        assert!(!card.passed);
        assert_eq!(card.tier, None);
        assert_eq!(card.blockers.len(), 1);
        assert_eq!(card.blockers[0].reply, 0);
        // A reply with no empathy at all (the scorer's base, 5) is weak, not a blocker.
        let mut neutral = replies.clone();
        neutral[0][0] = s("empathy", 5.0, "0", "");
        assert!(grade(&spec, &neutral, None).blockers.is_empty());
    }
}
