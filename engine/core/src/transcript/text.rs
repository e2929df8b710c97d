//! Plain-text transcripts: one call per file, one turn per speaker prefix.
//!
//! ```text
//! [09:00:01] 客户：我的宽带三天都没网了。
//! 09:00:05 客服：非常抱歉，
//! 我马上帮您查一下。
//! ```
//!
//! A line that starts with a speaker prefix and a colon (`：` or `:`) starts a
//! turn; the prefix may come after a `[HH:MM:SS]` or `HH:MM:SS` timestamp, and
//! the first timestamp becomes the call's. A line without a prefix continues
//! the turn before it (joined with a newline). Blank lines are skipped; a UTF-8
//! BOM at the start and CRLF line endings are accepted.

use super::{check_call_id, check_text, Assembler, Call, LineError, Meta, MAX_LINE_BYTES};
use crate::scoring::{Speaker, Turn};

/// The speaker prefixes of a plain-text transcript. Latin letters match in
/// any case; a colon given at the end of a prefix is ignored (the line needs
/// one after the prefix anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextOptions {
    pub agent_prefixes: Vec<String>,
    pub customer_prefixes: Vec<String>,
}

impl Default for TextOptions {
    /// Agent `客服`, `坐席`, `Agent`; customer `客户`, `Customer`.
    fn default() -> Self {
        let strings = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        TextOptions {
            agent_prefixes: strings(&["客服", "坐席", "Agent"]),
            customer_prefixes: strings(&["客户", "Customer"]),
        }
    }
}

impl TextOptions {
    /// Each usable prefix (trimmed, without a trailing colon) with its speaker.
    fn prefixes(&self) -> Vec<(&str, Speaker)> {
        let mut all = Vec::new();
        for (list, speaker) in [
            (&self.agent_prefixes, Speaker::Agent),
            (&self.customer_prefixes, Speaker::Customer),
        ] {
            for p in list {
                let p = p.trim().trim_end_matches([':', '：']).trim_end();
                if !p.is_empty() {
                    all.push((p, speaker));
                }
            }
        }
        all
    }
}

/// Parse one plain-text transcript as the call `call_id` (the caller passes
/// the file's stem). Never fails as a whole: unusable lines come back as
/// [`LineError`]s, sorted by line, and the call is `None` only when nothing
/// in the file can be scored (no agent turn).
pub fn parse_text(
    call_id: &str,
    text: &str,
    options: &TextOptions,
) -> (Option<Call>, Vec<LineError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut calls = Assembler::default();
    if let Err(message) = check_call_id(call_id) {
        calls.error(1, message);
        return (None, calls.finish().1);
    }
    let prefixes = options.prefixes();
    let mut open: Option<Open> = None;
    let mut any_turn = false;

    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        if content.len() > MAX_LINE_BYTES {
            calls.error(
                line,
                format!(
                    "line is {} bytes, over the {MAX_LINE_BYTES}-byte (1 MiB) limit",
                    content.len()
                ),
            );
            continue;
        }
        let content = content.trim();
        if content.is_empty() {
            continue;
        }
        if let Some((timestamp, speaker, rest)) = turn_start(content, &prefixes) {
            if let Some(turn) = open.take() {
                turn.close(call_id, &mut calls);
            }
            any_turn = true;
            open = Some(Open {
                line,
                speaker,
                timestamp: timestamp.map(str::to_string),
                pieces: [rest].into_iter().filter(|s| !s.is_empty()).collect(),
            });
        } else if let Some(turn) = &mut open {
            turn.pieces.push(content);
        } else {
            let names: Vec<&str> = prefixes.iter().map(|(p, _)| *p).collect();
            calls.error(
                line,
                format!(
                    "no speaker: the line starts with no speaker prefix ({}, then a colon) \
                     and there is no turn before it to continue",
                    names.join(", ")
                ),
            );
        }
    }
    if let Some(turn) = open.take() {
        turn.close(call_id, &mut calls);
    }
    if !any_turn {
        calls.error(
            1,
            format!("turns: call {call_id:?} has no agent turn (nothing to score)"),
        );
    }
    let (calls, errors) = calls.finish();
    (calls.into_iter().next(), errors)
}

/// The turn being read.
struct Open<'a> {
    line: usize,
    speaker: Speaker,
    timestamp: Option<String>,
    pieces: Vec<&'a str>,
}

impl Open<'_> {
    fn close(self, call_id: &str, calls: &mut Assembler) {
        let text = self.pieces.join("\n");
        match check_text(&text, "") {
            Ok(()) => calls.add_turn(
                self.line,
                call_id.to_string(),
                Meta {
                    timestamp: self.timestamp,
                    ..Meta::default()
                },
                Turn {
                    speaker: self.speaker,
                    text,
                },
            ),
            Err(message) => calls.error(self.line, message),
        }
    }
}

/// `[timestamp] prefix: text` → the timestamp, the speaker and the text.
fn turn_start<'a>(
    line: &'a str,
    prefixes: &[(&str, Speaker)],
) -> Option<(Option<&'a str>, Speaker, &'a str)> {
    let (timestamp, rest) = match split_timestamp(line) {
        Some((timestamp, rest)) => (Some(timestamp), rest),
        None => (None, line),
    };
    prefixes.iter().find_map(|&(prefix, speaker)| {
        let head = rest.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let after = &rest[prefix.len()..];
        let text = after
            .strip_prefix(':')
            .or_else(|| after.strip_prefix('：'))?;
        Some((timestamp, speaker, text.trim()))
    })
}

/// A leading `[HH:MM:SS]` or `HH:MM:SS` (the hour may have one digit) and
/// what follows it, without the spaces between.
fn split_timestamp(line: &str) -> Option<(&str, &str)> {
    let (stamp, rest) = match line.strip_prefix('[') {
        Some(inner) => {
            let close = inner.find(']')?;
            (&inner[..close], &inner[close + 1..])
        }
        None => {
            let end = line
                .find(|c: char| !(c.is_ascii_digit() || c == ':'))
                .unwrap_or(line.len());
            line.split_at(end)
        }
    };
    let parts: Vec<&str> = stamp.split(':').collect();
    let digits =
        |s: &str, min: usize| (min..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let sixty = |s: &str| s.parse::<u8>().is_ok_and(|n| n < 60);
    match parts[..] {
        [h, m, s] if digits(h, 1) && digits(m, 2) && digits(s, 2) && sixty(m) && sixty(s) => {
            Some((stamp, rest.trim_start()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::MAX_TEXT_CHARS;
    use super::*;
    use crate::scoring::{Language, ScenarioKind};

    /// Parse with the default prefixes, expecting a call and no errors.
    fn ok(text: &str) -> Call {
        ok_with(text, &TextOptions::default())
    }

    fn ok_with(text: &str, options: &TextOptions) -> Call {
        let (call, errors) = parse_text("call-1", text, options);
        assert!(errors.is_empty(), "unexpected errors: {errors:?}");
        call.expect("a call")
    }

    #[test]
    fn parses_a_chinese_call_with_full_width_colons() {
        let call = ok("客户：我的宽带三天都没网了。\n客服：非常抱歉，我马上帮您查一下。\n坐席：请问您的账号是多少？\n");
        assert_eq!(
            call,
            Call {
                call_id: "call-1".into(),
                agent_id: None,
                language: Language::Zh,
                scenario: ScenarioKind::Inbound,
                timestamp: None,
                turns: vec![
                    customer("我的宽带三天都没网了。"),
                    agent("非常抱歉，我马上帮您查一下。"),
                    agent("请问您的账号是多少？"),
                ],
                first_line: 1,
            }
        );
    }

    #[test]
    fn parses_english_prefixes_in_any_case_and_either_colon() {
        let call = ok(
            "Customer: My internet is down.\nAGENT:I'm sorry.\nagent： Let me check.\ncUsToMeR:Thanks\n客服:好的\n",
        );
        assert_eq!(
            call.turns,
            vec![
                customer("My internet is down."),
                agent("I'm sorry."),
                agent("Let me check."),
                customer("Thanks"),
                agent("好的"),
            ]
        );
        assert_eq!(call.language, Language::En);
    }

    #[test]
    fn a_line_without_a_prefix_continues_the_turn_before_it() {
        let call = ok(concat!(
            "客户：网断了。\n",
            "客服：非常抱歉，\n",
            "  我马上帮您查一下，\n",
            "\n",
            "请稍等。  \n",
            "客户：\n",
            "好的。\n",
            "Customer Service: is not a prefix\n",
            "我是客服：也不是\n",
        ));
        assert_eq!(
            call.turns,
            vec![
                customer("网断了。"),
                agent("非常抱歉，\n我马上帮您查一下，\n请稍等。"),
                customer("好的。\nCustomer Service: is not a prefix\n我是客服：也不是"),
            ]
        );
    }

    #[test]
    fn reports_text_before_the_first_turn_naming_the_line() {
        let (call, errors) = parse_text(
            "c1",
            "\nRecorded 2024-05-01\nqueue: billing\nAgent: Hello, how can I help?\n",
            &TextOptions::default(),
        );
        assert_eq!(call.unwrap().turns, vec![agent("Hello, how can I help?")]);
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 3]);
        assert!(
            errors[0]
                .message
                .starts_with("no speaker: the line starts with no speaker prefix (客服, 坐席, Agent, 客户, Customer, then a colon)"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn keeps_timestamps_before_the_prefix_and_the_first_as_the_calls() {
        let call = ok(concat!(
            "[09:00:01] Customer: Hello?\n",
            "09:00:05 Agent: Good morning.\n",
            "9:00:09Agent:How can I help?\n",
            "[09:00:12]客户：宽带断了\n",
            "10:30:00 is when it stopped\n",
            "[xx] Agent: Not a timestamp\n",
        ));
        assert_eq!(call.timestamp.as_deref(), Some("09:00:01"));
        assert_eq!(
            call.turns,
            vec![
                customer("Hello?"),
                agent("Good morning."),
                agent("How can I help?"),
                customer("宽带断了\n10:30:00 is when it stopped\n[xx] Agent: Not a timestamp"),
            ]
        );
        let call = ok("Agent: Hi\n12:00:01 Customer: Hi\n");
        assert_eq!(
            call.timestamp.as_deref(),
            Some("12:00:01"),
            "first one given"
        );
        assert_eq!(ok("Agent: Hi\n").timestamp, None);
        for bad in ["09:60:00", "123:00:00", "09:0:00", "[09:00] "] {
            assert!(
                split_timestamp(&format!("{bad} Agent: x")).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn custom_prefixes_replace_the_defaults() {
        let options = TextOptions {
            agent_prefixes: vec!["Rep".into(), "小王：".into(), " ".into()],
            customer_prefixes: vec!["Caller:".into()],
        };
        let call = ok_with(
            "caller: Hi\nREP: Hello\n小王:您好\nAgent: continues\nCustomer： too\n",
            &options,
        );
        assert_eq!(
            call.turns,
            vec![
                customer("Hi"),
                agent("Hello"),
                agent("您好\nAgent: continues\nCustomer： too"),
            ]
        );
    }

    #[test]
    fn reports_a_call_without_an_agent_turn() {
        let (call, errors) = parse_text(
            "c9",
            "\n客户：有人吗？\n客户：喂？\n",
            &TextOptions::default(),
        );
        assert_eq!(call, None);
        assert_eq!(
            messages(&errors),
            [r#"line 2: turns: call "c9" has no agent turn (nothing to score)"#]
        );
        for empty in ["", "\n\n", "\u{feff}", "just words\n"] {
            let (call, errors) = parse_text("c9", empty, &TextOptions::default());
            assert_eq!(call, None);
            let last = errors.last().unwrap().to_string();
            assert!(
                last.ends_with("has no agent turn (nothing to score)"),
                "{last}"
            );
        }
        let (call, errors) = parse_text(" ", "Agent: Hi", &TextOptions::default());
        assert_eq!(call, None);
        assert_eq!(messages(&errors), ["line 1: call_id: empty"]);
    }

    #[test]
    fn reports_an_empty_or_too_long_turn_and_keeps_the_rest() {
        let long = "好".repeat(MAX_TEXT_CHARS);
        let text = format!("客户：\n客服：{long}\n客户：{long}\n好\n客服：好\n");
        let (call, errors) = parse_text("c1", &text, &TextOptions::default());
        assert_eq!(
            messages(&errors),
            [
                "line 1: text: empty",
                "line 3: text: 20002 characters, over the 20000-character limit",
            ]
        );
        let call = call.unwrap();
        assert_eq!(call.turns.len(), 2);
        assert_eq!(call.turns[0].text.chars().count(), MAX_TEXT_CHARS);
        assert_eq!(call.first_line, 2);
    }

    #[test]
    fn handles_crlf_and_a_bom() {
        let call = ok("\u{feff}客户：你好\r\n\r\n客服：您好，\r\n请讲。\r\n");
        assert_eq!(call.turns, vec![customer("你好"), agent("您好，\n请讲。")]);
        assert_eq!(call.first_line, 1);
        // A BOM elsewhere is text: this line has no prefix.
        let (call, errors) = parse_text(
            "c1",
            "Agent: Hi\n\u{feff}Agent: again\n",
            &TextOptions::default(),
        );
        assert!(errors.is_empty());
        assert_eq!(call.unwrap().turns, vec![agent("Hi\n\u{feff}Agent: again")]);
    }
}
