//! Recorded or typed call transcripts, for batch scoring, in three formats:
//!
//! - JSONL ([`parse_jsonl`]): one whole call or one turn per line; the schema
//!   is `engine/core/transcript.schema.json`.
//! - CSV ([`parse_csv`]): a header row naming `call_id`, `speaker`, `text`
//!   and optionally `timestamp`, `agent_id`, `language`, `scenario`; one turn
//!   per record, grouped by `call_id` like JSONL turn rows.
//! - Plain text ([`parse_text`]): one call per file, each turn starting with a
//!   speaker prefix such as `客服：` or `Customer:` ([`TextOptions`]).
//!
//! [`Format`] tells them apart by file name or content.
//!
//! All three build calls the same way. Speakers are `agent` or `customer` (any
//! case), or `客服`/`坐席` (agent) and `客户` (customer). A call's language,
//! when not given, is detected from its agent turns; its scenario defaults to
//! inbound; a call without an agent turn is an error. Parsing never stops at a
//! bad line: it is reported with its 1-based line number and the field at
//! fault, and the rest still parse.

mod csv;
mod format;
mod jsonl;
mod text;

pub use self::csv::parse_csv;
pub use self::format::{Format, EXTENSIONS};
pub use self::jsonl::parse_jsonl;
pub use self::text::{parse_text, TextOptions};

use crate::scoring::{Language, ScenarioKind, Speaker, Turn};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// Longest line (a CSV record, however many lines it spans) accepted, in bytes (1 MiB).
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Longest turn text accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;

/// One call, ready to score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub call_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// As given, else detected from the agent's turns.
    pub language: Language,
    /// As given, else inbound.
    pub scenario: ScenarioKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Oldest first; at least one is the agent's.
    pub turns: Vec<Turn>,
    /// 1-based line where the call (or its first turn row) is.
    pub first_line: usize,
}

/// A line that could not be used, and why: `line 7: turns[2].speaker: …`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// 1-based.
    pub line: usize,
    /// Starts with the field at fault, where there is one.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LineError {}

/// `agent`/`customer` in any case, or the Chinese names of the two roles.
pub fn parse_speaker(s: &str) -> Option<Speaker> {
    match s {
        "客服" | "坐席" => Some(Speaker::Agent),
        "客户" => Some(Speaker::Customer),
        _ if s.eq_ignore_ascii_case("agent") => Some(Speaker::Agent),
        _ if s.eq_ignore_ascii_case("customer") => Some(Speaker::Customer),
        _ => None,
    }
}

/// A `speaker` field; `path` prefixes the field name in messages (`turns[2].`).
fn speaker_field(s: &str, path: &str) -> Result<Speaker, String> {
    parse_speaker(s)
        .ok_or_else(|| format!("{path}speaker: unknown speaker {s:?} (use agent or customer)"))
}

/// A turn's text must be non-blank and at most [`MAX_TEXT_CHARS`] characters.
fn check_text(text: &str, path: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "{path}text: {chars} characters, over the {MAX_TEXT_CHARS}-character limit"
        ));
    }
    if text.trim().is_empty() {
        return Err(format!("{path}text: empty"));
    }
    Ok(())
}

fn check_call_id(call_id: &str) -> Result<(), String> {
    match call_id.trim().is_empty() {
        true => Err("call_id: empty".into()),
        false => Ok(()),
    }
}

fn parse_language(s: &str) -> Result<Language, String> {
    match s {
        "zh" => Ok(Language::Zh),
        "en" => Ok(Language::En),
        _ => Err(format!("language: unknown language {s:?} (use zh or en)")),
    }
}

fn parse_scenario(s: &str) -> Result<ScenarioKind, String> {
    match s {
        "inbound" => Ok(ScenarioKind::Inbound),
        "outbound" => Ok(ScenarioKind::Outbound),
        "telesales" => Ok(ScenarioKind::Telesales),
        "complaint" => Ok(ScenarioKind::Complaint),
        _ => Err(format!(
            "scenario: unknown scenario {s:?} (use inbound, outbound, telesales or complaint)"
        )),
    }
}

/// A call's metadata, as far as one line gives it.
#[derive(Default)]
struct Meta {
    agent_id: Option<String>,
    language: Option<Language>,
    scenario: Option<ScenarioKind>,
    timestamp: Option<String>,
}

impl Meta {
    /// Keep what is already known; take the rest from `later`.
    fn fill_from(&mut self, later: Meta) {
        self.agent_id = self.agent_id.take().or(later.agent_id);
        self.language = self.language.or(later.language);
        self.scenario = self.scenario.or(later.scenario);
        self.timestamp = self.timestamp.take().or(later.timestamp);
    }
}

/// A call being assembled.
struct Pending {
    call_id: String,
    first_line: usize,
    /// Given whole on one line (rather than as turn rows).
    whole: bool,
    meta: Meta,
    turns: Vec<Turn>,
}

/// Collects whole calls and turn rows, in any mix, into [`Call`]s; every
/// format goes through here so that they all group, default and fail alike.
#[derive(Default)]
struct Assembler {
    pending: Vec<Pending>,
    by_id: HashMap<String, usize>,
    errors: Vec<LineError>,
}

impl Assembler {
    fn error(&mut self, line: usize, message: String) {
        self.errors.push(LineError { line, message });
    }

    /// A whole call given on `line`.
    fn add_call(&mut self, line: usize, call_id: String, meta: Meta, turns: Vec<Turn>) {
        if let Some(&k) = self.by_id.get(&call_id) {
            let first = &self.pending[k];
            let message = match first.whole {
                true => format!(
                    "call_id: duplicate call {call_id:?} (first given on line {})",
                    first.first_line
                ),
                false => format!(
                    "call_id: call {call_id:?} already has turn rows from line {}; \
                     give a call either whole or as turn rows",
                    first.first_line
                ),
            };
            self.error(line, message);
            return;
        }
        self.by_id.insert(call_id.clone(), self.pending.len());
        self.pending.push(Pending {
            call_id,
            first_line: line,
            whole: true,
            meta,
            turns,
        });
    }

    /// One turn of `call_id`, given on `line`.
    fn add_turn(&mut self, line: usize, call_id: String, meta: Meta, turn: Turn) {
        match self.by_id.get(&call_id) {
            Some(&k) if self.pending[k].whole => {
                let message = format!(
                    "call_id: call {call_id:?} was given whole on line {}; \
                     give a call either whole or as turn rows",
                    self.pending[k].first_line
                );
                self.error(line, message);
            }
            Some(&k) => {
                let p = &mut self.pending[k];
                p.meta.fill_from(meta);
                p.turns.push(turn);
            }
            None => {
                self.by_id.insert(call_id.clone(), self.pending.len());
                self.pending.push(Pending {
                    call_id,
                    first_line: line,
                    whole: false,
                    meta,
                    turns: vec![turn],
                });
            }
        }
    }

    /// The calls in the order of their first line, and the errors sorted by line.
    fn finish(self) -> (Vec<Call>, Vec<LineError>) {
        let Assembler {
            pending,
            mut errors,
            ..
        } = self;
        let mut calls = Vec::with_capacity(pending.len());
        for p in pending {
            let agent: Vec<&str> = p
                .turns
                .iter()
                .filter(|t| t.speaker == Speaker::Agent)
                .map(|t| t.text.as_str())
                .collect();
            if agent.is_empty() {
                errors.push(LineError {
                    line: p.first_line,
                    message: format!(
                        "turns: call {:?} has no agent turn (nothing to score)",
                        p.call_id
                    ),
                });
                continue;
            }
            let language = p
                .meta
                .language
                .unwrap_or_else(|| Language::detect(&agent.join("\n")));
            calls.push(Call {
                call_id: p.call_id,
                agent_id: p.meta.agent_id,
                language,
                scenario: p.meta.scenario.unwrap_or(ScenarioKind::Inbound),
                timestamp: p.meta.timestamp,
                turns: p.turns,
                first_line: p.first_line,
            });
        }
        errors.sort_by_key(|e| e.line);
        (calls, errors)
    }
}

/// Builders the format parsers' tests share.
#[cfg(test)]
mod testing {
    use super::LineError;
    use crate::scoring::{Speaker, Turn};

    pub fn agent(text: &str) -> Turn {
        Turn {
            speaker: Speaker::Agent,
            text: text.into(),
        }
    }

    pub fn customer(text: &str) -> Turn {
        Turn {
            speaker: Speaker::Customer,
            text: text.into(),
        }
    }

    pub fn messages(errors: &[LineError]) -> Vec<String> {
        errors.iter().map(|e| e.to_string()).collect()
    }
}
