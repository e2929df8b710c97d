//! What a scorer looks at and what it returns, as plain data.
//!
//! These mirror the records of `plugins/wit/scorer.wit` so that the dialogue
//! engine, the web app and batch scoring can pass turns and scores around
//! without depending on the WebAssembly host.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Language of a conversation; also the language coaching tips are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Zh,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }

    /// Chinese when at least a fifth of the letters are CJK ideographs, else
    /// English. Deterministic and good enough for the two languages sparring
    /// serves; a mostly-English reply with one Chinese name stays English.
    pub fn detect(text: &str) -> Language {
        let (mut cjk, mut letters) = (0usize, 0usize);
        for c in text.chars() {
            if is_cjk(c) {
                cjk += 1;
                letters += 1;
            } else if c.is_alphabetic() {
                letters += 1;
            }
        }
        // Latin letters come in words of ~5; weigh ideographs accordingly.
        if cjk > 0 && cjk * 5 >= (letters - cjk) {
            Language::Zh
        } else {
            Language::En
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// True for CJK unified ideographs (the characters Chinese text is made of).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF)
}

/// The standard's junior work areas; scorers weigh skills differently per area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    Inbound,
    Outbound,
    Telesales,
    Complaint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    Agent,
    Customer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub speaker: Speaker,
    pub text: String,
}

/// One mood dimension of the persona (anger, trust, patience…), 0–100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoodValue {
    pub name: String,
    pub value: f32,
}

/// How a spoken reply sounded (from the audio and its transcription).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechFeatures {
    pub duration_ms: u32,
    /// Characters per minute for Chinese, words per minute for English.
    pub rate_per_minute: f32,
    pub longest_pause_ms: u32,
    /// Filler words ("嗯", "那个", "um", "uh").
    pub fillers: u32,
    /// Mean loudness in dBFS.
    pub loudness_dbfs: f32,
}

/// Everything a scorer may look at to rate one agent reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnContext {
    pub language: Language,
    pub scenario: ScenarioKind,
    #[serde(default)]
    pub persona_summary: String,
    #[serde(default)]
    pub mood: Vec<MoodValue>,
    /// The conversation before the reply, oldest first.
    #[serde(default)]
    pub history: Vec<Turn>,
    /// The agent reply being scored.
    pub reply: String,
    /// Present when the reply was spoken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech: Option<SpeechFeatures>,
}

/// A quoted part of an agent's words, as byte offsets into that text's UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// For session scores: index of the quoted agent turn in the transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
    pub start: u32,
    pub end: u32,
    pub quote: String,
}

/// One dimension's rating of a reply (or a whole session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub dimension: String,
    pub skill_code: String,
    /// 0–100.
    pub value: f32,
    /// "0" (not shown), "1" (partly), "2" (well).
    pub level: String,
    pub evidence: Vec<Span>,
    /// One short coaching sentence in the conversation's language.
    pub tip: String,
}

impl Score {
    /// The level as a number, when it is one of the standard labels.
    pub fn level_number(&self) -> Option<u8> {
        match self.level.as_str() {
            "0" => Some(0),
            "1" => Some(1),
            "2" => Some(2),
            _ => None,
        }
    }
}

/// The value of a condition name about one reply's scores: `score.DIMENSION`
/// (0–100) or `level.DIMENSION` (0/1/2); `None` for other names or a
/// dimension not scored.
pub fn score_variable(scores: &[Score], name: &str) -> Option<f64> {
    let find = |d: &str| scores.iter().find(|s| s.dimension == d);
    if let Some(d) = name.strip_prefix("score.") {
        return find(d).map(|s| s.value as f64);
    }
    if let Some(d) = name.strip_prefix("level.") {
        return find(d).and_then(|s| s.level_number()).map(f64::from);
    }
    None
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionInfo {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub skill_codes: Vec<String>,
}

/// What a scorer says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub dimensions: Vec<DimensionInfo>,
    /// JSON Schema of the configuration the plugin accepts.
    pub config_schema: String,
}

/// A whole conversation, for session-level scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub language: Language,
    pub scenario: ScenarioKind,
    #[serde(default)]
    pub persona_summary: String,
    pub turns: Vec<Turn>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_language() {
        assert_eq!(Language::detect("非常抱歉给您带来不便"), Language::Zh);
        assert_eq!(Language::detect("I'm so sorry about that."), Language::En);
        assert_eq!(
            Language::detect("您的 WiFi 路由器需要重启一下"),
            Language::Zh
        );
        assert_eq!(
            Language::detect("Please ask for Mr 王 at the front desk tomorrow morning."),
            Language::En
        );
        assert_eq!(Language::detect(""), Language::En);
    }
}
