//! What each workspace does, end to end over HTTP: assignments to progress,
//! plugin settings that change scoring, persona authoring and "try it",
//! batch scoring of uploaded transcripts.

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn score(turn: &Value, dimension: &str) -> Option<f64> {
    turn["plugins"]
        .as_array()?
        .iter()
        .flat_map(|p| p["scores"].as_array().cloned().unwrap_or_default())
        .find(|s| s["dimension"] == dimension)
        .and_then(|s| s["value"].as_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_done_shows_in_progress_and_the_class_overview() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let alice = server.login("alice").await;
    let ivy = server.login("ivy").await;
    let (s, a) = ivy
        .post(
            "/api/assignments",
            json!({ "user_id": alice.user_id, "persona_id": "billing-inquiry-en", "mode": "exam", "due": "2999-01-01" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, v) = ivy
        .post("/api/assignments", json!({ "user_id": alice.user_id, "persona_id": "billing-inquiry-en", "due": "tomorrow" }))
        .await;
    assert!(s.is_client_error(), "a bad date is refused: {v}");
    let (_, mine) = alice.get("/api/assignments").await;
    assert_eq!(mine[0]["status"], "open", "{mine}");
    assert_eq!(mine[0]["persona_name"], "Helen Carter");
    // Started from the assignment: its persona and mode, whatever the body says.
    let (s, v) = alice
        .post("/api/sessions", json!({ "assignment_id": a["id"], "mode": "practice", "persona_id": "hesitant-buyer-en" }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["persona_id"], "billing-inquiry-en");
    assert_eq!(v["mode"], "exam");
    let id = v["id"].as_i64().unwrap();
    alice
        .reply(
            id,
            "I'm sorry about that, let me look into it for you right away.",
        )
        .await
        .unwrap();
    alice
        .reply(id, "Could you tell me a bit more about what happened?")
        .await
        .unwrap();
    let (s, v) = alice
        .post(&format!("/api/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, mine) = alice.get("/api/assignments").await;
    assert_eq!(mine[0]["status"], "done", "{mine}");
    assert_eq!(mine[0]["session_id"], id);

    let (_, p) = alice.get("/api/progress").await;
    let points = p["points"].as_array().unwrap();
    let dims: Vec<&str> = points
        .iter()
        .map(|p| p["dimension"].as_str().unwrap())
        .collect();
    for d in ["empathy", "expectation", "objection"] {
        assert!(dims.contains(&d), "{p}");
    }
    // The point is the mean of the session's turns.
    let (_, view) = alice.get(&format!("/api/sessions/{id}")).await;
    let turns = view["turns"].as_array().unwrap();
    let mean = turns
        .iter()
        .map(|t| score(t, "empathy").unwrap())
        .sum::<f64>()
        / turns.len() as f64;
    let point = points.iter().find(|p| p["dimension"] == "empathy").unwrap();
    assert!(
        (point["value"].as_f64().unwrap() - mean).abs() < 1e-3,
        "{point} vs {mean}"
    );

    let (_, o) = ivy.get("/api/overview").await;
    let row = o["trainees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "alice")
        .unwrap();
    assert_eq!(row["ended"], 1, "{o}");
    assert!(row["dimensions"]["empathy"].is_number(), "{o}");
    let bob = o["trainees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "bob")
        .unwrap();
    assert_eq!(bob["sessions"], 0, "a trainee without sessions is listed");
    // Deleting the assignment keeps the session.
    let (s, _) = ivy
        .call(
            Method::DELETE,
            &format!("/api/assignments/{}", a["id"]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = alice.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_settings_change_how_new_sessions_are_scored() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let alice = server.login("alice").await;
    let ivy = server.login("ivy").await;
    let (_, plugins) = alice.get("/api/plugins").await;
    let ids: Vec<&str> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{plugins}");
    assert!(
        plugins[0]["dimensions"][0]["skill_codes"].is_array(),
        "{plugins}"
    );
    let neutral = "Could you tell me a bit more about what happened?";
    let first = async |c: &common::Client| {
        let v = c.start("billing-inquiry-en", "practice").await;
        let events = c.reply(v["id"].as_i64().unwrap(), neutral).await.unwrap();
        events.into_iter().find(|(n, _)| n == "done").unwrap().1["turn"].clone()
    };
    let before = first(&alice).await;
    let base = score(&before, "empathy").unwrap();
    assert!(score(&before, "objection").is_some());
    // A config the plugin does not accept is refused and changes nothing.
    let (s, v) = ivy
        .call(
            Method::PUT,
            "/api/plugins/empathy",
            Some(json!({ "config": { "no_such_setting": 1 } })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"].as_str().unwrap().contains("refused"), "{v}");
    // A higher base score for empathy, and objection handling switched off.
    let (s, v) = ivy
        .call(
            Method::PUT,
            "/api/plugins/empathy",
            Some(json!({ "config": { "base": 50 } })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = ivy
        .call(
            Method::PUT,
            "/api/plugins/objection",
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], false);
    let after = first(&alice).await;
    assert!(score(&after, "objection").is_none(), "{after}");
    assert!(
        score(&after, "empathy").unwrap() > base,
        "{base} -> {after}"
    );
    let (_, plugins) = alice.get("/api/plugins").await;
    let empathy = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "empathy")
        .unwrap();
    assert_eq!(empathy["config"]["base"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instructors_author_personas_and_try_unsaved_ones() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let ivy = server.login("ivy").await;
    let alice = server.login("alice").await;
    let (_, list) = alice.get("/api/personas").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        10,
        "the library is seeded from personas/"
    );
    assert!(
        list[0].get("toml").is_none() && list[0].get("facts").is_none(),
        "no hidden facts: {}",
        list[0]
    );
    let (_, p) = ivy.get("/api/personas/billing-inquiry-en").await;
    let toml = p["toml"].as_str().unwrap().to_string();
    let copy = toml.replace(
        "id = \"billing-inquiry-en\"",
        "id = \"billing-inquiry-copy-en\"",
    );
    let (s, v) = ivy.post("/api/personas", json!({ "toml": copy })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = ivy.post("/api/personas", json!({ "toml": copy })).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = ivy
        .call(
            Method::PUT,
            "/api/personas/billing-inquiry-en",
            Some(json!({ "toml": copy })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "id");
    // An edit is what new sessions use; sessions started before keep theirs.
    let old = alice.start("billing-inquiry-en", "practice").await;
    let edited = toml.replace(
        &format!(
            "opening = {}",
            toml.lines()
                .find(|l| l.starts_with("opening = "))
                .unwrap()
                .trim_start_matches("opening = ")
        ),
        "opening = \"Hello, I have a question about a charge on my bill.\"",
    );
    assert_ne!(edited, toml);
    let (s, v) = ivy
        .call(
            Method::PUT,
            "/api/personas/billing-inquiry-en",
            Some(json!({ "toml": edited })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, versions) = ivy.get("/api/personas/billing-inquiry-en/versions").await;
    assert_eq!(s, StatusCode::OK);
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 2, "the seeded file and the edit");
    assert!(versions[0]["updated_by"].is_null());
    assert_eq!(versions[1]["updated_by"], ivy.user_id);
    assert_eq!(versions[1]["toml"], edited.as_str());
    assert_eq!(
        alice
            .get("/api/personas/billing-inquiry-en/versions")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let new = alice.start("billing-inquiry-en", "practice").await;
    assert_eq!(
        new["opening"]["text"],
        "Hello, I have a question about a charge on my bill."
    );
    let (_, old) = alice.get(&format!("/api/sessions/{}", old["id"])).await;
    assert_ne!(old["opening"]["text"], new["opening"]["text"]);
    // Check as you type: always 200, errors with line and field.
    let (s, v) = ivy
        .post(
            "/api/personas/check",
            json!({ "toml": toml.replace("max_turns = ", "max_turns = -") }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["ok"], false, "{v}");
    assert!(v["errors"][0]["line"].as_u64().unwrap() > 1, "{v}");
    // "Try it": an unsaved persona plays at once, for its author.
    let (s, v) = ivy
        .post("/api/sessions", json!({ "persona_toml": edited.replace("Hello, I have", "Hi, I have"), "mode": "practice" }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["opening"]["text"],
        "Hi, I have a question about a charge on my bill."
    );
    let (s, v) = ivy
        .post(
            "/api/sessions",
            json!({ "persona_toml": "id = 'half", "mode": "practice" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["line"], 1, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_transcripts_are_scored_per_call_and_per_dimension() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let eve = server.login("eve").await;
    let jsonl = concat!(
        "{\"call_id\":\"c1\",\"agent_id\":\"a1\",\"turns\":[{\"speaker\":\"customer\",\"text\":\"My bill is wrong again.\"},{\"speaker\":\"agent\",\"text\":\"I'm so sorry, I understand how frustrating that is. Let me check it for you right now.\"}]}\n",
        "{\"call_id\":\"c2\",\"speaker\":\"客户\",\"text\":\"我家宽带断了三天了！\"}\n",
        "not json\n",
        "{\"call_id\":\"c2\",\"speaker\":\"客服\",\"text\":\"非常理解您的心情，给您添麻烦了，我马上帮您查一下。\"}\n",
    );
    let r = server
        .http
        .post(server.url("/api/batches?name=calls.jsonl"))
        .bearer_auth(&eve.token)
        .header("content-type", "application/x-ndjson")
        .body(jsonl)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["calls"], 2, "{v}");
    let id = v["id"].as_i64().unwrap();
    let batch = eve.batch_finished(id).await;
    assert_eq!(batch["status"], "done", "{batch}");
    assert_eq!(batch["errors"][0]["line"], 3, "{batch}");
    let calls = batch["calls"].as_array().unwrap();
    let ids: Vec<&str> = calls
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c1", "c2"]);
    assert_eq!(calls[0]["agent_id"], "a1");
    assert!(
        calls[1]["dimensions"]["empathy"].as_f64().unwrap() > 0.0,
        "{batch}"
    );
    let dims: Vec<&str> = batch["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dimension"].as_str().unwrap())
        .collect();
    for d in ["empathy", "expectation", "objection"] {
        assert!(dims.contains(&d), "{batch}");
    }
    assert_eq!(batch["dimensions"][0]["n"], 2, "one agent turn per call");
    let (_, list) = eve.get("/api/batches").await;
    assert_eq!(list[0]["scored"], 2, "{list}");
    assert_eq!(list[0]["errors"], 1, "{list}");
}
