//! CSV transcripts (RFC 4180): a header row, then one turn per record.
//!
//! The header names the columns, in any order and any case: `call_id`,
//! `speaker` and `text` are required; `timestamp`, `agent_id`, `language` and
//! `scenario` are optional, and other columns are ignored. Fields may be
//! quoted with `"`, and a quoted field may hold commas, doubled quotes (`""`)
//! and line breaks. Records are grouped by `call_id` in file order exactly
//! like JSONL turn rows, and an empty optional field means "not given". Errors
//! give the physical line where the record starts. A UTF-8 BOM at the start
//! and CRLF line endings are accepted; blank lines are skipped.

use super::{
    check_call_id, check_text, parse_language, parse_scenario, speaker_field, Assembler, Call,
    LineError, Meta, MAX_LINE_BYTES,
};
use crate::scoring::Turn;

const REQUIRED: [&str; 3] = ["call_id", "speaker", "text"];
const OPTIONAL: [&str; 4] = ["timestamp", "agent_id", "language", "scenario"];

/// Parse a CSV transcript file. Never fails as a whole: calls come back in
/// the order of their first record, and every unusable record (or call) as a
/// [`LineError`], sorted by line. Without a usable header row nothing parses
/// and the errors are on the header's line.
pub fn parse_csv(text: &str) -> (Vec<Call>, Vec<LineError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut calls = Assembler::default();
    let mut records = Reader::new(text).filter(|r| !r.is_blank());

    let Some(header) = records.next() else {
        calls.error(
            1,
            format!(
                "header: missing (the first row names the columns: {})",
                REQUIRED.join(", ")
            ),
        );
        return calls.finish();
    };
    let columns = match Columns::from_header(&header) {
        Ok(columns) => columns,
        Err(messages) => {
            for message in messages {
                calls.error(header.line, message);
            }
            return calls.finish();
        }
    };

    for record in records {
        match columns.row(&record) {
            Ok((call_id, meta, turn)) => calls.add_turn(record.line, call_id, meta, turn),
            Err(message) => calls.error(record.line, message),
        }
    }
    calls.finish()
}

/// Where each known column is (its index in a record).
struct Columns {
    names: Vec<String>,
    call_id: usize,
    speaker: usize,
    text: usize,
    timestamp: Option<usize>,
    agent_id: Option<usize>,
    language: Option<usize>,
    scenario: Option<usize>,
}

impl Columns {
    fn from_header(header: &Record) -> Result<Columns, Vec<String>> {
        let names: Vec<String> = header
            .fields
            .iter()
            .map(|f| f.trim().to_ascii_lowercase())
            .collect();
        if let Some(message) = header.problem(&|i| format!("header column {}", i + 1)) {
            return Err(vec![message]);
        }
        let mut errors = Vec::new();
        let find = |name: &str, errors: &mut Vec<String>| -> Option<usize> {
            let at: Vec<usize> = (0..names.len()).filter(|&i| names[i] == name).collect();
            if at.len() > 1 {
                let at: Vec<String> = at.iter().map(|i| (i + 1).to_string()).collect();
                errors.push(format!(
                    "header: column {name:?} given more than once (columns {})",
                    at.join(", ")
                ));
            }
            at.first().copied()
        };
        let required = REQUIRED.map(|name| find(name, &mut errors));
        for (name, at) in REQUIRED.iter().zip(&required) {
            if at.is_none() {
                errors.push(format!("header: missing column {name:?}"));
            }
        }
        let [timestamp, agent_id, language, scenario] =
            OPTIONAL.map(|name| find(name, &mut errors));
        if !errors.is_empty() {
            return Err(errors);
        }
        let [call_id, speaker, text] = required.map(Option::unwrap_or_default);
        Ok(Columns {
            names,
            call_id,
            speaker,
            text,
            timestamp,
            agent_id,
            language,
            scenario,
        })
    }

    /// The column a message names for field `i`.
    fn name(&self, i: usize) -> String {
        match self.names.get(i) {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("column {}", i + 1),
        }
    }

    /// One record as a turn of a call, checked as JSONL checks a turn row.
    fn row(&self, record: &Record) -> Result<(String, Meta, Turn), String> {
        if let Some(message) = record.problem(&|i| self.name(i)) {
            return Err(message);
        }
        if record.fields.len() != self.names.len() {
            return Err(format!(
                "{} fields where the header has {}",
                record.fields.len(),
                self.names.len()
            ));
        }
        let field = |i: usize| record.fields[i].as_str();
        let optional = |i: Option<usize>| i.map(field).filter(|s| !s.is_empty());
        let call_id = field(self.call_id).to_string();
        check_call_id(&call_id)?;
        let meta = Meta {
            agent_id: optional(self.agent_id).map(str::to_string),
            language: optional(self.language).map(parse_language).transpose()?,
            scenario: optional(self.scenario).map(parse_scenario).transpose()?,
            timestamp: optional(self.timestamp).map(str::to_string),
        };
        let speaker = match field(self.speaker) {
            "" => return Err("speaker: empty".into()),
            s => speaker_field(s, "")?,
        };
        let text = field(self.text).to_string();
        check_text(&text, "")?;
        Ok((call_id, meta, Turn { speaker, text }))
    }
}

/// One record, as read.
#[derive(Debug, PartialEq)]
struct Record {
    /// 1-based physical line where the record starts.
    line: usize,
    fields: Vec<String>,
    /// Its length in the file, without the line break that ends it.
    bytes: usize,
    /// The first thing wrong with its quoting, and in which field.
    error: Option<(usize, Quoting)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Quoting {
    /// `"abc"def`: something other than a comma or line break after a closing quote.
    AfterClosingQuote,
    /// The file ends inside a quoted field.
    Unclosed,
}

impl Record {
    /// A line with nothing (or only spaces) on it.
    fn is_blank(&self) -> bool {
        self.error.is_none() && self.fields.len() == 1 && self.fields[0].trim().is_empty()
    }

    /// What makes the record unusable, if anything, naming field `i` with `name(i)`.
    fn problem(&self, name: &dyn Fn(usize) -> String) -> Option<String> {
        if self.bytes > MAX_LINE_BYTES {
            return Some(format!(
                "record is {} bytes, over the {MAX_LINE_BYTES}-byte (1 MiB) limit",
                self.bytes
            ));
        }
        self.error.map(|(i, quoting)| match quoting {
            Quoting::AfterClosingQuote => format!(
                "{}: text after the closing quote (write a quote inside a quoted field as \"\")",
                name(i)
            ),
            Quoting::Unclosed => format!(
                "{}: quoted field never closed (the file ends inside it)",
                name(i)
            ),
        })
    }
}

/// RFC 4180 records, with their starting lines. Lenient where it costs
/// nothing: a quote inside an unquoted field is kept as it is, and CRLF inside
/// a quoted field becomes LF.
struct Reader<'a> {
    text: &'a str,
    /// Byte offset of the next record.
    at: usize,
    /// 1-based line at `at`.
    line: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            text,
            at: 0,
            line: 1,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after the quote that closed a quoted field.
    Closed,
}

impl Iterator for Reader<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.at >= self.text.len() {
            return None;
        }
        let start = self.at;
        let line = self.line;
        let rest = &self.text[start..];
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut error = None;
        let mut state = State::FieldStart;
        let mut chars = rest.char_indices().peekable();
        // Where the record's content ends, and where the next record starts.
        let (end, next) = loop {
            let Some((i, c)) = chars.next() else {
                if state == State::Quoted && error.is_none() {
                    error = Some((fields.len(), Quoting::Unclosed));
                }
                break (rest.len(), rest.len());
            };
            match (state, c) {
                (State::Quoted, '"') => {
                    if chars.next_if(|&(_, c)| c == '"').is_some() {
                        field.push('"');
                    } else {
                        state = State::Closed;
                    }
                }
                (State::Quoted, '\r') if chars.peek().is_some_and(|&(_, c)| c == '\n') => {}
                (State::Quoted, c) => {
                    if c == '\n' {
                        self.line += 1;
                    }
                    field.push(c);
                }
                (_, ',') => {
                    fields.push(std::mem::take(&mut field));
                    state = State::FieldStart;
                }
                (_, '\n') => break (i, i + 1),
                (_, '\r') if chars.peek().is_some_and(|&(_, c)| c == '\n') => break (i, i + 2),
                (State::FieldStart, '"') => state = State::Quoted,
                (State::Closed, c) => {
                    if error.is_none() {
                        error = Some((fields.len(), Quoting::AfterClosingQuote));
                    }
                    field.push(c);
                    state = State::Unquoted;
                }
                (State::FieldStart | State::Unquoted, c) => {
                    field.push(c);
                    state = State::Unquoted;
                }
            }
        };
        fields.push(field);
        self.at = start + next;
        self.line += 1;
        Some(Record {
            line,
            fields,
            bytes: end,
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::MAX_TEXT_CHARS;
    use super::*;
    use crate::scoring::{Language, ScenarioKind, Speaker};

    /// Parse, expecting no errors.
    fn ok(text: &str) -> Vec<Call> {
        let (calls, errors) = parse_csv(text);
        assert!(errors.is_empty(), "unexpected errors: {errors:?}");
        calls
    }

    /// Parse, expecting exactly one error; its `line N: message` form.
    fn one_error(text: &str) -> (Vec<Call>, String) {
        let (calls, errors) = parse_csv(text);
        assert_eq!(errors.len(), 1, "expected one error: {errors:?}");
        (calls, errors[0].to_string())
    }

    fn records(text: &str) -> Vec<(usize, Vec<String>)> {
        Reader::new(text).map(|r| (r.line, r.fields)).collect()
    }

    #[test]
    fn parses_turn_rows_grouped_by_call_id_in_file_order() {
        let calls = ok(concat!(
            "call_id,speaker,text,timestamp,agent_id,language,scenario\n",
            "c1,customer,\"Hi, my bill is wrong.\",2024-05-01T09:00:00Z,,,\n",
            "c2,客户,我要投诉。,,,,complaint\n",
            "c1,agent,\"Sorry to hear that, let me look.\",2024-05-01T09:00:05Z,a7,,\n",
            "c2,客服,非常抱歉，请您慢慢说。,,a9,,\n",
            "c1,customer,Thanks.,,a8,,outbound\n",
        ));
        assert_eq!(
            calls,
            vec![
                Call {
                    call_id: "c1".into(),
                    agent_id: Some("a7".into()),
                    language: Language::En,
                    scenario: ScenarioKind::Outbound,
                    timestamp: Some("2024-05-01T09:00:00Z".into()),
                    turns: vec![
                        customer("Hi, my bill is wrong."),
                        agent("Sorry to hear that, let me look."),
                        customer("Thanks."),
                    ],
                    first_line: 2,
                },
                Call {
                    call_id: "c2".into(),
                    agent_id: Some("a9".into()),
                    language: Language::Zh,
                    scenario: ScenarioKind::Complaint,
                    timestamp: None,
                    turns: vec![customer("我要投诉。"), agent("非常抱歉，请您慢慢说。")],
                    first_line: 3,
                },
            ]
        );
    }

    #[test]
    fn needs_only_the_three_required_columns_in_any_order_and_case() {
        let calls = ok("TEXT,Call_ID,Speaker\nHello there,c1,agent\n");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].call_id, "c1");
        assert_eq!(calls[0].turns, vec![agent("Hello there")]);
        assert_eq!(calls[0].agent_id, None);
        assert_eq!(calls[0].scenario, ScenarioKind::Inbound);
        assert_eq!(calls[0].timestamp, None);

        let calls = ok(concat!(
            "scenario, Language ,speaker,queue,agent_id,text,call_id\n",
            "telesales,zh,agent,billing,a1,Hello,c9\n"
        ));
        let c = &calls[0];
        assert_eq!(c.call_id, "c9");
        assert_eq!(c.turns, vec![agent("Hello")]);
        assert_eq!(c.agent_id.as_deref(), Some("a1"));
        assert_eq!(c.scenario, ScenarioKind::Telesales);
        assert_eq!(c.language, Language::Zh, "given beats detected");
    }

    #[test]
    fn reports_a_missing_required_column_on_the_header_line() {
        for (header, missing) in [
            ("speaker,text", "call_id"),
            ("call_id,text,timestamp", "speaker"),
            ("call_id,speaker,texts", "text"),
        ] {
            let text = format!("{header}\nc1,agent,Hello\nc2,agent,Hi\n");
            let (calls, msg) = one_error(&text);
            assert!(calls.is_empty(), "{header}");
            assert_eq!(
                msg,
                format!("line 1: header: missing column {missing:?}"),
                "{header}"
            );
        }
        let (calls, errors) = parse_csv("agent_id\na1\n");
        assert!(calls.is_empty());
        assert_eq!(
            messages(&errors),
            [
                r#"line 1: header: missing column "call_id""#,
                r#"line 1: header: missing column "speaker""#,
                r#"line 1: header: missing column "text""#,
            ]
        );
    }

    #[test]
    fn reports_a_missing_header_and_a_repeated_column() {
        for empty in ["", "\n\r\n  \n", "\u{feff}"] {
            let (calls, msg) = one_error(empty);
            assert!(calls.is_empty());
            assert!(msg.starts_with("line 1: header: missing"), "{msg}");
        }
        let (calls, msg) = one_error("call_id,speaker,text,Speaker\nc1,agent,Hi,customer\n");
        assert!(calls.is_empty());
        assert_eq!(
            msg,
            r#"line 1: header: column "speaker" given more than once (columns 2, 4)"#
        );
    }

    #[test]
    fn the_header_is_the_first_non_blank_line() {
        let (calls, msg) = one_error("\n\ncall_id,speaker\nc1,agent\n");
        assert!(calls.is_empty());
        assert_eq!(msg, r#"line 3: header: missing column "text""#);
        let calls = ok("\r\n\r\ncall_id,speaker,text\r\nc1,agent,Hi\r\n");
        assert_eq!(calls[0].first_line, 4);
    }

    #[test]
    fn reads_rfc_4180_quoting() {
        let calls = ok(concat!(
            "call_id,speaker,text\n",
            r#""c1","agent","Hello, ""valued"" customer.""#,
            "\n",
            r#"c1,customer,"""Quoted"" start""#,
            "\n",
            r#"c1,agent,"""""#,
            "\n",
            r#"c1,customer,a "quote" inside"#,
            "\n",
            "c1,agent,\"trailing comma,\"\n",
        ));
        let texts: Vec<_> = calls[0].turns.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                r#"Hello, "valued" customer."#,
                r#""Quoted" start"#,
                r#"""#,
                r#"a "quote" inside"#,
                "trailing comma,",
            ]
        );
        assert_eq!(
            records(r#"a,"",,"x""y""#),
            [(1, vec!["a".into(), "".into(), "".into(), "x\"y".into()])]
        );
    }

    #[test]
    fn keeps_newlines_inside_quotes_and_counts_physical_lines() {
        let (calls, errors) = parse_csv(concat!(
            "call_id,speaker,text\n",
            "c1,customer,\"My internet\nhas been down\nfor three days.\"\n",
            "c1,agent,\"I'm sorry.\r\nLet me check.\"\r\n",
            "c2,boss,\"Two\nlines\"\n",
            "c3,agent,\"Hi\"\n",
            "c4,agent,\"Hi\"x\n",
        ));
        assert_eq!(
            calls[0].turns,
            vec![
                customer("My internet\nhas been down\nfor three days."),
                agent("I'm sorry.\nLet me check."),
            ]
        );
        assert_eq!(calls[0].first_line, 2);
        assert_eq!(calls[1].call_id, "c3");
        assert_eq!(calls[1].first_line, 9, "lines 2-4, 5-6, 7-8 were c1 and c2");
        assert_eq!(
            messages(&errors),
            [
                r#"line 7: speaker: unknown speaker "boss" (use agent or customer)"#,
                r#"line 10: text: text after the closing quote (write a quote inside a quoted field as "")"#,
            ]
        );
    }

    #[test]
    fn reports_a_quoted_field_left_open_at_its_record_start() {
        let (calls, msg) = one_error(concat!(
            "call_id,speaker,text\n",
            "c1,agent,Hi\n",
            "c2,agent,\"Unclosed\n",
            "c3,agent,Never read\n",
        ));
        assert_eq!(calls.len(), 1);
        assert_eq!(
            msg,
            "line 3: text: quoted field never closed (the file ends inside it)"
        );
        let (_, msg) = one_error("call_id,\"speaker,text\n");
        assert_eq!(
            msg,
            "line 1: header column 2: quoted field never closed (the file ends inside it)"
        );
    }

    #[test]
    fn accepts_speaker_aliases_and_reports_unknown_ones_by_column() {
        let (calls, errors) = parse_csv(concat!(
            "call_id,speaker,text\n",
            "c1,客户,网断了\n",
            "c1,客服,抱歉\n",
            "c1,坐席,我马上查\n",
            "c2,Customer,Hi\n",
            "c2,AGENT,Hello\n",
            "c2,aGeNt,Yes\n",
            "c2,CUSTOMER,Bye\n",
            "c2,Boss,Stop\n",
            "c2, agent,Spaced\n",
            "c2,,Nobody\n",
        ));
        let speakers = |c: &Call| c.turns.iter().map(|t| t.speaker).collect::<Vec<_>>();
        use Speaker::{Agent as A, Customer as C};
        assert_eq!(speakers(&calls[0]), [C, A, A]);
        assert_eq!(speakers(&calls[1]), [C, A, A, C]);
        assert_eq!(
            messages(&errors),
            [
                r#"line 9: speaker: unknown speaker "Boss" (use agent or customer)"#,
                r#"line 10: speaker: unknown speaker " agent" (use agent or customer)"#,
                "line 11: speaker: empty",
            ]
        );
    }

    #[test]
    fn reports_bad_fields_by_column_and_keeps_the_rest_of_the_call() {
        let (calls, errors) = parse_csv(concat!(
            "call_id,speaker,text,language,scenario\n",
            "c1,customer,Hi,,\n",
            "c1,agent,Hello,de,\n",
            "c1,agent,How can I help?,,sales\n",
            ",agent,No id,,\n",
            "c1,agent,  ,,\n",
            "c1,agent,Too,few\n",
            "c1,agent,Too,many,,,\n",
            "c1,agent,Fine,,\n",
        ));
        assert_eq!(
            messages(&errors),
            [
                r#"line 3: language: unknown language "de" (use zh or en)"#,
                r#"line 4: scenario: unknown scenario "sales" (use inbound, outbound, telesales or complaint)"#,
                "line 5: call_id: empty",
                "line 6: text: empty",
                "line 7: 4 fields where the header has 5",
                "line 8: 7 fields where the header has 5",
            ]
        );
        assert_eq!(calls[0].turns, vec![customer("Hi"), agent("Fine")]);
        assert_eq!(calls[0].language, Language::En);
    }

    #[test]
    fn reports_a_call_without_an_agent_turn_at_its_first_record() {
        let (calls, errors) = parse_csv(concat!(
            "call_id,speaker,text\n",
            "ok,agent,Hi\n",
            "silent,customer,\"Hello?\nAnyone?\"\n",
            "silent,customer,Hello??\n",
        ));
        assert_eq!(calls.len(), 1);
        assert_eq!(
            messages(&errors),
            [r#"line 3: turns: call "silent" has no agent turn (nothing to score)"#]
        );
    }

    #[test]
    fn detects_language_from_the_agent_turns_only() {
        let calls = ok(concat!(
            "call_id,speaker,text\n",
            "en,customer,我的宽带三天都没网了，你们到底管不管？\n",
            "en,agent,\"I'm sorry, could you tell me your account number?\"\n",
            "zh,customer,\"My broadband has been down for three days, do you even care?\"\n",
            "zh,agent,非常抱歉，请问您的账号是多少？\n",
        ));
        assert_eq!(calls[0].language, Language::En);
        assert_eq!(calls[1].language, Language::Zh);
    }

    #[test]
    fn handles_crlf_and_a_bom() {
        let text = concat!(
            "\u{feff}Call_ID,speaker,text\r\n",
            "c1,customer,Hi\r\n",
            "\r\n",
            "c1,agent,Hello\r\n",
            "c2,boss,Hey\r\n",
            "c3,agent,\"Hey\"\r\n",
        );
        let (calls, errors) = parse_csv(text);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].turns[1].text, "Hello", "no trailing \\r");
        assert_eq!(calls[1].turns[0].text, "Hey");
        assert_eq!(calls[1].first_line, 6);
        assert_eq!(messages(&errors).len(), 1);
        assert_eq!(errors[0].line, 5);
        // A BOM anywhere else is data: here it spoils the header name.
        let (_, msg) = one_error("\u{feff}\u{feff}call_id,speaker,text\nc1,agent,Hi\n");
        assert_eq!(msg, r#"line 1: header: missing column "call_id""#);
        // The last record needs no line break; a lone CR is data.
        let calls = ok("call_id,speaker,text\nc1,agent,a\rb");
        assert_eq!(calls[0].turns[0].text, "a\rb");
    }

    #[test]
    fn limits_text_and_record_length_like_jsonl() {
        let at = format!(
            "call_id,speaker,text\nc1,agent,{}\n",
            "好".repeat(MAX_TEXT_CHARS)
        );
        assert_eq!(ok(&at)[0].turns[0].text.chars().count(), MAX_TEXT_CHARS);
        let over = format!(
            "call_id,speaker,text\nc1,agent,\"{}\"\n",
            "好".repeat(MAX_TEXT_CHARS + 1)
        );
        let (_, msg) = one_error(&over);
        assert_eq!(
            msg,
            "line 2: text: 20001 characters, over the 20000-character limit"
        );
        // A record over 1 MiB, counted across the lines it spans.
        let half = "x\n".repeat(MAX_LINE_BYTES / 4);
        let long = format!("c2,agent,\"{half}{half}\"");
        let text = format!("call_id,speaker,text\nc1,agent,Hi\n{long}\nc3,agent,Hi\n");
        let (calls, msg) = one_error(&text);
        assert_eq!(
            msg,
            format!(
                "line 3: record is {} bytes, over the {MAX_LINE_BYTES}-byte (1 MiB) limit",
                long.len()
            )
        );
        let ids: Vec<_> = calls.iter().map(|c| c.call_id.as_str()).collect();
        assert_eq!(ids, ["c1", "c3"]);
        assert_eq!(calls[1].first_line, 4 + MAX_LINE_BYTES / 2);
    }

    #[test]
    fn the_reader_reports_start_lines_and_blank_records() {
        let got = records("a,b\n\"x\ny\",z\r\n\n  \nlast");
        assert_eq!(
            got,
            [
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["x\ny".into(), "z".into()]),
                (4, vec!["".into()]),
                (5, vec!["  ".into()]),
                (6, vec!["last".into()]),
            ]
        );
        let blank: Vec<_> = Reader::new("\n  \n,\n").map(|r| r.is_blank()).collect();
        assert_eq!(blank, [true, true, false]);
        assert!(records("").is_empty());
    }
}
