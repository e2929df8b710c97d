//! `sparring persona check|list` as instructors and scripts call them.

use std::path::Path;
use std::process::{Command, Output};

fn sparring(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sparring"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("sparring runs")
}

#[test]
fn check_passes_the_library_and_names_file_line_and_field_of_a_mistake() {
    let out = sparring(&["persona", "check", "personas"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok    personas/broadband-outage-zh.toml")
    );

    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("../../personas/hesitant-buyer-en.toml")
        .unwrap()
        .replace("satisfied = \"trust >= 70", "satisfied = \"trust => 70");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("satisfied"))
        .unwrap()
        + 1;
    let out = sparring(&["persona", "check", "personas", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("bad.toml:{line}: end.satisfied: ")),
        "{stdout}"
    );
    let library = std::fs::read_dir("../../personas")
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    let summary = format!("1 of {} persona file(s) have errors", library + 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&summary),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn list_shows_language_scenario_difficulty_and_skills() {
    let out = sparring(&["persona", "list", "--json"]);
    assert!(out.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let zh = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "broadband-outage-zh")
        .unwrap();
    assert_eq!(zh["language"], "zh");
    assert_eq!(zh["scenario"], "complaint");
    assert_eq!(zh["difficulty"], 3);
    assert_eq!(zh["skills"][1], "4.3.2");
}
