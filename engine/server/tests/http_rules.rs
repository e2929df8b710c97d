//! Every access rule of the web app, tried over HTTP against a real server:
//! logins, CSRF, roles, and trainees' privacy.

mod common;

use common::{TestServer, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PUBLIC: &[&str] = &["/api/login", "/healthz", "/api/openapi.json"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_private_route_needs_a_login() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    for (method, path) in sparring_server::ROUTES {
        if PUBLIC.contains(path) {
            continue;
        }
        let url = server.url(&path.replace("{id}", "1"));
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = server
            .http
            .request(method.clone(), &url)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        let v: Value = r.json().await.unwrap();
        assert!(v["error"].as_str().unwrap().contains("log in"), "{v}");
        // A made-up token is no better.
        let r = server
            .http
            .request(method.clone(), &url)
            .bearer_auth("0".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a forged token"
        );
    }
    let r = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_check_the_password_and_set_a_strict_cookie() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    for (name, pw) in [("alice", "not the password"), ("nobody", PASSWORD)] {
        let r = server
            .http
            .post(server.url("/api/login"))
            .json(&json!({ "name": name, "password": pw }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert!(r.headers().get("set-cookie").is_none());
    }
    // Another site's page cannot log a visitor in.
    let r = server
        .http
        .post(server.url("/api/login"))
        .header("origin", "http://evil.example")
        .json(&json!({ "name": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let alice = server.login("alice").await;
    let cookie = &alice.set_cookie;
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    // The database keeps only a hash of the token.
    let db = std::fs::read(server.dir.path().join("sparring.db")).unwrap();
    let wal = std::fs::read(server.dir.path().join("sparring.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&alice.token),
            "the login token is stored in clear"
        );
        assert!(!text.contains(PASSWORD), "the password is stored in clear");
    }
    // Logging out ends the token.
    let (s, _) = alice.post("/api/logout", json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = alice.get("/api/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_requests_that_change_things_need_the_csrf_token() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let ivy = server.login("ivy").await;
    let cookie = ivy.set_cookie.split(';').next().unwrap().to_string();
    let body = json!({ "toml": "id = 'x'" });
    let post = |csrf: Option<&str>| {
        let mut r = server
            .http
            .post(server.url("/api/personas/check"))
            .header("cookie", &cookie)
            .json(&body);
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.send()
    };
    let r = post(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("CSRF"), "{v}");
    let wrong = "f".repeat(64);
    assert_eq!(
        post(Some(&wrong)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some(&ivy.csrf)).await.unwrap().status(),
        StatusCode::OK
    );
    // Reading needs no token; /api/me hands the page its token.
    let r = server
        .http
        .get(server.url("/api/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["csrf"], ivy.csrf.as_str());
    assert_eq!(v["user"]["role"], "instructor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_who_changes_what() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let alice = server.login("alice").await;
    let ivy = server.login("ivy").await;
    let eve = server.login("eve").await;
    let root = server.login("root").await;
    let (_, persona) = ivy.get("/api/personas/hesitant-buyer-en").await;
    let toml = persona["toml"].as_str().unwrap().to_string();
    let edit = json!({ "toml": toml });
    let user = json!({ "name": "new", "role": "trainee", "password": PASSWORD });
    let assignment =
        json!({ "user_id": alice.user_id, "persona_id": "hesitant-buyer-en", "mode": "exam" });
    let plugin = json!({ "enabled": true });
    // (caller, method, path, body, allowed)
    let cases: Vec<(&common::Client, Method, &str, Value, bool)> = vec![
        (
            &alice,
            Method::GET,
            "/api/personas/hesitant-buyer-en",
            Value::Null,
            false,
        ),
        (
            &alice,
            Method::PUT,
            "/api/personas/hesitant-buyer-en",
            edit.clone(),
            false,
        ),
        (
            &eve,
            Method::PUT,
            "/api/personas/hesitant-buyer-en",
            edit.clone(),
            false,
        ),
        (
            &ivy,
            Method::PUT,
            "/api/personas/hesitant-buyer-en",
            edit.clone(),
            true,
        ),
        (
            &alice,
            Method::POST,
            "/api/personas/check",
            edit.clone(),
            false,
        ),
        (
            &alice,
            Method::PUT,
            "/api/plugins/empathy",
            plugin.clone(),
            false,
        ),
        (
            &eve,
            Method::PUT,
            "/api/plugins/empathy",
            plugin.clone(),
            false,
        ),
        (
            &ivy,
            Method::PUT,
            "/api/plugins/empathy",
            plugin.clone(),
            true,
        ),
        (
            &alice,
            Method::POST,
            "/api/assignments",
            assignment.clone(),
            false,
        ),
        (
            &eve,
            Method::POST,
            "/api/assignments",
            assignment.clone(),
            false,
        ),
        (
            &ivy,
            Method::POST,
            "/api/assignments",
            assignment.clone(),
            true,
        ),
        (&alice, Method::GET, "/api/users", Value::Null, false),
        (&ivy, Method::POST, "/api/users", user.clone(), false),
        (&root, Method::POST, "/api/users", user.clone(), true),
        (&alice, Method::GET, "/api/overview", Value::Null, false),
        (&eve, Method::GET, "/api/overview", Value::Null, false),
        (&ivy, Method::GET, "/api/overview", Value::Null, true),
        (&alice, Method::GET, "/api/batches", Value::Null, false),
        (&eve, Method::GET, "/api/batches", Value::Null, true),
        (&ivy, Method::GET, "/api/batches", Value::Null, true),
    ];
    for (who, method, path, body, allowed) in cases {
        let body = (!body.is_null()).then_some(body);
        let (s, v) = who.call(method.clone(), path, body).await;
        if allowed {
            assert!(s.is_success(), "{method} {path} should be allowed: {s} {v}");
        } else {
            assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
            assert!(v["error"].as_str().unwrap().starts_with("only "), "{v}");
        }
    }
    // Trainees cannot upload batches; evaluators can.
    let jsonl = "{\"call_id\":\"c1\",\"turns\":[{\"speaker\":\"customer\",\"text\":\"My bill is wrong.\"},{\"speaker\":\"agent\",\"text\":\"I'm sorry, let me check that for you right away.\"}]}\n";
    for (who, allowed) in [(&alice, false), (&eve, true)] {
        let r = server
            .http
            .post(server.url("/api/batches?name=t.jsonl"))
            .bearer_auth(&who.token)
            .header("content-type", "application/x-ndjson")
            .body(jsonl)
            .send()
            .await
            .unwrap();
        let expected = if allowed {
            StatusCode::ACCEPTED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(r.status(), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trainee_sees_and_changes_only_their_own_sessions() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let alice = server.login("alice").await;
    let bob = server.login("bob").await;
    let ivy = server.login("ivy").await;
    let eve = server.login("eve").await;
    let session = alice.start("hesitant-buyer-en", "practice").await;
    let id = session["id"].as_i64().unwrap();
    let events = alice
        .reply(
            id,
            "I'm sorry to catch you at a busy time. It's about a faster plan for your evenings.",
        )
        .await
        .unwrap();
    assert_eq!(events.last().unwrap().0, "done", "{events:?}");

    let path = format!("/api/sessions/{id}");
    let (s, v) = bob.get(&path).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v.get("turns").is_none(),
        "nothing of the session leaks: {v}"
    );
    let err = bob.reply(id, "hello").await.unwrap_err();
    assert_eq!(err.0, StatusCode::FORBIDDEN);
    let (s, _) = bob.post(&format!("{path}/end"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = bob
        .get(&format!("/api/sessions?user_id={}", alice.user_id))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = bob
        .get(&format!("/api/progress?user_id={}", alice.user_id))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, list) = bob.get("/api/sessions").await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    // A trainee cannot start a session on someone else's assignment.
    let (_, a) = ivy
        .post(
            "/api/assignments",
            json!({ "user_id": alice.user_id, "persona_id": "hesitant-buyer-en" }),
        )
        .await;
    let (s, _) = bob
        .post("/api/sessions", json!({ "assignment_id": a["id"] }))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Trainees cannot override scores, nor try unsaved personas.
    let (s, _) = alice
        .post(&format!("{path}/overrides"), json!({ "turn": 0, "dimension": "empathy", "value": 90, "level": "2", "reason": "I like it" }))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = alice
        .post(
            "/api/sessions",
            json!({ "persona_toml": "id = 'x'", "mode": "practice" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Staff read it; only instructors override, and the original stays.
    let (s, v) = eve.get(&path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["turns"].as_array().unwrap().len(), 1);
    let (s, _) = eve.post(&format!("{path}/end"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the trainee ends a session");
    let over = json!({ "turn": 0, "dimension": "empathy", "value": 90, "level": "2", "reason": "acknowledged the busy time" });
    let (s, _) = eve.post(&format!("{path}/overrides"), over.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, o) = ivy.post(&format!("{path}/overrides"), over).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let (s, _) = ivy
        .post(
            &format!("{path}/overrides"),
            json!({ "turn": 0, "dimension": "empathy", "value": 90, "level": "2", "reason": " " }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let (_, v) = alice.get(&path).await;
    let original = v["turns"][0]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["scores"].as_array().unwrap())
        .find(|s| s["dimension"] == "empathy")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(
        v["overrides"][0]["original_value"].as_f64().unwrap(),
        original
    );
    assert_eq!(v["overrides"][0]["value"].as_f64().unwrap(), 90.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exam_feedback_waits_for_the_end() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let alice = server.login("alice").await;
    let ivy = server.login("ivy").await;
    let v = alice.start("hesitant-buyer-en", "exam").await;
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["feedback_hidden"], true);
    assert!(v["moods"].is_null());
    let events = alice
        .reply(id, "Could you tell me how you use it in the evening?")
        .await
        .unwrap();
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert!(!names.contains(&"scored"), "{names:?}");
    let (_, done) = events.iter().find(|(n, _)| n == "done").unwrap();
    assert_eq!(done["turn"]["plugins"], json!([]));
    assert!(done["turn"]["update"].get("moods").is_none(), "{done}");
    let (_, v) = alice.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(v["turns"][0]["plugins"], json!([]));
    // The instructor sees the scores at once.
    let (_, v) = ivy.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(v["feedback_hidden"], false);
    assert!(!v["turns"][0]["plugins"].as_array().unwrap().is_empty());
    // After the end the trainee sees everything, with the scorecard.
    let (s, v) = alice
        .post(&format!("/api/sessions/{id}/end"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ended");
    assert_eq!(v["feedback_hidden"], false);
    assert!(!v["turns"][0]["plugins"].as_array().unwrap().is_empty());
    assert!(v["scorecard"]["total"].is_number(), "{v}");
    let err = alice.reply(id, "one more").await.unwrap_err();
    assert_eq!(err.0, StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_requests_get_clear_errors() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let eve = server.login("eve").await;
    let big = "x".repeat((8 << 20) + 1);
    let r = server
        .http
        .post(server.url("/api/batches"))
        .bearer_auth(&eve.token)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("the limit is 8388608 bytes"),
        "{v}"
    );
    let ivy = server.login("ivy").await;
    let (s, v) = ivy
        .post(
            "/api/personas/check",
            json!({ "toml": "x".repeat(300 << 10) }),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let r = server
        .http
        .post(server.url("/api/sessions"))
        .bearer_auth(&ivy.token)
        .header("content-type", "application/json")
        .body("{\"persona_id\": 7}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("persona_id"), "{v}");
    // A broken persona names the line and field.
    let (_, persona) = ivy.get("/api/personas/hesitant-buyer-en").await;
    let broken = persona["toml"]
        .as_str()
        .unwrap()
        .replace("difficulty = 2", "difficulty = 9");
    let (s, v) = ivy
        .call(
            Method::PUT,
            "/api/personas/hesitant-buyer-en",
            Some(json!({ "toml": broken })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "difficulty", "{v}");
    assert_eq!(v["errors"][0]["line"], 8, "{v}");
    // Empty and overlong replies are refused before anything streams.
    let alice = server.login("alice").await;
    let s = alice.start("hesitant-buyer-en", "practice").await;
    let id = s["id"].as_i64().unwrap();
    assert_eq!(
        alice.reply(id, "  ").await.unwrap_err().0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let long = "word ".repeat(500);
    assert_eq!(
        alice.reply(id, &long).await.unwrap_err().0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (_, v) = alice.get(&format!("/api/sessions/{id}")).await;
    assert_eq!(v["turns"], json!([]), "no turn was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_lock_the_name_for_a_while() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let attempt = |name: &'static str, pw: &'static str| {
        server
            .http
            .post(server.url("/api/login"))
            .json(&json!({ "name": name, "password": pw }))
            .send()
    };
    for _ in 0..sparring_server::throttle::MAX_FAILURES {
        assert_eq!(
            attempt("alice", "guess guess guess")
                .await
                .unwrap()
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password is refused, and says why.
    let r = attempt("alice", PASSWORD).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("too many failed logins"),
        "{v}"
    );
    // Other names are not affected.
    assert_eq!(
        attempt("bob", PASSWORD).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_every_login_of_that_user() {
    let Some(server) = TestServer::start().await else {
        return;
    };
    let phone = server.login("alice").await;
    let laptop = server.login("alice").await;
    let (s, v) = laptop
        .post(
            "/api/me/password",
            json!({ "current": "wrong", "new": "another long passphrase" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = laptop
        .post(
            "/api/me/password",
            json!({ "current": PASSWORD, "new": "short" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "new");
    let (s, v) = laptop
        .post(
            "/api/me/password",
            json!({ "current": PASSWORD, "new": "another long passphrase" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fresh = v["token"].as_str().unwrap();
    assert_eq!(phone.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(laptop.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    let r = server
        .http
        .get(server.url("/api/me"))
        .bearer_auth(fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = server
        .http
        .post(server.url("/api/login"))
        .json(&json!({ "name": "alice", "password": "another long passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
