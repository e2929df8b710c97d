//! JSONL transcripts. Each line is one of two shapes, and one file may mix them:
//!
//! - a whole call: `{"call_id", "agent_id"?, "language"?, "scenario"?,
//!   "timestamp"?, "turns": [{"speaker", "text", "timestamp"?}, …]}`;
//! - one turn: `{"call_id", "speaker", "text", "agent_id"?, "timestamp"?,
//!   "language"?, "scenario"?}`. Turn rows are grouped by `call_id` in file
//!   order; each piece of a call's metadata comes from the first of its rows
//!   that has it.
//!
//! The schema is `engine/core/transcript.schema.json`.

use super::{
    check_call_id, check_text, parse_language, parse_scenario, speaker_field, Assembler, Call,
    LineError, Meta, MAX_LINE_BYTES,
};
use crate::scoring::Turn;
use serde_json::{Map, Value};

/// Parse a JSONL transcript file. Never fails as a whole: calls come back in
/// the order of their first line, and every unusable line (or call) as a
/// [`LineError`], sorted by line.
pub fn parse_jsonl(text: &str) -> (Vec<Call>, Vec<LineError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut calls = Assembler::default();
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
        if content.trim().is_empty() {
            continue;
        }
        match parse_line(content) {
            Ok(Row::Call {
                call_id,
                meta,
                turns,
            }) => calls.add_call(line, call_id, meta, turns),
            Ok(Row::Turn {
                call_id,
                meta,
                turn,
            }) => calls.add_turn(line, call_id, meta, turn),
            Err(message) => calls.error(line, message),
        }
    }
    calls.finish()
}

enum Row {
    Call {
        call_id: String,
        meta: Meta,
        turns: Vec<Turn>,
    },
    Turn {
        call_id: String,
        meta: Meta,
        turn: Turn,
    },
}

fn parse_line(line: &str) -> Result<Row, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| {
        let text = e.to_string();
        let what = text.split(" at line ").next().unwrap_or(&text);
        format!("not valid JSON (column {}): {what}", e.column())
    })?;
    let Value::Object(obj) = value else {
        return Err(format!(
            "expected a JSON object (a call or a turn), found {}",
            kind(&value)
        ));
    };
    let is_call = obj.contains_key("turns");
    if !is_call && !obj.contains_key("speaker") && !obj.contains_key("text") {
        return Err(
            "neither a call (needs \"turns\") nor a turn (needs \"speaker\" and \"text\")".into(),
        );
    }
    let call_id = required_str(&obj, "call_id", "")?;
    check_call_id(&call_id)?;
    let meta = Meta {
        agent_id: optional_str(&obj, "agent_id", "")?,
        language: optional_str(&obj, "language", "")?
            .map(|s| parse_language(&s))
            .transpose()?,
        scenario: optional_str(&obj, "scenario", "")?
            .map(|s| parse_scenario(&s))
            .transpose()?,
        timestamp: optional_str(&obj, "timestamp", "")?,
    };
    if is_call {
        let turns = match obj.get("turns") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let path = format!("turns[{i}]");
                    match item {
                        Value::Object(t) => parse_turn(t, &format!("{path}.")),
                        other => Err(format!("{path}: expected an object, found {}", kind(other))),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(format!("turns: expected an array, found {}", kind(other)));
            }
            None => unreachable!("checked above"),
        };
        Ok(Row::Call {
            call_id,
            meta,
            turns,
        })
    } else {
        Ok(Row::Turn {
            call_id,
            meta,
            turn: parse_turn(&obj, "")?,
        })
    }
}

/// A turn's `speaker` and `text` (and a well-formed `timestamp`, if any);
/// `path` prefixes field names in messages (`turns[2].`).
fn parse_turn(obj: &Map<String, Value>, path: &str) -> Result<Turn, String> {
    let speaker = required_str(obj, "speaker", path)?;
    let speaker = speaker_field(&speaker, path)?;
    let text = required_str(obj, "text", path)?;
    check_text(&text, path)?;
    optional_str(obj, "timestamp", path)?;
    Ok(Turn { speaker, text })
}

fn required_str(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, String> {
    optional_str(obj, key, path)?.ok_or_else(|| format!("{path}{key}: missing"))
}

/// Absent and `null` are both "not given".
fn optional_str(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "{path}{key}: expected a string, found {}",
            kind(other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{parse_speaker, MAX_TEXT_CHARS};
    use super::*;
    use crate::scoring::{Language, ScenarioKind, Speaker};

    /// Parse, expecting no errors.
    fn ok(text: &str) -> Vec<Call> {
        let (calls, errors) = parse_jsonl(text);
        assert!(errors.is_empty(), "unexpected errors: {errors:?}");
        calls
    }

    /// Parse, expecting exactly one error; its `line N: message` form.
    fn one_error(text: &str) -> (Vec<Call>, String) {
        let (calls, errors) = parse_jsonl(text);
        assert_eq!(errors.len(), 1, "expected one error: {errors:?}");
        (calls, errors[0].to_string())
    }

    #[test]
    fn parses_a_call_per_line_with_all_metadata() {
        let calls = ok(concat!(
            r#"{"call_id":"c1","agent_id":"a7","language":"en","scenario":"complaint","timestamp":"2024-05-01T09:00:00Z","turns":[{"speaker":"customer","text":"My internet is down."},{"speaker":"agent","text":"I'm sorry, let me check.","timestamp":"2024-05-01T09:00:05Z"}]}"#,
            "\n",
            r#"{"call_id":"c2","turns":[{"speaker":"agent","text":"您好，请问有什么可以帮您？"}]}"#,
            "\n"
        ));
        assert_eq!(
            calls,
            vec![
                Call {
                    call_id: "c1".into(),
                    agent_id: Some("a7".into()),
                    language: Language::En,
                    scenario: ScenarioKind::Complaint,
                    timestamp: Some("2024-05-01T09:00:00Z".into()),
                    turns: vec![
                        customer("My internet is down."),
                        agent("I'm sorry, let me check.")
                    ],
                    first_line: 1,
                },
                Call {
                    call_id: "c2".into(),
                    agent_id: None,
                    language: Language::Zh,
                    scenario: ScenarioKind::Inbound,
                    timestamp: None,
                    turns: vec![agent("您好，请问有什么可以帮您？")],
                    first_line: 2,
                },
            ]
        );
    }

    #[test]
    fn groups_turn_rows_by_call_id_in_file_order() {
        let calls = ok(concat!(
            r#"{"call_id":"c1","speaker":"customer","text":"Hi, my bill is wrong."}"#,
            "\n",
            r#"{"call_id":"c2","speaker":"customer","text":"我要投诉。"}"#,
            "\n",
            r#"{"call_id":"c1","speaker":"agent","text":"Sorry to hear that, let me look."}"#,
            "\n",
            r#"{"call_id":"c2","speaker":"agent","text":"非常抱歉，请您慢慢说。"}"#,
            "\n",
            r#"{"call_id":"c1","speaker":"customer","text":"Thanks."}"#,
        ));
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].call_id, "c1");
        assert_eq!(calls[0].first_line, 1);
        assert_eq!(
            calls[0].turns,
            vec![
                customer("Hi, my bill is wrong."),
                agent("Sorry to hear that, let me look."),
                customer("Thanks."),
            ]
        );
        assert_eq!(calls[1].call_id, "c2");
        assert_eq!(calls[1].first_line, 2);
        assert_eq!(
            calls[1].turns,
            vec![customer("我要投诉。"), agent("非常抱歉，请您慢慢说。")]
        );
        assert_eq!(calls[1].language, Language::Zh);
        assert_eq!(calls[0].language, Language::En);
    }

    #[test]
    fn turn_rows_take_each_metadata_field_from_the_first_row_that_has_it() {
        let calls = ok(concat!(
            r#"{"call_id":"c1","speaker":"customer","text":"Hello?","timestamp":"t1"}"#,
            "\n",
            r#"{"call_id":"c1","speaker":"agent","text":"您好","agent_id":"a1","scenario":"outbound","language":"en","timestamp":"t2"}"#,
            "\n",
            r#"{"call_id":"c1","speaker":"agent","text":"还在吗","agent_id":"a2","scenario":"telesales","language":"zh"}"#,
        ));
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!(c.agent_id.as_deref(), Some("a1"));
        assert_eq!(c.scenario, ScenarioKind::Outbound);
        assert_eq!(c.language, Language::En, "given beats detected");
        assert_eq!(c.timestamp.as_deref(), Some("t1"));
        assert_eq!(c.turns.len(), 3);
    }

    #[test]
    fn mixes_both_shapes_in_one_file_ordered_by_first_line() {
        let calls = ok(concat!(
            r#"{"call_id":"rows","speaker":"customer","text":"Is anyone there?"}"#,
            "\n",
            r#"{"call_id":"whole","turns":[{"speaker":"agent","text":"Good morning, how can I help?"}]}"#,
            "\n",
            r#"{"call_id":"rows","speaker":"agent","text":"Yes, I'm here. How can I help?"}"#,
        ));
        let ids: Vec<_> = calls.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(ids, ["rows", "whole"]);
        assert_eq!(calls[0].turns.len(), 2);
        assert_eq!(calls[1].first_line, 2);
    }

    #[test]
    fn accepts_speaker_aliases() {
        let calls = ok(concat!(
            r#"{"call_id":"c1","turns":[{"speaker":"客户","text":"网断了"},{"speaker":"客服","text":"抱歉"},{"speaker":"坐席","text":"我马上查"}]}"#,
            "\n",
            r#"{"call_id":"c2","turns":[{"speaker":"Customer","text":"Hi"},{"speaker":"AGENT","text":"Hello"},{"speaker":"aGeNt","text":"Yes"},{"speaker":"CUSTOMER","text":"Bye"}]}"#,
            "\n",
            r#"{"call_id":"c3","speaker":"坐席","text":"您好"}"#,
        ));
        let speakers = |c: &Call| c.turns.iter().map(|t| t.speaker).collect::<Vec<_>>();
        use Speaker::{Agent as A, Customer as C};
        assert_eq!(speakers(&calls[0]), [C, A, A]);
        assert_eq!(speakers(&calls[1]), [C, A, A, C]);
        assert_eq!(speakers(&calls[2]), [A]);
        assert_eq!(parse_speaker("boss"), None);
        assert_eq!(parse_speaker(" agent"), None, "no trimming");
    }

    #[test]
    fn detects_language_from_the_agent_turns_only() {
        let calls = ok(concat!(
            r#"{"call_id":"en","turns":[{"speaker":"customer","text":"我的宽带三天都没网了，你们到底管不管？"},{"speaker":"agent","text":"I'm sorry, could you tell me your account number?"}]}"#,
            "\n",
            r#"{"call_id":"zh","turns":[{"speaker":"customer","text":"My broadband has been down for three days, do you even care?"},{"speaker":"agent","text":"非常抱歉，请问您的账号是多少？"}]}"#,
            "\n",
            r#"{"call_id":"given","language":"zh","turns":[{"speaker":"agent","text":"Hello there, how can I help?"}]}"#,
        ));
        assert_eq!(calls[0].language, Language::En);
        assert_eq!(calls[1].language, Language::Zh);
        assert_eq!(calls[2].language, Language::Zh);
    }

    #[test]
    fn scenario_defaults_to_inbound() {
        let calls = ok(r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Hello"}]}"#);
        assert_eq!(calls[0].scenario, ScenarioKind::Inbound);
        let calls = ok(
            r#"{"call_id":"c1","scenario":null,"agent_id":null,"turns":[{"speaker":"agent","text":"Hello"}]}"#,
        );
        assert_eq!(calls[0].scenario, ScenarioKind::Inbound, "null = not given");
        assert_eq!(calls[0].agent_id, None);
    }

    #[test]
    fn handles_crlf_line_endings() {
        let text = concat!(
            r#"{"call_id":"c1","speaker":"customer","text":"Hi"}"#,
            "\r\n",
            "\r\n",
            r#"{"call_id":"c1","speaker":"agent","text":"Hello"}"#,
            "\r\n",
            r#"{"call_id":"c2","turns":[{"speaker":"agent","text":"Hey"}]}"#,
            "\r\n",
            r#"{"call_id":"c3","speaker":"boss","text":"Hey"}"#,
            "\r\n",
        );
        let (calls, errors) = parse_jsonl(text);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].turns[1].text, "Hello", "no trailing \\r");
        assert_eq!(calls[1].first_line, 4);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 5);
    }

    #[test]
    fn strips_a_bom_at_file_start() {
        let text =
            "\u{feff}{\"call_id\":\"c1\",\"turns\":[{\"speaker\":\"agent\",\"text\":\"Hi\"}]}\r\n";
        let calls = ok(text);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].first_line, 1);
        // Only at the very start: elsewhere it is not JSON.
        let (_, msg) = one_error(&format!("{text}\u{feff}{}", &text[3..]));
        assert!(msg.starts_with("line 2: not valid JSON"), "{msg}");
    }

    #[test]
    fn skips_blank_lines_but_counts_them() {
        let (calls, msg) = one_error(concat!(
            "\n",
            "   \n",
            r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Hi"}]}"#,
            "\n\t\n",
            "{oops\n",
            "\n",
        ));
        assert_eq!(calls[0].first_line, 3);
        assert!(
            msg.starts_with("line 5: not valid JSON (column 2): "),
            "{msg}"
        );
        assert!(ok("").is_empty());
        assert!(ok("\n\n\r\n").is_empty());
    }

    #[test]
    fn reports_invalid_json_and_keeps_going() {
        let (calls, errors) = parse_jsonl(concat!(
            r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Hi"}]"#,
            "\n",
            r#"{"call_id":"c2","turns":[{"speaker":"agent","text":"Hi"}]}"#,
            "\n",
            "not json at all\n",
            r#"{"call_id":"c3","turns":[{"speaker":"agent","text":"Hi"}]}"#,
        ));
        let ids: Vec<_> = calls.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(ids, ["c2", "c3"]);
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 3]);
        for e in &errors {
            assert!(e.message.starts_with("not valid JSON"), "{e}");
            assert!(!e.message.contains(" at line "), "{e}");
        }
    }

    #[test]
    fn reports_a_line_that_is_not_an_object_or_neither_shape() {
        let (_, msg) = one_error("[1, 2]");
        assert_eq!(
            msg,
            "line 1: expected a JSON object (a call or a turn), found an array"
        );
        let (_, msg) = one_error("\n\"hello\"");
        assert_eq!(
            msg,
            "line 2: expected a JSON object (a call or a turn), found a string"
        );
        let (_, msg) = one_error(r#"{"call_id":"c1","agent_id":"a1"}"#);
        assert_eq!(
            msg,
            r#"line 1: neither a call (needs "turns") nor a turn (needs "speaker" and "text")"#
        );
    }

    #[test]
    fn reports_an_unknown_speaker_naming_the_turn() {
        let mut text = String::new();
        for i in 0..6 {
            text.push_str(&format!(
                r#"{{"call_id":"ok{i}","turns":[{{"speaker":"agent","text":"Hi"}}]}}"#
            ));
            text.push('\n');
        }
        text.push_str(r#"{"call_id":"c7","turns":[{"speaker":"customer","text":"Hi"},{"speaker":"agent","text":"Hello"},{"speaker":"boss","text":"Stop"}]}"#);
        text.push('\n');
        text.push_str(r#"{"call_id":"c8","speaker":"Boss","text":"Stop"}"#);
        let (calls, errors) = parse_jsonl(&text);
        assert_eq!(calls.len(), 6, "the bad lines are skipped whole");
        let messages: Vec<_> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            messages,
            [
                r#"line 7: turns[2].speaker: unknown speaker "boss" (use agent or customer)"#,
                r#"line 8: speaker: unknown speaker "Boss" (use agent or customer)"#,
            ]
        );
    }

    #[test]
    fn reports_missing_and_mistyped_fields_by_name() {
        let cases = [
            (
                r#"{"turns":[{"speaker":"agent","text":"Hi"}]}"#,
                "call_id: missing",
            ),
            (
                r#"{"call_id":7,"turns":[{"speaker":"agent","text":"Hi"}]}"#,
                "call_id: expected a string, found a number",
            ),
            (
                r#"{"call_id":" ","turns":[{"speaker":"agent","text":"Hi"}]}"#,
                "call_id: empty",
            ),
            (
                r#"{"call_id":"c1","agent_id":7,"turns":[{"speaker":"agent","text":"Hi"}]}"#,
                "agent_id: expected a string, found a number",
            ),
            (
                r#"{"call_id":"c1","timestamp":false,"turns":[{"speaker":"agent","text":"Hi"}]}"#,
                "timestamp: expected a string, found a boolean",
            ),
            (
                r#"{"call_id":"c1","turns":{"speaker":"agent","text":"Hi"}}"#,
                "turns: expected an array, found an object",
            ),
            (
                r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Hi"},"Hello"]}"#,
                "turns[1]: expected an object, found a string",
            ),
            (
                r#"{"call_id":"c1","turns":[{"text":"Hi"}]}"#,
                "turns[0].speaker: missing",
            ),
            (
                r#"{"call_id":"c1","turns":[{"speaker":"agent"}]}"#,
                "turns[0].text: missing",
            ),
            (
                r#"{"call_id":"c1","turns":[{"speaker":"agent","text":["Hi"]}]}"#,
                "turns[0].text: expected a string, found an array",
            ),
            (
                r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"  "}]}"#,
                "turns[0].text: empty",
            ),
            (
                r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Hi","timestamp":12}]}"#,
                "turns[0].timestamp: expected a string, found a number",
            ),
            (r#"{"call_id":"c1","text":"Hi"}"#, "speaker: missing"),
            (r#"{"call_id":"c1","speaker":"agent"}"#, "text: missing"),
            (r#"{"speaker":"agent","text":"Hi"}"#, "call_id: missing"),
            (
                r#"{"call_id":"c1","speaker":1,"text":"Hi"}"#,
                "speaker: expected a string, found a number",
            ),
        ];
        for (line, want) in cases {
            let text = format!("\n\n{line}\n");
            let (calls, msg) = one_error(&text);
            assert!(calls.is_empty(), "{line}");
            assert_eq!(msg, format!("line 3: {want}"), "{line}");
        }
    }

    #[test]
    fn reports_unknown_language_and_scenario() {
        let (_, msg) = one_error(
            r#"{"call_id":"c1","language":"fr","turns":[{"speaker":"agent","text":"Salut"}]}"#,
        );
        assert_eq!(
            msg,
            r#"line 1: language: unknown language "fr" (use zh or en)"#
        );
        let (_, msg) =
            one_error(r#"{"call_id":"c1","speaker":"agent","text":"Hi","scenario":"sales"}"#);
        assert_eq!(
            msg,
            r#"line 1: scenario: unknown scenario "sales" (use inbound, outbound, telesales or complaint)"#
        );
        let (_, msg) =
            one_error(r#"{"call_id":"c1","speaker":"agent","text":"Hi","language":"ZH"}"#);
        assert!(msg.contains("unknown language \"ZH\""), "{msg}");
    }

    #[test]
    fn reports_a_call_without_an_agent_turn_at_its_first_line() {
        let (calls, errors) = parse_jsonl(concat!(
            r#"{"call_id":"ok","turns":[{"speaker":"agent","text":"Hi"}]}"#,
            "\n",
            r#"{"call_id":"silent","turns":[{"speaker":"customer","text":"Hello?"}]}"#,
            "\n",
            r#"{"call_id":"rows","speaker":"customer","text":"Hello?"}"#,
            "\n",
            r#"{"call_id":"empty","turns":[]}"#,
            "\n",
            r#"{"call_id":"rows","speaker":"customer","text":"Anyone?"}"#,
            "\n",
            "{bad\n",
        ));
        assert_eq!(calls.len(), 1);
        let messages: Vec<_> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            messages[..3],
            [
                r#"line 2: turns: call "silent" has no agent turn (nothing to score)"#,
                r#"line 3: turns: call "rows" has no agent turn (nothing to score)"#,
                r#"line 4: turns: call "empty" has no agent turn (nothing to score)"#,
            ]
        );
        assert_eq!(errors[3].line, 6, "sorted by line");
    }

    #[test]
    fn reports_a_duplicate_whole_call_for_the_second() {
        let (calls, msg) = one_error(concat!(
            r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"First"}]}"#,
            "\n",
            r#"{"call_id":"c2","turns":[{"speaker":"agent","text":"Other"}]}"#,
            "\n",
            r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Second"}]}"#,
        ));
        assert_eq!(
            msg,
            r#"line 3: call_id: duplicate call "c1" (first given on line 1)"#
        );
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].turns[0].text, "First");
    }

    #[test]
    fn reports_turn_rows_and_a_whole_call_sharing_an_id() {
        let (calls, msg) = one_error(concat!(
            r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Whole"}]}"#,
            "\n",
            r#"{"call_id":"c1","speaker":"agent","text":"Row"}"#,
        ));
        assert!(
            msg.starts_with(r#"line 2: call_id: call "c1" was given whole on line 1"#),
            "{msg}"
        );
        assert_eq!(calls[0].turns, vec![agent("Whole")]);

        let (calls, msg) = one_error(concat!(
            r#"{"call_id":"c1","speaker":"agent","text":"Row"}"#,
            "\n",
            r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Whole"}]}"#,
        ));
        assert!(
            msg.starts_with(r#"line 2: call_id: call "c1" already has turn rows from line 1"#),
            "{msg}"
        );
        assert_eq!(calls[0].turns, vec![agent("Row")]);
    }

    #[test]
    fn a_bad_turn_row_is_skipped_and_the_rest_of_its_call_kept() {
        let (calls, msg) = one_error(concat!(
            r#"{"call_id":"c1","speaker":"customer","text":"Hi"}"#,
            "\n",
            r#"{"call_id":"c1","speaker":"agent","text":"Hello","language":"de"}"#,
            "\n",
            r#"{"call_id":"c1","speaker":"agent","text":"How can I help?"}"#,
        ));
        assert!(msg.starts_with("line 2: language:"), "{msg}");
        assert_eq!(
            calls[0].turns,
            vec![customer("Hi"), agent("How can I help?")]
        );
        assert_eq!(calls[0].language, Language::En);
    }

    #[test]
    fn reports_a_line_over_one_mib() {
        let long = format!(
            r#"{{"call_id":"c2","turns":[{{"speaker":"agent","text":"{}"}}]}}"#,
            "x".repeat(MAX_LINE_BYTES)
        );
        let text = format!(
            "{}\n{long}\n",
            r#"{"call_id":"c1","turns":[{"speaker":"agent","text":"Hi"}]}"#
        );
        let (calls, msg) = one_error(&text);
        assert_eq!(calls.len(), 1);
        assert!(
            msg.starts_with(&format!("line 2: line is {} bytes, over the", long.len())),
            "{msg}"
        );
        assert!(msg.contains("1 MiB"), "{msg}");
        // Exactly at the limit is fine as far as the line goes (the text then is too long).
        let pad = MAX_LINE_BYTES - r#"{"call_id":"c","turns":[],"p":""}"#.len();
        let at_limit = format!(r#"{{"call_id":"c","turns":[],"p":"{}"}}"#, "x".repeat(pad));
        assert_eq!(at_limit.len(), MAX_LINE_BYTES);
        let (_, msg) = one_error(&at_limit);
        assert!(msg.contains("no agent turn"), "{msg}");
    }

    #[test]
    fn reports_a_text_over_20000_characters() {
        let line = |text: &str| {
            format!(
                r#"{{"call_id":"c1","turns":[{{"speaker":"customer","text":"Hi"}},{{"speaker":"agent","text":"{text}"}}]}}"#
            )
        };
        // Characters, not bytes: 20000 Chinese characters are 60000 bytes.
        let calls = ok(&line(&"好".repeat(MAX_TEXT_CHARS)));
        assert_eq!(calls[0].turns[1].text.chars().count(), MAX_TEXT_CHARS);
        let (calls, msg) = one_error(&line(&"好".repeat(MAX_TEXT_CHARS + 1)));
        assert!(calls.is_empty());
        assert_eq!(
            msg,
            "line 1: turns[1].text: 20001 characters, over the 20000-character limit"
        );
        let (_, msg) = one_error(&format!(
            r#"{{"call_id":"c1","speaker":"agent","text":"{}"}}"#,
            "a".repeat(MAX_TEXT_CHARS + 5)
        ));
        assert_eq!(
            msg,
            "line 1: text: 20005 characters, over the 20000-character limit"
        );
    }

    #[test]
    fn ignores_unknown_fields() {
        let calls = ok(
            r#"{"call_id":"c1","queue":"billing","turns":[{"speaker":"agent","text":"Hi","confidence":0.9}]}"#,
        );
        assert_eq!(calls.len(), 1);
    }

    #[test]
    fn calls_round_trip_through_serde() {
        let calls =
            ok(r#"{"call_id":"c1","agent_id":"a1","turns":[{"speaker":"agent","text":"Hi"}]}"#);
        let json = serde_json::to_string(&calls[0]).unwrap();
        let back: Call = serde_json::from_str(&json).unwrap();
        assert_eq!(back, calls[0]);
    }

    const SCHEMA: &str = include_str!("../../transcript.schema.json");

    #[test]
    fn the_schema_examples_parse() {
        let schema: Value = serde_json::from_str(SCHEMA).expect("schema is JSON");
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["oneOf"].as_array().map(Vec::len), Some(2));
        let examples = schema["examples"].as_array().expect("examples");
        assert!(examples.len() >= 3);
        let jsonl: String = examples
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        let calls = ok(&jsonl);
        assert!(calls.len() >= 2, "{calls:?}");
        assert!(
            examples.iter().any(|e| e.get("turns").is_some())
                && examples.iter().any(|e| e.get("speaker").is_some()),
            "examples show both shapes"
        );
        let langs: Vec<_> = calls.iter().map(|c| c.language).collect();
        assert!(langs.contains(&Language::Zh) && langs.contains(&Language::En));
    }

    #[test]
    fn the_schema_enums_are_what_the_parser_accepts() {
        let schema: Value = serde_json::from_str(SCHEMA).unwrap();
        let defs = &schema["$defs"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(strings(&defs["language"]["enum"]), ["zh", "en"]);
        for l in strings(&defs["language"]["enum"]) {
            parse_language(&l).unwrap();
        }
        assert_eq!(
            strings(&defs["scenario"]["enum"]),
            ["inbound", "outbound", "telesales", "complaint"]
        );
        for s in strings(&defs["scenario"]["enum"]) {
            parse_scenario(&s).unwrap();
        }
        let pattern = defs["speaker"]["pattern"].as_str().unwrap();
        for alias in ["客服", "坐席", "客户"] {
            assert!(pattern.contains(alias), "{pattern}");
            assert!(parse_speaker(alias).is_some());
        }
        assert_eq!(
            defs["text"]["maxLength"].as_u64(),
            Some(MAX_TEXT_CHARS as u64)
        );
    }
}
