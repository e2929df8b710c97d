//! Checks on every customer line the model writes, before a trainee sees it:
//! small models slip into the agent's role, switch language, ramble, recite
//! their instructions, blurt out facts the trainee has not earned, or repeat
//! themselves. A line that fails is regenerated (a bounded number of times)
//! and then replaced by an authored line.

use crate::persona::Persona;
use crate::scoring::Language;
use serde::Serialize;

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rejection {
    Empty,
    /// Talks as the agent (a speaker label, or an agent's stock phrase).
    AgentVoice {
        phrase: String,
    },
    WrongLanguage {
        expected: Language,
    },
    TooLong {
        length: usize,
        limit: usize,
    },
    /// Mentions its instructions or the role-play.
    LeaksInstructions {
        phrase: String,
    },
    /// Says a hidden fact the trainee has not earned.
    LeaksFact {
        fact: String,
    },
    /// Too close to an earlier customer line.
    Repeats {
        similarity_percent: u32,
    },
}

/// Length limits: characters for Chinese, words for English.
pub const MAX_ZH_CHARS: usize = 120;
pub const MAX_EN_WORDS: usize = 70;

const AGENT_PHRASES: &[&str] = &[
    "客服：",
    "客服:",
    "agent:",
    "assistant:",
    "有什么可以帮您",
    "有什么可以帮到您",
    "请问还有什么",
    "感谢您的来电",
    "how may i help",
    "how can i help you",
    "thank you for calling",
    "is there anything else i can help",
];

/// Phrases only a model talking about its own set-up would write (kept
/// narrow: "I followed the instructions" or 隐藏费用 are ordinary complaints).
const LEAK_PHRASES: &[&str] = &[
    "persona",
    "my instructions",
    "your instructions",
    "system prompt",
    "role-play",
    "roleplay",
    "as an ai",
    "language model",
    "hidden fact",
    "角色设定",
    "我的设定",
    "提示词",
    "系统指令",
    "扮演",
    "人工智能",
    "语言模型",
];

/// Character trigrams (whitespace and punctuation dropped, lowercased).
fn trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let mut grams: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    grams.sort();
    grams.dedup();
    grams
}

/// Share of `a`'s trigrams found in `b` (0–1).
fn containment(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    let hits = a.iter().filter(|g| b.binary_search(g).is_ok()).count();
    hits as f64 / a.len() as f64
}

/// Check `line` for `persona`, given the facts already earned and the
/// customer's earlier lines.
pub fn check(
    persona: &Persona,
    line: &str,
    revealed: &[String],
    earlier: &[String],
) -> Result<(), Rejection> {
    let text = line.trim();
    if text.is_empty() {
        return Err(Rejection::Empty);
    }
    let lower = text.to_lowercase();
    if let Some(p) = AGENT_PHRASES.iter().find(|p| lower.contains(*p)) {
        return Err(Rejection::AgentVoice {
            phrase: p.to_string(),
        });
    }
    if let Some(p) = LEAK_PHRASES.iter().find(|p| lower.contains(*p)) {
        return Err(Rejection::LeaksInstructions {
            phrase: p.to_string(),
        });
    }
    if Language::detect(text) != persona.language {
        return Err(Rejection::WrongLanguage {
            expected: persona.language,
        });
    }
    let (length, limit) = match persona.language {
        Language::Zh => (text.chars().count(), MAX_ZH_CHARS),
        Language::En => (text.split_whitespace().count(), MAX_EN_WORDS),
    };
    if length > limit {
        return Err(Rejection::TooLong { length, limit });
    }
    let grams = trigrams(text);
    for fact in &persona.facts {
        if revealed.contains(&fact.id) {
            continue;
        }
        // Most of the fact's wording in the line: it is being told.
        if containment(&trigrams(&fact.text), &grams) >= 0.5 {
            return Err(Rejection::LeaksFact {
                fact: fact.id.clone(),
            });
        }
    }
    for e in earlier {
        let other = trigrams(e);
        let similarity = containment(&grams, &other).max(containment(&other, &grams));
        if similarity >= 0.8 {
            return Err(Rejection::Repeats {
                similarity_percent: (similarity * 100.0).round() as u32,
            });
        }
    }
    Ok(())
}
