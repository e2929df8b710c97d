//! Which of the three transcript formats a file is in, so that the CLI, the
//! web app and anything else reading transcripts decide it the same way.

use super::{parse_csv, parse_jsonl, parse_text, Call, LineError, TextOptions};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A transcript file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jsonl,
    Csv,
    Text,
}

/// File extensions a directory is searched for (lower case, without the
/// dot). `.json` is read as JSONL when named, but not searched for: a folder
/// of transcripts often holds other JSON.
pub const EXTENSIONS: &[&str] = &["jsonl", "ndjson", "csv", "txt"];

impl Format {
    /// By extension (any case): `.jsonl`, `.ndjson`, `.json`, `.csv`, `.txt`.
    pub fn from_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }

    /// By extension, else by content: a first non-blank character `{` is
    /// JSONL, a first line naming `call_id`, `speaker` and `text` is CSV,
    /// anything else is a plain-text transcript.
    pub fn detect(name: &str, text: &str) -> Format {
        if let Some(f) = Format::from_name(name) {
            return f;
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim_start().starts_with('{') {
            return Format::Jsonl;
        }
        let header = text.lines().next().unwrap_or("").to_ascii_lowercase();
        let cols: Vec<&str> = header
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        if ["call_id", "speaker", "text"]
            .iter()
            .all(|c| cols.contains(c))
        {
            return Format::Csv;
        }
        Format::Text
    }

    /// The calls of one file's `text`. A plain-text transcript is one call,
    /// named for the file (its name without directory and extension).
    pub fn parse(
        self,
        name: &str,
        text: &str,
        options: &TextOptions,
    ) -> (Vec<Call>, Vec<LineError>) {
        match self {
            Format::Jsonl => parse_jsonl(text),
            Format::Csv => parse_csv(text),
            Format::Text => {
                let (call, errors) = parse_text(call_id_of(name), text, options);
                (call.into_iter().collect(), errors)
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Text => "text",
        }
    }
}

/// A file name without its directories and its last extension.
fn call_id_of(name: &str) -> &str {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ if base.is_empty() => "call",
        _ => base,
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "text" | "txt" => Ok(Format::Text),
            _ => Err(format!(
                "unknown transcript format {s:?} (use jsonl, csv or text)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_decides_before_content() {
        assert_eq!(Format::from_name("day1.JSONL"), Some(Format::Jsonl));
        assert_eq!(Format::from_name("a/b.ndjson"), Some(Format::Jsonl));
        assert_eq!(Format::from_name("calls.csv"), Some(Format::Csv));
        assert_eq!(Format::from_name("call-7.txt"), Some(Format::Text));
        assert_eq!(Format::from_name("notes"), None);
        assert_eq!(Format::detect("x.txt", "{\"call_id\":1}"), Format::Text);
    }

    #[test]
    fn content_decides_without_an_extension() {
        assert_eq!(
            Format::detect("upload", "\u{feff}  {\"call_id\": \"a\"}"),
            Format::Jsonl
        );
        assert_eq!(
            Format::detect("upload", "Call_ID,Speaker,Text\na,agent,hi"),
            Format::Csv
        );
        assert_eq!(
            Format::detect("upload", "\"call_id\",\"speaker\",\"text\"\n"),
            Format::Csv
        );
        assert_eq!(
            Format::detect("upload", "客服：您好\n客户：你好"),
            Format::Text
        );
    }

    #[test]
    fn a_text_transcript_is_named_for_its_file() {
        let (calls, errors) = Format::Text.parse(
            "calls/2026/c-17.txt",
            "Customer: My bill doubled.\nAgent: I'm sorry, let me check it now.",
            &TextOptions::default(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(calls[0].call_id, "c-17");
        assert_eq!(call_id_of("C:\\x\\y.txt"), "y");
        assert_eq!(call_id_of(".txt"), ".txt");
        assert_eq!(call_id_of(""), "call");
    }

    #[test]
    fn names_parse_back() {
        for f in [Format::Jsonl, Format::Csv, Format::Text] {
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        }
        assert!("xml"
            .parse::<Format>()
            .unwrap_err()
            .contains("jsonl, csv or text"));
    }
}
