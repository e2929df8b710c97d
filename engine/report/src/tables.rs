//! The machine-readable outputs of a batch, beside the HTML report: per-turn
//! JSONL, per-call and per-turn CSV (RFC 4180, one header row). The CLI
//! writes them to files, the web app serves them as downloads.

use sparring_scoring::batch::CallResult;
use std::collections::BTreeSet;
use std::io::{self, Write};

/// One scored call and the input file it came from.
pub type Row<'a> = (&'a str, &'a CallResult);

/// The columns of `calls.csv` before one column per dimension.
pub const CALLS_CSV_HEADER: &str = "file,call_id,agent_id,timestamp,agent_turns";
/// The header of `turns.csv`.
pub const TURNS_CSV_HEADER: &str =
    "file,call_id,agent_id,turn,dimension,skill_code,value,level,tip,evidence";

/// A CSV field, quoted when it has to be.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Every dimension any call has a mean for, sorted.
fn dimensions(rows: &[Row]) -> Vec<String> {
    let dims: BTreeSet<&String> = rows.iter().flat_map(|(_, r)| r.dimensions.keys()).collect();
    dims.into_iter().cloned().collect()
}

/// One JSON object per agent turn: file, call, agent, timestamp, turn,
/// reply, every plugin's scores and failures.
pub fn turns_jsonl(w: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    for (file, r) in rows {
        for t in &r.turns {
            let row = serde_json::json!({
                "file": file,
                "call_id": r.call_id,
                "agent_id": r.agent_id,
                "timestamp": r.timestamp,
                "turn": t.turn,
                "reply": t.reply,
                "scores": t.scores,
                "errors": t.errors,
            });
            writeln!(w, "{row}")?;
        }
    }
    Ok(())
}

/// One row per call: its mean per dimension (empty where not scored).
pub fn calls_csv(w: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    let dims = dimensions(rows);
    write!(w, "{CALLS_CSV_HEADER}")?;
    for d in &dims {
        write!(w, ",{}", csv_field(d))?;
    }
    writeln!(w)?;
    for (file, r) in rows {
        write!(
            w,
            "{},{},{},{},{}",
            csv_field(file),
            csv_field(&r.call_id),
            csv_field(r.agent_id.as_deref().unwrap_or("")),
            csv_field(r.timestamp.as_deref().unwrap_or("")),
            r.turns.len()
        )?;
        for d in &dims {
            match r.dimensions.get(d) {
                Some(v) => write!(w, ",{v:.2}")?,
                None => write!(w, ",")?,
            }
        }
        writeln!(w)?;
    }
    Ok(())
}

/// One row per score: a turn's dimension, skill code, value, level, tip
/// and evidence quotes joined by ` | `.
pub fn turns_csv(w: &mut impl Write, rows: &[Row]) -> io::Result<()> {
    writeln!(w, "{TURNS_CSV_HEADER}")?;
    for (file, r) in rows {
        for t in &r.turns {
            for s in &t.scores {
                let evidence: Vec<&str> = s.evidence.iter().map(|e| e.quote.as_str()).collect();
                writeln!(
                    w,
                    "{},{},{},{},{},{},{:.2},{},{},{}",
                    csv_field(file),
                    csv_field(&r.call_id),
                    csv_field(r.agent_id.as_deref().unwrap_or("")),
                    t.turn,
                    csv_field(&s.dimension),
                    csv_field(&s.skill_code),
                    s.value,
                    csv_field(&s.level),
                    csv_field(&s.tip),
                    csv_field(&evidence.join(" | "))
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparring_core::scoring::{Score, Span};
    use sparring_scoring::batch::TurnResult;

    fn result() -> CallResult {
        let score = |dimension: &str, value| Score {
            dimension: dimension.into(),
            skill_code: "4.3.2".into(),
            value,
            level: "1".into(),
            evidence: vec![Span {
                turn: None,
                quote: "I'm sorry, \"truly\"".into(),
                start: 0,
                end: 18,
            }],
            tip: "Name the feeling, then the fix".into(),
        };
        CallResult {
            call_id: "c,1".into(),
            agent_id: Some("a7".into()),
            timestamp: None,
            turns: vec![TurnResult {
                turn: 1,
                reply: "I'm sorry, \"truly\"".into(),
                scores: vec![score("empathy", 70.0), score("objection", 35.5)],
                errors: Vec::new(),
            }],
            dimensions: [
                ("empathy".to_string(), 70.0),
                ("objection".to_string(), 35.5),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn calls_have_a_column_per_dimension() {
        let r = result();
        let mut other = result();
        other.call_id = "c2".into();
        other.dimensions.remove("objection");
        let csv = text(|w| calls_csv(w, &[("day1.csv", &r), ("day2.csv", &other)]));
        assert_eq!(
            csv,
            "file,call_id,agent_id,timestamp,agent_turns,empathy,objection\n\
             day1.csv,\"c,1\",a7,,1,70.00,35.50\n\
             day2.csv,c2,a7,,1,70.00,\n"
        );
    }

    #[test]
    fn turns_have_a_row_per_score_and_a_line_per_turn() {
        let r = result();
        let csv = text(|w| turns_csv(w, &[("f.jsonl", &r)]));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], TURNS_CSV_HEADER);
        assert_eq!(
            lines[1],
            r#"f.jsonl,"c,1",a7,1,empathy,4.3.2,70.00,1,"Name the feeling, then the fix","I'm sorry, ""truly""""#
        );
        assert_eq!(lines.len(), 3);
        let jsonl = text(|w| turns_jsonl(w, &[("f.jsonl", &r)]));
        let row: serde_json::Value = serde_json::from_str(jsonl.trim()).unwrap();
        assert_eq!(row["file"], "f.jsonl");
        assert_eq!(row["scores"][1]["dimension"], "objection");
        assert_eq!(row["turn"], 1);
    }
}
