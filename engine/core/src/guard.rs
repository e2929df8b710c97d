//! Checks on every customer line the model writes, before a trainee sees it:
//! small models slip into the agent's role, switch language, ramble, recite
//! their instructions, blurt out facts the trainee has not earned, or repeat
//! themselves. A line that fails is regenerated (a bounded number of times)
//! and then replaced by an authored line.

use crate::persona::Persona;
use crate::scoring::Language;
use serde::{Deserialize, Serialize};

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Broken text: undecodable bytes, or words of another script inside
    /// the line (a small model writing a language it barely knows).
    Garbled {
        sample: String,
    },
    /// Cut off by the token limit before one whole sentence.
    Unfinished,
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
    "i'm here to help",
    "i am here to help",
    "how can i assist",
    "how may i assist",
    "happy to assist",
    "glad to assist",
    "happy to help you",
    "our customer service",
    "our customers",
    "our clients",
    "为您服务",
    "我来帮你",
    "我来帮您",
    "很高兴为您",
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
    "[system",
    "<|",
    "system:",
    // The transcript's label used as a name: "Hi Agent", "Thank you, Agent."
    "hi agent",
    "hello agent",
    ", agent.",
    ", agent!",
    ", agent?",
    ", agent,",
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

/// The checks that can only get worse as a line grows: run them on the text
/// streamed so far to stop a bad candidate early.
pub fn check_partial(persona: &Persona, line: &str, revealed: &[String]) -> Result<(), Rejection> {
    let text = line.trim();
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
    let (length, limit) = match persona.language {
        Language::Zh => (text.chars().count(), MAX_ZH_CHARS),
        Language::En => (text.split_whitespace().count(), MAX_EN_WORDS),
    };
    if length > limit {
        return Err(Rejection::TooLong { length, limit });
    }
    // Another script inside a line of the right language (a line wholly in
    // the wrong language is reported as such by `check`).
    if Language::detect(text) == persona.language {
        if let Some(sample) = garbled(persona.language, text) {
            return Err(Rejection::Garbled { sample });
        }
    }
    // Most of a fact's wording in the line: it is being told.
    if let Some((fact, _)) = fact_overlaps(persona, text, revealed)
        .into_iter()
        .find(|(_, overlap)| *overlap >= 0.5)
    {
        return Err(Rejection::LeaksFact { fact });
    }
    Ok(())
}

/// For each fact not yet earned, the share of its wording (character
/// trigrams) found in `line`.
pub fn fact_overlaps(persona: &Persona, line: &str, revealed: &[String]) -> Vec<(String, f64)> {
    let grams = trigrams(line);
    persona
        .facts
        .iter()
        .filter(|f| !revealed.contains(&f.id))
        .map(|f| (f.id.clone(), containment(&trigrams(&f.text), &grams)))
        .collect()
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
    check_partial(persona, text, revealed)?;
    if Language::detect(text) != persona.language {
        return Err(Rejection::WrongLanguage {
            expected: persona.language,
        });
    }
    let grams = trigrams(text);
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

impl Rejection {
    /// A short stable name for counting (`agent_voice`, `leaks_fact`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::AgentVoice { .. } => "agent_voice",
            Rejection::WrongLanguage { .. } => "wrong_language",
            Rejection::TooLong { .. } => "too_long",
            Rejection::LeaksInstructions { .. } => "leaks_instructions",
            Rejection::LeaksFact { .. } => "leaks_fact",
            Rejection::Repeats { .. } => "repeats",
            Rejection::Garbled { .. } => "garbled",
            Rejection::Unfinished => "unfinished",
        }
    }
}

/// The first sign of broken text: U+FFFD, a Latin word of five or more
/// letters in a Chinese line (short ones such as "WiFi" or "APP" are fine),
/// or Chinese characters in an English line.
fn garbled(language: Language, text: &str) -> Option<String> {
    if text.contains('\u{fffd}') {
        return Some("\u{fffd}".into());
    }
    match language {
        Language::Zh => text
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| w.len() >= 5 && !w.chars().all(|c| c.is_ascii_uppercase()))
            .map(str::to_string),
        Language::En => text
            .chars()
            .find(|c| crate::scoring::is_cjk(*c))
            .map(String::from),
    }
}

/// Byte offsets where sentences end: after a run of terminal punctuation
/// and closing quotes; Latin terminals only before a space or the end (so
/// "3.5" is not an end).
fn sentence_ends(text: &str) -> Vec<usize> {
    const TERMINAL: &[char] = &['。', '！', '？', '…', '.', '!', '?'];
    const CLOSING: &[char] = &['"', '”', '’', '）', ')', '」'];
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut ends = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        if !TERMINAL.contains(&c) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len() && (TERMINAL.contains(&chars[j].1) || CLOSING.contains(&chars[j].1)) {
            j += 1;
        }
        let latin = c.is_ascii();
        if j >= chars.len() || !latin || chars[j].1.is_whitespace() {
            ends.push(chars.get(j).map_or(text.len(), |(p, _)| *p));
        }
        i = j;
    }
    ends
}

/// A phone line is short: keep at most `max` sentences. A line the token
/// limit cut off loses its unfinished last sentence; with none finished it
/// is rejected.
pub fn trim_sentences(text: &str, max: usize, cut_off: bool) -> Result<String, Rejection> {
    let ends = sentence_ends(text);
    let keep = if ends.len() > max {
        ends[max - 1]
    } else if cut_off {
        match ends.last() {
            Some(&e) => e,
            None => return Err(Rejection::Unfinished),
        }
    } else {
        text.len()
    };
    Ok(text[..keep].trim().to_string())
}

/// Drops short parenthesised stage directions ("(pauses)", "（叹气）"):
/// a phone customer does not say them.
fn drop_stage_directions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(['(', '（']) {
        let open_len = rest[start..].chars().next().map_or(1, char::len_utf8);
        let after = &rest[start + open_len..];
        match after.find([')', '）']) {
            Some(end) if after[..end].chars().count() <= 30 => {
                out.push_str(&rest[..start]);
                let close_len = after[end..].chars().next().map_or(1, char::len_utf8);
                rest = &after[end + close_len..];
            }
            _ => {
                out.push_str(&rest[..start + open_len]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a model wrote, tidied before the checks: a speaker label it added
/// itself, stage directions and wrapping quotes go.
pub fn tidy(raw: &str, labels: &[&str]) -> String {
    let cleaned = drop_stage_directions(raw);
    let mut text = cleaned.trim();
    for label in labels {
        for sep in [":", "：", " :"] {
            let prefix = format!("{label}{sep}");
            if text.len() >= prefix.len()
                && text.is_char_boundary(prefix.len())
                && text[..prefix.len()].eq_ignore_ascii_case(&prefix)
            {
                text = text[prefix.len()..].trim_start();
            }
        }
    }
    for (open, close) in [("\"", "\""), ("“", "”"), ("「", "」")] {
        if text.len() > open.len() + close.len()
            && text.starts_with(open)
            && text.ends_with(close)
            && !text[open.len()..text.len() - close.len()].contains(close)
        {
            text = &text[open.len()..text.len() - close.len()];
        }
    }
    text.trim().to_string()
}
