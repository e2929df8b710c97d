//! Persona files: the customer an instructor defines and a trainee must earn
//! their way through. See `personas/README.md` for the format.
//!
//! Loading checks everything a session will rely on, and every error names
//! the file, the line and the field, so an instructor can fix it.

use crate::condition::Condition;
use crate::scorecard::{Blocker, ScorecardSpec};
use crate::scoring::{Language, ScenarioKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Moves the dialogue manager can make; authored lines are filed under them.
pub const INTENTS: &[&str] = &[
    "open", "vent", "demand", "object", "ask", "reveal", "accept", "escalate", "hang_up",
];

/// A persona file could not be used.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonaError {
    pub file: PathBuf,
    pub line: usize,
    /// The field, as a path (`facts[1].when`), when known.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for PersonaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PersonaError {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: Spanned<String>,
    name: String,
    language: Language,
    scenario: ScenarioKind,
    skills: Spanned<Vec<String>>,
    difficulty: Spanned<u8>,
    summary: String,
    profile: String,
    #[serde(default)]
    backstory: String,
    goal: String,
    opening: Spanned<String>,
    #[serde(default)]
    style: String,
    max_turns: Spanned<u32>,
    mood: BTreeMap<String, RawMood>,
    #[serde(default)]
    facts: Vec<RawFact>,
    #[serde(default)]
    objections: Vec<RawObjection>,
    end: RawEnd,
    #[serde(default)]
    lines: Vec<RawLine>,
    #[serde(default)]
    scorecard: Option<RawScorecard>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScorecard {
    #[serde(default)]
    weights: Option<Spanned<BTreeMap<String, f32>>>,
    #[serde(default)]
    pass_mark: Option<Spanned<f32>>,
    #[serde(default)]
    tiers: Option<Spanned<BTreeMap<String, f32>>>,
    #[serde(default)]
    blockers: Option<Vec<RawBlocker>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlocker {
    when: Spanned<String>,
    reason_zh: String,
    reason_en: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMood {
    start: Spanned<f32>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    when: Spanned<String>,
    change: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFact {
    id: Spanned<String>,
    text: String,
    /// Trainee phrases that earn the fact.
    #[serde(default)]
    asks: Vec<String>,
    /// Or a condition that earns it.
    #[serde(default)]
    when: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjection {
    id: Spanned<String>,
    text: String,
    resolved_when: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnd {
    satisfied: Spanned<String>,
    hang_up: Spanned<String>,
    #[serde(default)]
    escalate: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    intent: Spanned<String>,
    #[serde(default)]
    when: Option<Spanned<String>>,
    text: String,
}

/// One mood dimension: where it starts and what moves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mood {
    pub name: String,
    pub start: f32,
    pub rules: Vec<(Condition, f32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub id: String,
    pub text: String,
    pub asks: Vec<String>,
    pub when: Option<Condition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Objection {
    pub id: String,
    pub text: String,
    pub resolved_when: Condition,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EndConditions {
    pub satisfied: Condition,
    pub hang_up: Condition,
    pub escalate: Option<Condition>,
}

/// An authored customer line for an intent, used when its condition holds.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthoredLine {
    pub intent: String,
    pub when: Option<Condition>,
    pub text: String,
}

/// A checked persona.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    pub path: PathBuf,
    pub id: String,
    pub name: String,
    pub language: Language,
    pub scenario: ScenarioKind,
    pub skills: Vec<String>,
    pub difficulty: u8,
    /// What scorers are told about the customer.
    pub summary: String,
    pub profile: String,
    pub backstory: String,
    pub goal: String,
    pub opening: String,
    pub style: String,
    pub max_turns: u32,
    pub moods: Vec<Mood>,
    pub facts: Vec<Fact>,
    pub objections: Vec<Objection>,
    pub end: EndConditions,
    pub lines: Vec<AuthoredLine>,
    /// How the session is graded (the scenario's defaults unless overridden).
    pub scorecard: ScorecardSpec,
}

/// `score.DIMENSION` or `level.DIMENSION`: names about a reply's scores.
fn is_score_name(name: &str) -> bool {
    ["score.", "level."]
        .iter()
        .any(|p| name.strip_prefix(p).is_some_and(|d| !d.is_empty()))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Persona {
    pub fn load(path: &Path) -> Result<Persona, PersonaError> {
        let text = std::fs::read_to_string(path).map_err(|e| PersonaError {
            file: path.to_path_buf(),
            line: 1,
            field: None,
            message: e.to_string(),
        })?;
        Persona::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Persona, PersonaError> {
        let error = |span: Range<usize>, field: &str, message: String| PersonaError {
            file: path.to_path_buf(),
            line: line_of(text, span.start),
            field: (!field.is_empty()).then(|| field.to_string()),
            message,
        };
        let raw: Raw = toml::from_str(text)
            .map_err(|e| error(e.span().unwrap_or(0..0), "", e.message().trim().to_string()))?;

        let id = raw.id.get_ref();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(error(
                raw.id.span(),
                "id",
                format!("`{id}`: use lowercase letters, digits and `-`"),
            ));
        }
        if !(1..=5).contains(raw.difficulty.get_ref()) {
            return Err(error(
                raw.difficulty.span(),
                "difficulty",
                "must be 1 to 5".into(),
            ));
        }
        if raw.skills.get_ref().is_empty()
            || raw.skills.get_ref().iter().any(|s| {
                s.split('.').count() != 3 || !s.split('.').all(|p| p.parse::<u8>().is_ok())
            })
        {
            return Err(error(
                raw.skills.span(),
                "skills",
                "list the standard's skill codes, like \"4.3.2\"".into(),
            ));
        }
        if raw.opening.get_ref().trim().is_empty() {
            return Err(error(raw.opening.span(), "opening", "is empty".into()));
        }
        if *raw.max_turns.get_ref() == 0 {
            return Err(error(
                raw.max_turns.span(),
                "max_turns",
                "must be at least 1".into(),
            ));
        }
        if raw.mood.is_empty() {
            return Err(error(
                0..0,
                "mood",
                "define at least one mood dimension, e.g. [mood.anger]".into(),
            ));
        }

        let fact_ids: Vec<&str> = raw.facts.iter().map(|f| f.id.get_ref().as_str()).collect();
        let objection_ids: Vec<&str> = raw
            .objections
            .iter()
            .map(|o| o.id.get_ref().as_str())
            .collect();
        let moods: Vec<&str> = raw.mood.keys().map(String::as_str).collect();
        // Checks one condition: it parses and reads only what a session has.
        let condition = |spanned: &Spanned<String>,
                         field: &str|
         -> Result<Condition, PersonaError> {
            let c = Condition::parse(spanned.get_ref())
                .map_err(|e| error(spanned.span(), field, e.to_string()))?;
            for v in c.variables() {
                let known = v == "turn"
                    || moods.contains(&v)
                    || is_score_name(v)
                    || v.strip_prefix("revealed.")
                        .is_some_and(|f| fact_ids.contains(&f))
                    || v.strip_prefix("resolved.")
                        .is_some_and(|o| objection_ids.contains(&o));
                if !known {
                    return Err(error(
                        spanned.span(),
                        field,
                        format!(
                            "unknown name `{v}`: use turn, a mood ({}), score.DIMENSION, level.DIMENSION, revealed.FACT or resolved.OBJECTION",
                            moods.join(", ")
                        ),
                    ));
                }
            }
            Ok(c)
        };

        let mut mood_list = Vec::new();
        for (name, m) in &raw.mood {
            if !(0.0..=100.0).contains(m.start.get_ref()) {
                return Err(error(
                    m.start.span(),
                    &format!("mood.{name}.start"),
                    "must be within 0-100".into(),
                ));
            }
            let mut rules = Vec::new();
            for (i, r) in m.rules.iter().enumerate() {
                rules.push((
                    condition(&r.when, &format!("mood.{name}.rules[{i}].when"))?,
                    r.change,
                ));
            }
            mood_list.push(Mood {
                name: name.clone(),
                start: *m.start.get_ref(),
                rules,
            });
        }

        let duplicate = |ids: &[&str], i: usize| ids[..i].contains(&ids[i]);
        let mut facts = Vec::new();
        for (i, f) in raw.facts.iter().enumerate() {
            if duplicate(&fact_ids, i) {
                return Err(error(
                    f.id.span(),
                    &format!("facts[{i}].id"),
                    format!("`{}` is used twice", f.id.get_ref()),
                ));
            }
            if f.asks.is_empty() && f.when.is_none() {
                return Err(error(
                    f.id.span(),
                    &format!("facts[{i}]"),
                    "say how it is earned: `asks` (trainee phrases) and/or `when` (a condition)"
                        .into(),
                ));
            }
            facts.push(Fact {
                id: f.id.get_ref().clone(),
                text: f.text.clone(),
                asks: f.asks.clone(),
                when: f
                    .when
                    .as_ref()
                    .map(|w| condition(w, &format!("facts[{i}].when")))
                    .transpose()?,
            });
        }
        let mut objections = Vec::new();
        for (i, o) in raw.objections.iter().enumerate() {
            if duplicate(&objection_ids, i) {
                return Err(error(
                    o.id.span(),
                    &format!("objections[{i}].id"),
                    format!("`{}` is used twice", o.id.get_ref()),
                ));
            }
            objections.push(Objection {
                id: o.id.get_ref().clone(),
                text: o.text.clone(),
                resolved_when: condition(
                    &o.resolved_when,
                    &format!("objections[{i}].resolved_when"),
                )?,
            });
        }
        let end = EndConditions {
            satisfied: condition(&raw.end.satisfied, "end.satisfied")?,
            hang_up: condition(&raw.end.hang_up, "end.hang_up")?,
            escalate: raw
                .end
                .escalate
                .as_ref()
                .map(|c| condition(c, "end.escalate"))
                .transpose()?,
        };
        let mut lines = Vec::new();
        for (i, l) in raw.lines.iter().enumerate() {
            if !INTENTS.contains(&l.intent.get_ref().as_str()) {
                return Err(error(
                    l.intent.span(),
                    &format!("lines[{i}].intent"),
                    format!(
                        "`{}` is not one of {}",
                        l.intent.get_ref(),
                        INTENTS.join(", ")
                    ),
                ));
            }
            lines.push(AuthoredLine {
                intent: l.intent.get_ref().clone(),
                when: l
                    .when
                    .as_ref()
                    .map(|w| condition(w, &format!("lines[{i}].when")))
                    .transpose()?,
                text: l.text.clone(),
            });
        }

        let mut scorecard = ScorecardSpec::default_for(raw.scenario);
        if let Some(sc) = &raw.scorecard {
            let in_range = |v: f32| (0.0..=100.0).contains(&v);
            if let Some(w) = &sc.weights {
                if w.get_ref().is_empty()
                    || w.get_ref().values().any(|v| *v < 0.0)
                    || w.get_ref().values().sum::<f32>() <= 0.0
                {
                    return Err(error(
                        w.span(),
                        "scorecard.weights",
                        "give each dimension a weight of 0 or more, not all 0".into(),
                    ));
                }
                scorecard.weights = w.get_ref().iter().map(|(k, v)| (k.clone(), *v)).collect();
            }
            if let Some(p) = &sc.pass_mark {
                if !in_range(*p.get_ref()) {
                    return Err(error(
                        p.span(),
                        "scorecard.pass_mark",
                        "must be within 0-100".into(),
                    ));
                }
                scorecard.pass_mark = *p.get_ref();
            }
            if let Some(t) = &sc.tiers {
                if t.get_ref().values().any(|v| !in_range(*v)) {
                    return Err(error(
                        t.span(),
                        "scorecard.tiers",
                        "tier marks must be within 0-100".into(),
                    ));
                }
                let mut tiers: Vec<(String, f32)> =
                    t.get_ref().iter().map(|(k, v)| (k.clone(), *v)).collect();
                tiers.sort_by(|a, b| b.1.total_cmp(&a.1));
                scorecard.tiers = tiers;
            }
            if let Some(bs) = &sc.blockers {
                let mut blockers = Vec::new();
                for (i, b) in bs.iter().enumerate() {
                    let field = format!("scorecard.blockers[{i}].when");
                    let when = Condition::parse(b.when.get_ref())
                        .map_err(|e| error(b.when.span(), &field, e.to_string()))?;
                    if let Some(v) = when.variables().into_iter().find(|v| !is_score_name(v)) {
                        return Err(error(
                            b.when.span(),
                            &field,
                            format!("unknown name `{v}`: blockers look at one reply's score.DIMENSION and level.DIMENSION"),
                        ));
                    }
                    blockers.push(Blocker {
                        when,
                        reason_zh: b.reason_zh.clone(),
                        reason_en: b.reason_en.clone(),
                    });
                }
                scorecard.blockers = blockers;
            }
        }

        Ok(Persona {
            path: path.to_path_buf(),
            id: id.clone(),
            name: raw.name,
            language: raw.language,
            scenario: raw.scenario,
            skills: raw.skills.into_inner(),
            difficulty: raw.difficulty.into_inner(),
            summary: raw.summary,
            profile: raw.profile,
            backstory: raw.backstory,
            goal: raw.goal,
            opening: raw.opening.into_inner(),
            style: raw.style,
            max_turns: raw.max_turns.into_inner(),
            moods: mood_list,
            facts,
            objections,
            end,
            lines,
            scorecard,
        })
    }
}
