//! `sparring plugin …`, `sparring eval`, `sparring bench scoring` and
//! `sparring bench score` as users and scripts call them, on real components
//! built by `plugin build`.

mod common;

use common::{built, ok, repo, sparring, text};

#[test]
fn build_reports_each_builtin_plugin_with_its_skill_codes() {
    let out = built();
    assert!(out.contains("empathy (4.2.1,4.2.2,4.3.2)"), "{out}");
    assert!(out.contains("expectation (1.2.3,3.2.5)"), "{out}");
    assert!(out.contains("objection (3.2.3)"), "{out}");
    assert!(repo().join("plugins/empathy/empathy.wasm").is_file());
}

#[test]
fn list_shows_dimensions_as_json() {
    built();
    let out = ok(sparring(&[
        "plugin",
        "list",
        "--json",
        "--plugins",
        "plugins",
    ]));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["empathy", "expectation", "objection"]);
    assert_eq!(rows[0]["dimensions"][0]["name_zh"], "同理心与情绪安抚");
    assert!(rows[0]["error"].is_null());
}

#[test]
fn new_scaffolds_a_plugin_that_builds_and_passes_its_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("courtesy");
    let dir_s = dir.to_str().unwrap();
    let out = ok(sparring(&["plugin", "new", "courtesy", "--dir", dir_s]));
    assert!(text(&out).contains("created plugin `courtesy`"));
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.lines().count() < 60, "the example stays short");

    let out = ok(sparring(&["plugin", "build", dir_s]));
    assert!(text(&out).contains("courtesy (1.1.4)"), "{}", text(&out));
    let cases = dir.join("cases.jsonl");
    let out = ok(sparring(&[
        "plugin",
        "test",
        dir_s,
        cases.to_str().unwrap(),
    ]));
    assert!(
        text(&out).contains("courtesy: 3/3 cases passed"),
        "{}",
        text(&out)
    );

    // A failing case and a broken line: reported, exit status 1.
    let mut more = std::fs::read_to_string(&cases).unwrap();
    more.push_str("{\"name\": \"wrong\", \"language\": \"en\", \"scenario\": \"inbound\", \"reply\": \"Hello, please, thanks!\", \"level\": 0}\n");
    more.push_str("{\"name\": \"broken\", \"language\": \"en\"\n");
    std::fs::write(&cases, more).unwrap();
    let out = sparring(&["plugin", "test", dir_s, cases.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("FAIL wrong"), "{t}");
    assert!(t.contains("cases.jsonl:5:"), "{t}");
    assert!(t.contains("3/4 cases passed, 1 unreadable line(s)"), "{t}");
}

#[test]
fn new_refuses_bad_names_and_existing_directories() {
    let out = sparring(&["plugin", "new", "Bad Name"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("lowercase letters"), "{}", text(&out));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("keep.txt"), "x").unwrap();
    let out = sparring(&["plugin", "new", "x", "--dir", tmp.path().to_str().unwrap()]);
    assert!(text(&out).contains("not empty"), "{}", text(&out));
    assert!(tmp.path().join("keep.txt").is_file());
}

#[test]
fn eval_reports_agreement_per_dimension() {
    built();
    let out = ok(sparring(&[
        "eval",
        "evals/scoring",
        "--split",
        "test",
        "--json",
        "--no-embeddings",
        "--plugins",
        "plugins",
    ]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let all: Vec<&serde_json::Value> = report["agreements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["language"] == "all")
        .collect();
    assert_eq!(all.len(), 3);
    for a in all {
        assert_eq!(a["n"], 48);
        assert!(a["spearman"].as_f64().unwrap() > 0.4, "{a}");
        assert!(a["qwk"].as_f64().is_some());
    }
    assert_eq!(report["predictions"].as_array().unwrap().len(), 144);
}

#[test]
fn plugin_test_runs_a_labelled_set_and_reports_failures() {
    built();
    let out = sparring(&[
        "plugin",
        "test",
        "empathy",
        "evals/scoring/empathy.jsonl",
        "--plugins",
        "plugins",
        "--no-embeddings",
    ]);
    let t = text(&out);
    assert!(t.contains("PASS emp-"), "{t}");
    assert!(t.contains("empathy: "), "{t}");
    assert!(t.contains("/96 cases passed"), "{t}");
}

#[test]
fn bench_scoring_prints_latency_and_load_costs() {
    built();
    let out = ok(sparring(&[
        "bench",
        "scoring",
        "--repeats",
        "1",
        "--json",
        "--no-embeddings",
        "--plugins",
        "plugins",
    ]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["load"].as_array().unwrap().len(), 3);
    let all = report["latency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["what"] == "all three")
        .unwrap();
    assert_eq!(all["replies"], 288);
    assert!(all["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(report["fuel_per_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn bench_score_times_the_batch_path_at_each_job_count() {
    built();
    let out = ok(sparring(&[
        "bench",
        "score",
        "--calls",
        "20",
        "--turns",
        "3",
        "--jobs",
        "1,2",
        "--json",
        "--no-embeddings",
        "--plugins",
        "plugins",
    ]));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    let shape: Vec<(bool, u64, u64, u64)> = runs
        .iter()
        .map(|r| {
            (
                r["embeddings"].as_bool().unwrap(),
                r["jobs"].as_u64().unwrap(),
                r["calls"].as_u64().unwrap(),
                r["agent_turns"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shape, [(false, 1, 20, 60), (false, 2, 20, 60)]);
    for r in runs {
        assert!(r["turns_per_second"].as_f64().unwrap() > 0.0, "{r}");
    }
    assert_eq!(runs[0]["scaling"], 1.0);
    let out = sparring(&["bench", "score", "--jobs", "0", "--plugins", "plugins"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("at least 1"), "{}", text(&out));
}

#[test]
fn an_incompatible_plugin_is_reported_and_the_others_still_load() {
    built();
    // Building the test components: the incompatible one fails its load check.
    let out = sparring(&["plugin", "build", "plugins/tests"]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("future-version       FAILED TO LOAD"), "{t}");
    assert!(t.contains("imports sparring:scorer/host@0.2.0"), "{t}");
    assert!(t.contains("hostile "), "{t}");

    let out = ok(sparring(&[
        "plugin",
        "list",
        "--json",
        "--plugins",
        "plugins",
        "--plugins",
        "plugins/tests/future-version",
    ]));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let future = rows.iter().find(|r| r["id"] == "future-version").unwrap();
    assert!(
        future["error"]
            .as_str()
            .unwrap()
            .contains("built for another interface"),
        "{future}"
    );
    assert!(rows.iter().filter(|r| r["error"].is_null()).count() == 3);
}
