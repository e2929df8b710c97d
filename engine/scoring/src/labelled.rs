//! Replies with expectations, read from JSONL: plugin test cases
//! (`sparring plugin test`) and human-labelled evaluation sets (`sparring
//! eval`) share one format.
//!
//! One JSON object per line: the turn context (`language`, `scenario`,
//! optional `persona_summary`, `mood`, `history`, `speech`) and `reply`, plus what is
//! expected: `level` (0, 1 or 2) and/or `min`/`max` (value range), and
//! optionally `dimension` (which score to check), `id` or `name`, `split`.
//! Other fields (e.g. `rationale`) are ignored.

use serde::Deserialize;
use sparring_core::scoring::{
    Language, MoodValue, ScenarioKind, SpeechFeatures, Turn, TurnContext,
};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct LabelledReply {
    /// `id`, `name`, or `FILE:LINE` when neither is given.
    pub id: String,
    pub dimension: Option<String>,
    pub ctx: TurnContext,
    pub level: Option<u8>,
    pub min: Option<f32>,
    pub max: Option<f32>,
    pub split: Option<String>,
}

/// A line that could not be read; the others still are.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    dimension: Option<String>,
    language: Language,
    scenario: ScenarioKind,
    #[serde(default)]
    persona_summary: String,
    #[serde(default)]
    mood: Vec<MoodValue>,
    #[serde(default)]
    history: Vec<Turn>,
    reply: String,
    #[serde(default)]
    speech: Option<SpeechFeatures>,
    #[serde(default)]
    level: Option<u8>,
    #[serde(default)]
    min: Option<f32>,
    #[serde(default)]
    max: Option<f32>,
    #[serde(default)]
    split: Option<String>,
}

/// Read a JSONL file. Blank lines and lines starting with `//` are skipped;
/// a bad line becomes a [`LineError`] and reading goes on.
pub fn read_jsonl(path: &Path) -> std::io::Result<(Vec<LabelledReply>, Vec<LineError>)> {
    let text = std::fs::read_to_string(path)?;
    Ok(parse_jsonl(path, &text))
}

pub fn parse_jsonl(path: &Path, text: &str) -> (Vec<LabelledReply>, Vec<LineError>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let error = |message: String| LineError {
            file: path.to_path_buf(),
            line: line_no,
            message,
        };
        let raw: Raw = match serde_json::from_str(trimmed) {
            Ok(r) => r,
            Err(e) => {
                errors.push(error(e.to_string()));
                continue;
            }
        };
        if raw.level.is_some_and(|l| l > 2) {
            errors.push(error("level must be 0, 1 or 2".into()));
            continue;
        }
        if raw.level.is_none() && raw.min.is_none() && raw.max.is_none() {
            errors.push(error("no expectation: give `level`, `min` or `max`".into()));
            continue;
        }
        items.push(LabelledReply {
            id: raw
                .id
                .or(raw.name)
                .unwrap_or_else(|| format!("{}:{line_no}", path.display())),
            dimension: raw.dimension,
            ctx: TurnContext {
                language: raw.language,
                scenario: raw.scenario,
                persona_summary: raw.persona_summary,
                mood: raw.mood,
                history: raw.history,
                reply: raw.reply,
                speech: raw.speech,
            },
            level: raw.level,
            min: raw.min,
            max: raw.max,
            split: raw.split,
        });
    }
    (items, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_and_skipped() {
        let text = concat!(
            r#"{"id":"a","language":"en","scenario":"complaint","reply":"Sorry!","level":1}"#,
            "\n\n{not json}\n",
            r#"{"language":"fr","scenario":"complaint","reply":"x","level":1}"#,
            "\n",
            r#"{"language":"zh","scenario":"inbound","reply":"好的","level":3}"#,
            "\n",
            r#"{"language":"zh","scenario":"inbound","reply":"好的","min":10,"rationale":"ignored"}"#,
        );
        let (items, errors) = parse_jsonl(Path::new("cases.jsonl"), text);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].id, "cases.jsonl:6");
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(errors[1]
            .to_string()
            .starts_with("cases.jsonl:4: unknown variant `fr`"));
    }
}
