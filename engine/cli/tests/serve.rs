//! `sparring serve` as a process: killed mid-session and restarted, it has
//! every stored turn and the session goes on.

mod common;

use common::{ok, repo, sparring_in};
use futures::StreamExt;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const PASSWORD: &str = "a long test passphrase";

/// Starts `sparring serve` on a free port; the child and its base URL.
fn serve(db: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sparring"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--model",
            "smollm2-135m-instruct",
            "--attempts",
            "1",
            "--no-embeddings",
        ])
        .arg("--db")
        .arg(db)
        .arg("--plugins")
        .arg(repo().join("plugins"))
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sparring serve runs");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("serve exited: {:?}", child.try_wait()))
            .unwrap();
        if let Some(rest) = line.strip_prefix("sparring: http://") {
            let addr = rest.split('/').next().unwrap();
            break format!("http://{addr}");
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

async fn login(http: &reqwest::Client, base: &str) -> String {
    let v: Value = http
        .post(format!("{base}/api/login"))
        .json(&json!({ "name": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"].as_str().expect("logged in").to_string()
}

/// `method path` with a bearer token and maybe a JSON body; the JSON reply.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// Sends a reply and reads the stream to `done`; the stored turn.
async fn reply(http: &reqwest::Client, base: &str, token: &str, id: i64, text: &str) -> Value {
    let body = http
        .post(format!("{base}/api/sessions/{id}/turns"))
        .bearer_auth(token)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = body
        .split("\n\n")
        .find(|b| b.starts_with("event: done"))
        .unwrap_or_else(|| panic!("no done event: {body}"));
    let data = done.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    serde_json::from_str::<Value>(data).unwrap()["turn"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_keeps_every_stored_turn_and_the_session_goes_on() {
    if sparring_models::installed_or_skip("smollm2-135m-instruct").is_none() {
        return;
    }
    common::built();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sparring.db");
    let db_arg = db.to_str().unwrap();
    ok(sparring_in(
        &repo(),
        &[
            "user",
            "add",
            "alice",
            "--role",
            "trainee",
            "--password-stdin",
            "--db",
            db_arg,
        ],
        PASSWORD,
    ));
    let http = reqwest::Client::new();
    let (mut child, base) = serve(&db);
    let token = login(&http, &base).await;
    let v = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/sessions"),
        &token,
        Some(json!({ "persona_id": "billing-inquiry-en", "mode": "practice", "seed": 3 })),
    )
    .await;
    let id = v["id"].as_i64().unwrap();
    let t1 = reply(
        &http,
        &base,
        &token,
        id,
        "I'm sorry about that, let me look into it for you right away.",
    )
    .await;
    let t2 = reply(
        &http,
        &base,
        &token,
        id,
        "Could you tell me a bit more about what happened?",
    )
    .await;
    // The third reply is in flight when the server dies.
    let r = http
        .post(format!("{base}/api/sessions/{id}/turns"))
        .bearer_auth(&token)
        .json(&json!({ "text": "I understand. I will check it now and call you back within an hour with an answer." }))
        .send()
        .await
        .unwrap();
    let mut stream = r.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: attempt") && !seen.contains("event: line") {
        seen.push_str(&String::from_utf8_lossy(
            &stream.next().await.unwrap().unwrap(),
        ));
    }
    child.kill().unwrap(); // SIGKILL: no clean shutdown
    child.wait().unwrap();

    let (mut child, base) = serve(&db);
    let token = login(&http, &base).await; // logins are stored too
    let v = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/api/sessions/{id}"),
        &token,
        None,
    )
    .await;
    let turns = v["turns"].as_array().unwrap();
    assert!(turns.len() >= 2, "{v}");
    assert_eq!(turns[0], t1);
    assert_eq!(turns[1], t2);
    assert_eq!(v["status"], "open");
    // It resumes where it stopped, then closes with a scorecard.
    let t = reply(
        &http,
        &base,
        &token,
        id,
        "Is there anything else I can help with?",
    )
    .await;
    assert!(!t["customer"]["text"].as_str().unwrap().is_empty());
    let v = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/api/sessions/{id}/end"),
        &token,
        None,
    )
    .await;
    assert_eq!(v["status"], "ended", "{v}");
    assert_eq!(v["turns"].as_array().unwrap().len(), turns.len() + 1);
    assert!(v["scorecard"]["total"].as_f64().is_some(), "{v}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Node, Chromium and the test's npm packages, or why not.
fn browser_ready() -> Result<std::path::PathBuf, String> {
    let dir = repo().join("engine/server/tests/browser");
    if !Path::new("/usr/bin/chromium").exists() {
        return Err("no /usr/bin/chromium (apt-get install chromium)".into());
    }
    if !dir.join("node_modules/playwright-core").is_dir() {
        return Err(format!(
            "no playwright-core: run `npm ci` in {}",
            dir.display()
        ));
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(dir),
        _ => Err("no node".into()),
    }
}

/// The browser scenarios (engine/server/tests/browser/run.mjs) in headless
/// Chromium against a real `sparring serve`: a trainee completes a session
/// and sees the scorecard, an instructor sees a persona's validation error,
/// another trainee cannot open the first one's session, an evaluator scores a
/// JSONL upload, an admin adds accounts.
#[test]
fn browser_scenarios_pass_in_headless_chromium() {
    if sparring_models::installed_or_skip("smollm2-135m-instruct").is_none() {
        return;
    }
    let dir = match browser_ready() {
        Ok(d) => d,
        Err(why) if std::env::var("SPARRING_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("browser tests required: {why}")
        }
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    common::built();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("sparring.db");
    let db_arg = db.to_str().unwrap();
    for (name, role) in [
        ("alice", "trainee"),
        ("bob", "trainee"),
        ("ivy", "instructor"),
        ("eve", "evaluator"),
        ("ada", "admin"),
    ] {
        ok(sparring_in(
            &repo(),
            &[
                "user",
                "add",
                name,
                "--role",
                role,
                "--password-stdin",
                "--db",
                db_arg,
            ],
            PASSWORD,
        ));
    }
    let (mut child, base) = serve(&db);
    let out = Command::new("node")
        .arg("run.mjs")
        .args(["--base", &base])
        .current_dir(&dir)
        .env("SPARRING_TEST_TRAINEE", format!("alice:{PASSWORD}"))
        .env("SPARRING_TEST_TRAINEE2", format!("bob:{PASSWORD}"))
        .env("SPARRING_TEST_INSTRUCTOR", format!("ivy:{PASSWORD}"))
        .env("SPARRING_TEST_EVALUATOR", format!("eve:{PASSWORD}"))
        .env("SPARRING_TEST_ADMIN", format!("ada:{PASSWORD}"))
        .env("OUT_DIR", tmp.path())
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let text = common::text(&out);
    println!("{text}");
    assert!(
        out.status.success(),
        "browser scenarios failed (screenshots in {}):\n{text}",
        tmp.keep().display()
    );
    assert!(text.contains("PASS"), "{text}");
}
