//! `sparring chat` scripted from stdin, `sparring persona fidelity` and
//! `sparring user` as scripts call them, on the real SmolLM2 model and the
//! built plugins.

mod common;

use common::{built, ok, repo, sparring_in, text};

/// `sparring args` from the repository root with `stdin` as its input.
fn sparring(args: &[&str], stdin: &str) -> std::process::Output {
    sparring_in(&repo(), args, stdin)
}

fn have_smollm2() -> bool {
    sparring_models::installed_or_skip("smollm2-135m-instruct").is_some()
}

const REPLIES: &str = "I'm sorry to bother you, it's about your broadband plan.\n\nCould you tell me how you use it in the evening?\n";

#[test]
fn scripted_chat_prints_one_customer_line_per_reply_and_repeats_itself() {
    if !have_smollm2() {
        return;
    }
    let args = [
        "chat",
        "--persona",
        "hesitant-buyer-en",
        "--model",
        "smollm2-135m-instruct",
        "--no-plugins",
        "--seed",
        "11",
    ];
    let a = ok(sparring(&args, REPLIES));
    let lines: Vec<String> = String::from_utf8_lossy(&a.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines.len(),
        3,
        "opening + one per reply (blank skipped): {lines:?}"
    );
    assert!(lines[0].starts_with("Oh, hello."), "{lines:?}");
    let b = ok(sparring(&args, REPLIES));
    assert_eq!(a.stdout, b.stdout, "same seed, same transcript");
}

#[test]
fn chat_json_has_transcript_scores_mood_trajectory_and_scorecard() {
    if !have_smollm2() {
        return;
    }
    built();
    let out = ok(sparring(
        &[
            "chat",
            "--persona",
            "personas/hesitant-buyer-en.toml",
            "--model",
            "smollm2-135m-instruct",
            "--no-embeddings",
            "--json",
        ],
        REPLIES,
    ));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let turns = v["turns"].as_array().unwrap();
    assert!(!turns.is_empty() && turns.len() <= 2, "{v}");
    assert_eq!(
        v["mood_trajectory"].as_array().unwrap().len(),
        turns.len() + 1
    );
    for t in turns {
        let plugins = t["plugins"].as_array().unwrap();
        assert_eq!(plugins.len(), 3, "{t}");
        assert!(plugins.iter().all(|p| p["scores"].as_array().is_some()));
        assert!(!t["customer"]["text"].as_str().unwrap().is_empty());
    }
    assert!(v["scorecard"]["total"].as_f64().is_some());
    assert!(v["scorecard"]["dimensions"].as_array().unwrap().len() == 3);
    assert_eq!(v["persona"], "hesitant-buyer-en");
}

#[test]
fn chat_names_what_is_wrong() {
    let out = sparring(
        &["chat", "--persona", "no-such-persona", "--no-plugins"],
        "",
    );
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("no persona `no-such-persona`"), "{msg}");
    assert!(msg.contains("hesitant-buyer-en"), "lists the ids: {msg}");
    // A broken file named for the id: its own error, with file and line.
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(repo().join("personas/hesitant-buyer-en.toml")).unwrap();
    let broken = dir.path().join("hesitant-buyer-en.toml");
    std::fs::write(&broken, good.replace("difficulty = 2", "difficulty = 9")).unwrap();
    let out = sparring(
        &[
            "chat",
            "--persona",
            "hesitant-buyer-en",
            "--personas",
            dir.path().to_str().unwrap(),
            "--no-plugins",
        ],
        "",
    );
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("hesitant-buyer-en.toml:8: difficulty: must be 1 to 5"),
        "{msg}"
    );
    if !have_smollm2() {
        return;
    }
    let long = format!("{}\nThanks for your patience.\n", "word ".repeat(600));
    let out = ok(sparring(
        &[
            "chat",
            "--persona",
            "hesitant-buyer-en",
            "--model",
            "smollm2-135m-instruct",
            "--no-plugins",
        ],
        &long,
    ));
    let msg = text(&out);
    assert!(
        msg.contains("stdin line 1: the reply is 2999 characters long; the limit is 2000; skipped"),
        "{msg}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        2,
        "{msg}"
    );
}

#[test]
fn fidelity_prints_the_table() {
    if !have_smollm2() {
        return;
    }
    built();
    // With no model candidates the run is fast; the state and scores are real.
    let out = ok(sparring(
        &[
            "persona",
            "fidelity",
            "--model",
            "smollm2-135m-instruct",
            "--persona",
            "broadband-outage-zh",
            "--trainee",
            "rude",
            "--trainee",
            "empathetic",
            "--attempts",
            "0",
            "--no-embeddings",
        ],
        "",
    ));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| broadband-outage-zh | rude |"), "{table}");
    let rude = table.lines().find(|l| l.contains("| rude |")).unwrap();
    assert!(
        rude.contains("hung_up") && rude.ends_with("| yes |"),
        "{rude}"
    );
    let good = table
        .lines()
        .find(|l| l.contains("| empathetic |"))
        .unwrap();
    assert!(good.contains("satisfied"), "{good}");
    assert!(
        table.contains("the session ended correctly in 2/2"),
        "{table}"
    );
}

#[test]
fn user_add_stores_a_hash_and_refuses_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let db = db.to_str().unwrap();
    let out = ok(sparring(
        &[
            "user",
            "add",
            "root",
            "--role",
            "admin",
            "--password-stdin",
            "--db",
            db,
        ],
        "s3cret-pass\n",
    ));
    assert!(text(&out).contains("added root (admin)"), "{}", text(&out));
    let list = ok(sparring(&["user", "list", "--db", db, "--json"], ""));
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v[0]["name"], "root");
    assert_eq!(v[0]["role"], "admin");
    assert!(v[0].get("password_hash").is_none(), "hashes never printed");
    let store = sparring_store::Store::open(std::path::Path::new(db)).unwrap();
    let root = store.user_by_name("root").unwrap().unwrap();
    assert!(sparring_store::password::verify(
        "s3cret-pass",
        &root.password_hash
    ));
    assert!(!root.password_hash.contains("s3cret"));
    for (args, stdin, says) in [
        (
            vec!["user", "add", "root", "--password-stdin"],
            "another-pass\n",
            "user `root` exists",
        ),
        (
            vec!["user", "add", "eve", "--role", "god", "--password-stdin"],
            "x\n",
            "--role god",
        ),
        (
            vec!["user", "add", "eve", "--password-stdin"],
            "short\n",
            "at least 8",
        ),
        (vec!["user", "add", "eve"], "", "--password-stdin"),
    ] {
        let mut args = args.clone();
        args.extend(["--db", db]);
        let out = sparring(&args, stdin);
        assert!(!out.status.success());
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
}
