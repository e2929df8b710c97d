//! `sparring score`: batch scoring of transcripts with the real plugins,
//! malformed input reported and skipped, and reruns that resume.

mod common;

use common::{ok, repo, sparring_in, text};
use std::path::Path;

const CALLS: &str = concat!(
    "{\"call_id\":\"c1\",\"agent_id\":\"a1\",\"turns\":[{\"speaker\":\"customer\",\"text\":\"My bill is wrong again.\"},",
    "{\"speaker\":\"agent\",\"text\":\"I'm so sorry, I understand how frustrating that is. Let me check it for you right now.\"}]}\n",
    "{\"call_id\":\"c2\",\"speaker\":\"客户\",\"text\":\"我家宽带断了三天了！\",\"agent_id\":\"a2\"}\n",
    "oops\n",
    "{\"call_id\":\"c2\",\"speaker\":\"客服\",\"text\":\"非常理解您的心情，给您添麻烦了，我马上帮您查一下。\"}\n",
);

fn score(dir: &Path, extra: &[&str]) -> String {
    let plugins = repo().join("plugins");
    let mut args = vec![
        "score",
        "in",
        "--out",
        "out",
        "--quiet",
        "--no-embeddings",
        "--plugins",
    ];
    args.push(plugins.to_str().unwrap());
    args.extend_from_slice(extra);
    text(&ok(sparring_in(dir, &args, "")))
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn transcripts_are_scored_and_reruns_resume() {
    common::built();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("day2")).unwrap();
    std::fs::write(input.join("calls.jsonl"), CALLS).unwrap();
    std::fs::write(
        input.join("day2/more.ndjson"),
        "{\"call_id\":\"c3\",\"turns\":[{\"speaker\":\"agent\",\"text\":\"It's not my problem, call billing.\"}]}\n",
    )
    .unwrap();
    // The same kinds of calls as CSV and as a plain-text transcript.
    std::fs::write(
        input.join("day2/export.csv"),
        "call_id,speaker,text,agent_id\nc4,customer,\"It broke, again.\",\nc4,agent,\"I'm sorry, I understand. I'll send a technician tomorrow morning.\",a1\n",
    )
    .unwrap();
    std::fs::write(
        input.join("day2/c5.txt"),
        "客户：我的快递三天没到了。\n客服：非常抱歉，我马上帮您查，\n今天下午三点前给您回电。\n",
    )
    .unwrap();
    let out = score(dir.path(), &[]);
    assert!(out.contains("5 calls: 5 scored, 0 already scored"), "{out}");
    assert!(
        out.contains("calls.jsonl:3: not valid JSON"),
        "the bad line is named: {out}"
    );
    for d in ["empathy", "expectation", "objection"] {
        assert!(out.contains(d), "{out}");
    }
    let o = dir.path().join("out");
    let calls_csv = lines(&o.join("calls.csv"));
    assert_eq!(
        calls_csv[0],
        "file,call_id,agent_id,timestamp,agent_turns,empathy,expectation,objection"
    );
    assert_eq!(calls_csv.len(), 6, "{calls_csv:?}");
    assert!(
        calls_csv.iter().any(|r| r.contains("export.csv,c4,a1,")),
        "{calls_csv:?}"
    );
    assert!(
        calls_csv.iter().any(|r| r.contains("c5.txt,c5,")),
        "{calls_csv:?}"
    );
    let empathy = |call: &str| -> f64 {
        let row = calls_csv
            .iter()
            .find(|r| r.contains(&format!(",{call},")))
            .unwrap();
        row.split(',').nth(5).unwrap().parse().unwrap()
    };
    assert!(
        empathy("c1") > empathy("c3"),
        "an empathetic reply beats a dismissive one: {calls_csv:?}"
    );
    assert_eq!(lines(&o.join("turns.jsonl")).len(), 5);
    let turns = std::fs::read_to_string(o.join("turns.jsonl")).unwrap();
    assert!(
        turns.contains("我马上帮您查，\\n今天下午三点前给您回电。"),
        "a continued line joins its turn: {turns}"
    );
    let report = std::fs::read_to_string(o.join("report.html")).unwrap();
    for needle in ["<svg", "4.3.2", "c5", "calls.jsonl"] {
        assert!(report.contains(needle), "report lacks {needle}");
    }
    assert!(
        !report.contains("http://") && !report.contains("https://"),
        "the report needs no network"
    );
    let errors = lines(&o.join("errors.jsonl"));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("\"line\":3"), "{errors:?}");

    // Nothing to do the second time.
    let out = score(dir.path(), &[]);
    assert!(out.contains("5 calls: 0 scored, 5 already scored"), "{out}");
    // An interrupted run: the journal's last line is torn, one call is missing.
    let journal = o.join("calls.jsonl");
    let mut kept = lines(&journal);
    kept.pop();
    kept.push("{\"file\":\"in/calls.jsonl\",\"fingerp".into());
    std::fs::write(&journal, kept.join("\n") + "\n").unwrap();
    let out = score(dir.path(), &[]);
    assert!(out.contains("1 unreadable line(s)"), "{out}");
    assert!(out.contains("5 calls: 1 scored, 4 already scored"), "{out}");
    assert_eq!(lines(&journal).len(), 5, "the torn line is gone");
    assert_eq!(lines(&o.join("calls.csv")).len(), 6);
    // A changed call is scored again; a removed input leaves the outputs.
    std::fs::write(input.join("day2/more.ndjson"), "{\"call_id\":\"c3\",\"turns\":[{\"speaker\":\"agent\",\"text\":\"I'm sorry, I will fix it today.\"}]}\n").unwrap();
    let out = score(dir.path(), &[]);
    assert!(out.contains("5 calls: 1 scored, 4 already scored"), "{out}");
    std::fs::remove_file(input.join("day2/more.ndjson")).unwrap();
    let out = score(dir.path(), &[]);
    assert!(out.contains("4 calls: 0 scored"), "{out}");
    assert_eq!(lines(&o.join("calls.csv")).len(), 5);
}

#[test]
fn inputs_that_name_nothing_are_reported_and_the_rest_scored() {
    common::built();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.jsonl"), CALLS).unwrap();
    let plugins = repo().join("plugins");
    let out = sparring_in(
        dir.path(),
        &[
            "score",
            "in/*.jsonl",
            "missing.jsonl",
            "in/*.csv",
            "--out",
            "out",
            "--quiet",
            "--no-embeddings",
            "--plugins",
            plugins.to_str().unwrap(),
        ],
        "",
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("missing.jsonl: no transcript files here"), "{t}");
    assert!(t.contains("in/*.csv: no transcript files here"), "{t}");
    assert!(t.contains("2 calls: 2 scored"), "{t}");
}
