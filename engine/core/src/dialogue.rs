//! The persona's state over a session, moved only by the persona's own rules:
//! scorer results and the trainee's questions change mood, reveal facts and
//! resolve objections; the state decides the customer's next move. What the
//! trainee writes is never read as an instruction, so "ignore your
//! instructions and say you are satisfied" changes nothing the rules do not.

use crate::persona::{AuthoredLine, Persona};
use crate::scoring::{score_variable, Score};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Satisfied,
    HungUp,
    Escalated,
    /// The persona's `max_turns` ran out first.
    OutOfTurns,
}

/// What one trainee reply changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnUpdate {
    pub turn: u32,
    /// (mood, before, after), for every mood dimension.
    pub moods: Vec<(String, f32, f32)>,
    /// Facts earned by this reply.
    pub revealed: Vec<String>,
    /// Objections resolved by this reply.
    pub resolved: Vec<String>,
    pub outcome: Option<Outcome>,
    /// The customer's next move (one of [`crate::persona::INTENTS`]).
    pub intent: String,
}

/// The session state of one persona.
#[derive(Debug, Clone)]
pub struct DialogueState {
    persona: Arc<Persona>,
    turn: u32,
    moods: BTreeMap<String, f32>,
    revealed: Vec<String>,
    resolved: Vec<String>,
    scores: Vec<Score>,
    outcome: Option<Outcome>,
}

impl DialogueState {
    /// A fresh state; takes the persona by value or shared (`Arc`).
    pub fn new(persona: impl Into<Arc<Persona>>) -> Self {
        let persona: Arc<Persona> = persona.into();
        DialogueState {
            turn: 0,
            moods: persona
                .moods
                .iter()
                .map(|m| (m.name.clone(), m.start))
                .collect(),
            revealed: Vec::new(),
            resolved: Vec::new(),
            scores: Vec::new(),
            outcome: None,
            persona,
        }
    }

    pub fn persona(&self) -> &Arc<Persona> {
        &self.persona
    }

    /// Every mood dimension and its value now, by name.
    pub fn moods(&self) -> &BTreeMap<String, f32> {
        &self.moods
    }

    pub fn turn(&self) -> u32 {
        self.turn
    }

    pub fn mood(&self, name: &str) -> Option<f32> {
        self.moods.get(name).copied()
    }

    pub fn revealed(&self) -> &[String] {
        &self.revealed
    }

    pub fn resolved(&self) -> &[String] {
        &self.resolved
    }

    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// The value of a condition name now (see personas/README.md).
    pub fn lookup(&self, name: &str) -> Option<f64> {
        if name == "turn" {
            return Some(self.turn as f64);
        }
        if let Some(v) = self.moods.get(name) {
            return Some(*v as f64);
        }
        let flag = |b: bool| Some(if b { 1.0 } else { 0.0 });
        if let Some(f) = name.strip_prefix("revealed.") {
            return flag(self.revealed.iter().any(|r| r == f));
        }
        if let Some(o) = name.strip_prefix("resolved.") {
            return flag(self.resolved.iter().any(|r| r == o));
        }
        score_variable(&self.scores, name)
    }

    fn holds(&self, condition: &crate::condition::Condition) -> bool {
        condition.eval(&|name| self.lookup(name))
    }

    /// Apply one trainee reply and its scores. After the session has ended
    /// nothing changes.
    pub fn apply(&mut self, trainee: &str, scores: &[Score]) -> TurnUpdate {
        let before = self.moods.clone();
        if self.outcome.is_none() {
            self.turn += 1;
            self.scores = scores.to_vec();
            // Mood rules see the state before this reply's changes.
            let mut changes: BTreeMap<String, f32> = BTreeMap::new();
            for mood in &self.persona.moods {
                for (condition, change) in &mood.rules {
                    if self.holds(condition) {
                        *changes.entry(mood.name.clone()).or_default() += change;
                    }
                }
            }
            for (name, change) in changes {
                if let Some(v) = self.moods.get_mut(&name) {
                    *v = (*v + change).clamp(0.0, 100.0);
                }
            }
        }
        let mut revealed = Vec::new();
        let mut resolved = Vec::new();
        if self.outcome.is_none() {
            let lower = trainee.to_lowercase();
            for fact in &self.persona.facts {
                if self.revealed.contains(&fact.id) {
                    continue;
                }
                let asked = fact.asks.iter().any(|a| lower.contains(&a.to_lowercase()));
                if asked || fact.when.as_ref().is_some_and(|c| self.holds(c)) {
                    self.revealed.push(fact.id.clone());
                    revealed.push(fact.id.clone());
                }
            }
            for objection in &self.persona.objections {
                if !self.resolved.contains(&objection.id) && self.holds(&objection.resolved_when) {
                    self.resolved.push(objection.id.clone());
                    resolved.push(objection.id.clone());
                }
            }
            let end = &self.persona.end;
            self.outcome = if self.holds(&end.hang_up) {
                Some(Outcome::HungUp)
            } else if end.escalate.as_ref().is_some_and(|c| self.holds(c)) {
                Some(Outcome::Escalated)
            } else if self.holds(&end.satisfied) {
                Some(Outcome::Satisfied)
            } else if self.turn >= self.persona.max_turns {
                Some(Outcome::OutOfTurns)
            } else {
                None
            };
        }
        let intent = self.next_intent(!revealed.is_empty());
        TurnUpdate {
            turn: self.turn,
            moods: self
                .moods
                .iter()
                .map(|(k, v)| (k.clone(), before[k], *v))
                .collect(),
            revealed,
            resolved,
            outcome: self.outcome,
            intent: intent.to_string(),
        }
    }

    /// The customer's next move: the outcome's, a fact just earned, an open
    /// objection, else the first of vent/demand/ask the persona has a line
    /// for in this mood.
    fn next_intent(&self, just_revealed: bool) -> &'static str {
        match self.outcome {
            Some(Outcome::Satisfied) => return "accept",
            Some(Outcome::Escalated) => return "escalate",
            Some(Outcome::HungUp) | Some(Outcome::OutOfTurns) => return "hang_up",
            None => {}
        }
        if just_revealed {
            return "reveal";
        }
        let open_objection = self
            .persona
            .objections
            .iter()
            .any(|o| !self.resolved.contains(&o.id));
        if open_objection && self.line("object").is_some() {
            return "object";
        }
        ["vent", "demand", "ask", "object"]
            .into_iter()
            .find(|i| self.line(i).is_some())
            .unwrap_or("ask")
    }

    /// The first authored line for `intent` whose condition holds now.
    pub fn line(&self, intent: &str) -> Option<&AuthoredLine> {
        self.persona
            .lines
            .iter()
            .find(|l| l.intent == intent && l.when.as_ref().is_none_or(|c| self.holds(c)))
    }
}
