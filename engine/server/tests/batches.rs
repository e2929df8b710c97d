//! Batch jobs from the evaluator workspace on the path `sparring score`
//! takes: files in the three formats in one multipart upload, the same
//! downloads, and a job the server was stopped in resuming on restart
//! without scoring again what it had stored.

mod common;

use common::{manifests, Client, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sparring_core::transcript::{Format, TextOptions};
use sparring_scoring::batch::{call_fingerprint, plugins_fingerprint};
use sparring_scoring::{CompileCache, HostServices, Limits, Plugin, ScoringHost};
use sparring_store::{BatchCall, BatchInput, NewBatch, Store};
use std::sync::Arc;

const JSONL: &str = concat!(
    "{\"call_id\":\"c1\",\"agent_id\":\"a1\",\"turns\":[{\"speaker\":\"customer\",\"text\":\"My bill is wrong again.\"},{\"speaker\":\"agent\",\"text\":\"I'm so sorry, I understand how frustrating that is. Let me check it for you right now.\"}]}\n",
    "{\"call_id\":\"c2\",\"speaker\":\"customer\",\"text\":\"I want to cancel.\"}\n",
    "{\"call_id\":\"c2\",\"speaker\":\"agent\",\"text\":\"I understand. May I ask what made you decide, so I can see what we can do?\"}\n",
);

const CSV: &str = "call_id,agent_id,timestamp,speaker,text\r\n\
z1,a2,2024-05-02T09:30:00Z,客户,我家宽带断了三天了！\r\n\
z1,a2,2024-05-02T09:30:00Z,客服,\"非常理解您的心情，给您添麻烦了，我马上帮您查一下。\"\r\n\
z1,a2,2024-05-02T09:30:00Z,robot,hello\r\n";

const TEXT: &str = "Customer: The parcel is three days late.\nAgent: I'm sorry it is late. It is at the depot and\narrives tomorrow before noon.\n";

/// A multipart/form-data body with one part per (name, bytes).
fn multipart(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "sparring-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    // A form field that is not a file is ignored.
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"submit\"\r\n\r\ngo\r\n--{boundary}--\r\n").as_bytes(),
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    server: &TestServer,
    who: &Client,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let r = server
        .http
        .post(server.url(&format!("/api/batches{query}")))
        .bearer_auth(&who.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn download(
    server: &TestServer,
    who: &Client,
    id: i64,
    file: &str,
) -> (StatusCode, String, String) {
    let r = server
        .http
        .get(server.url(&format!("/api/batches/{id}/files/{file}")))
        .bearer_auth(&who.token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let disposition = r
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, disposition, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_in_three_formats_score_as_one_batch_with_the_cli_downloads() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let eve = server.login("eve").await;
    let (ct, body) = multipart(&[
        ("day-1.jsonl", JSONL.as_bytes()),
        ("day-2.csv", CSV.as_bytes()),
        ("parcel-7.txt", TEXT.as_bytes()),
        ("broken.txt", b"Agent: caf\xe9\n"),
    ]);
    let (s, v) = upload(&server, &eve, "", &ct, body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["calls"], 4, "{v}");
    let formats: Vec<(&str, &str)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["format"].as_str().unwrap()))
        .collect();
    assert_eq!(
        formats,
        [
            ("day-1.jsonl", "jsonl"),
            ("day-2.csv", "csv"),
            ("parcel-7.txt", "text")
        ]
    );
    let id = v["id"].as_i64().unwrap();
    let batch = eve.batch_finished(id).await;
    assert_eq!(batch["status"], "done", "{batch}");
    assert_eq!(batch["name"], "day-1.jsonl (+3 files)");
    let calls: Vec<(&str, &str)> = batch["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["file"].as_str().unwrap(), c["call_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        calls,
        [
            ("day-1.jsonl", "c1"),
            ("day-1.jsonl", "c2"),
            ("day-2.csv", "z1"),
            ("parcel-7.txt", "parcel-7")
        ]
    );
    let errors: Vec<(&str, u64)> = batch["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["file"].as_str().unwrap(), e["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(errors, [("day-2.csv", 4), ("broken.txt", 1)], "{batch}");
    assert!(
        batch["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("speaker"),
        "{batch}"
    );
    assert_eq!(batch["errors"][1]["message"], "not UTF-8 text");
    let z1 = &batch["calls"][2];
    assert_eq!(
        (z1["agent_id"].as_str(), z1["timestamp"].as_str()),
        (Some("a2"), Some("2024-05-02T09:30:00Z"))
    );
    assert!(z1["dimensions"]["empathy"].as_f64().unwrap() > 0.0, "{z1}");

    // The downloads are what `sparring score` writes, from these calls.
    let (s, disposition, csv) = download(&server, &eve, id, "calls.csv").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        disposition,
        format!("attachment; filename=\"batch-{id}-calls.csv\"")
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "file,call_id,agent_id,timestamp,agent_turns,empathy,expectation,objection"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[3].starts_with("day-2.csv,z1,a2,2024-05-02T09:30:00Z,1,"),
        "{csv}"
    );
    let (_, _, turns) = download(&server, &eve, id, "turns.csv").await;
    assert_eq!(turns.lines().count(), 1 + 4 * 3, "a row per score: {turns}");
    let (_, _, jsonl) = download(&server, &eve, id, "turns.jsonl").await;
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[3]["file"], "parcel-7.txt");
    assert_eq!(
        rows[3]["reply"],
        "I'm sorry it is late. It is at the depot and\narrives tomorrow before noon."
    );
    let (s, _, html) = download(&server, &eve, id, "report.html").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("<svg"),
        "{}",
        &html[..200.min(html.len())]
    );
    assert!(
        html.contains("broken.txt"),
        "the report lists the input errors"
    );
    let (s, _, body) = download(&server, &eve, id, "calls.xlsx").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body.contains("report.html, calls.csv, turns.csv, turns.jsonl"),
        "{body}"
    );
    let alice = server.login("alice").await;
    assert_eq!(
        download(&server, &alice, id, "calls.csv").await.0,
        StatusCode::FORBIDDEN
    );

    // One file as the body: the name's extension, or `format`, says how to read it.
    let (s, v) = upload(
        &server,
        &eve,
        "?name=day-2.csv",
        "text/csv",
        CSV.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (s, v["calls"].as_u64()),
        (StatusCode::ACCEPTED, Some(1)),
        "{v}"
    );
    assert_eq!(v["rejected_lines"][0]["line"], 4, "{v}");
    let (s, v) = upload(
        &server,
        &eve,
        "?name=parcel&format=text",
        "text/plain",
        TEXT.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (s, v["files"][0]["format"].as_str()),
        (StatusCode::ACCEPTED, Some("text")),
        "{v}"
    );
    let (s, v) = upload(
        &server,
        &eve,
        "?format=xml",
        "text/plain",
        TEXT.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["field"], "format", "{v}");
    let (s, v) = upload(
        &server,
        &eve,
        "?name=x.txt",
        "text/plain",
        b"\xff\xfe".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("x.txt: line 1: not UTF-8 text"),
        "{v}"
    );
    let (ct, _) = multipart(&[]);
    let (s, v) = upload(
        &server,
        &eve,
        "",
        &ct,
        format!("--{}--\r\n", "sparring-test-boundary-7f3a").into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no files"), "{v}");
    for id in [id + 1, id + 2] {
        assert_eq!(eve.batch_finished(id).await["status"], "done");
    }
}

/// What the server's plugins make of a call: the fingerprint a stored result
/// must carry to count as scored by them (the server applies no settings here).
fn fingerprint_of(input: &BatchInput, idx: usize) -> String {
    let cache = tempfile::tempdir().unwrap();
    let host = ScoringHost::new(
        Limits::default(),
        CompileCache::new(cache.path().to_path_buf()),
        Arc::new(HostServices::default()),
    )
    .unwrap();
    let plugins: Vec<Plugin> = manifests()
        .iter()
        .filter(|m| m.enabled)
        .map(|m| host.load(m).unwrap())
        .collect();
    let refs: Vec<&Plugin> = plugins.iter().collect();
    let (calls, errors) = Format::Jsonl.parse(&input.name, &input.content, &TextOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    call_fingerprint(&calls[idx], &plugins_fingerprint(&refs))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_job_resumes_at_start_and_keeps_what_it_had_scored() {
    let input = BatchInput {
        name: "day-1.jsonl".into(),
        format: "jsonl".into(),
        content: JSONL.into(),
    };
    let current = fingerprint_of(&input, 0);
    // A result no plugin would give, to tell kept from scored again.
    let marker =
        json!({"call_id": "c1", "agent_id": "a1", "turns": [], "dimensions": {"empathy": 12.5}});
    let mut ids = (0, 0);
    let prepare = |store: &mut Store| {
        let eve = store.user_by_name("eve").unwrap().unwrap();
        for (slot, fingerprint) in [
            (&mut ids.0, current.clone()),
            (&mut ids.1, "scored by older plugins".to_string()),
        ] {
            let id = store
                .create_batch(&NewBatch {
                    user_id: eve.id,
                    name: "day-1.jsonl",
                    inputs: std::slice::from_ref(&input),
                    calls_total: 2,
                    errors: &[],
                })
                .unwrap();
            store
                .put_batch_call(
                    id,
                    &BatchCall {
                        idx: 0,
                        file: "day-1.jsonl".into(),
                        call_id: "c1".into(),
                        agent_id: Some("a1".into()),
                        fingerprint,
                        result: marker.clone(),
                    },
                )
                .unwrap();
            *slot = id;
        }
        // From before batches kept their files: it cannot resume.
        let old = store
            .create_batch(&NewBatch {
                user_id: eve.id,
                name: "old.jsonl",
                inputs: &[],
                calls_total: 1,
                errors: &[],
            })
            .unwrap();
        assert_eq!(store.interrupted_batches().unwrap(), [ids.0, ids.1, old]);
    };
    let Some(server) = TestServer::start_with(prepare).await else {
        return;
    };
    let eve = server.login("eve").await;
    let kept = eve.batch_finished(ids.0).await;
    assert_eq!(kept["status"], "done", "{kept}");
    assert_eq!(
        kept["calls"][0]["dimensions"],
        json!({"empathy": 12.5}),
        "c1 was stored with these plugins: not scored again"
    );
    assert_eq!(kept["calls"][1]["call_id"], "c2");
    assert_eq!(
        kept["calls"][1]["dimensions"].as_object().unwrap().len(),
        3,
        "c2 was scored on resume: {kept}"
    );
    let rescored = eve.batch_finished(ids.1).await;
    assert_eq!(rescored["status"], "done");
    let c1 = &rescored["calls"][0];
    assert_eq!(
        c1["dimensions"].as_object().unwrap().len(),
        3,
        "c1 was scored by other plugins: scored again: {c1}"
    );
    assert_eq!(c1["turns"].as_array().unwrap().len(), 1);
    let old = eve.batch_finished(ids.1 + 1).await;
    assert_eq!(old["status"], "failed");
    assert!(
        old["summary"]["error"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{old}"
    );
}
