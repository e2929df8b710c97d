//! A real server on loopback for the HTTP tests: a fresh database, SmolLM2
//! voicing the customer, the built-in scorer plugins as real components.
#![allow(dead_code)]

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sparring_llm::{LoadOptions, LocalModel};
use sparring_scoring::{builder, CompileCache, HostServices, Limits, PluginManifest, ScoringHost};
use sparring_server::{build_state, ServerConfig};
use sparring_store::{password, Role, Store};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built-in plugins' manifests, built once per test binary.
pub fn manifests() -> Vec<PluginManifest> {
    static M: OnceLock<Vec<PluginManifest>> = OnceLock::new();
    M.get_or_init(|| {
        builder::build(&repo().join("plugins"))
            .expect("plugins build")
            .into_iter()
            .filter_map(|b| b.manifest)
            .collect()
    })
    .clone()
}

/// SmolLM2, loaded once per test binary (None: not installed, skip).
fn model() -> Option<Arc<LocalModel>> {
    static M: OnceLock<Option<Arc<LocalModel>>> = OnceLock::new();
    M.get_or_init(|| {
        let path = sparring_models::installed_or_skip("smollm2-135m-instruct")?;
        Some(Arc::new(
            LocalModel::load(&path, None, &LoadOptions::default()).unwrap(),
        ))
    })
    .clone()
}

struct Shared(Arc<LocalModel>);

impl sparring_llm::ChatBackend for Shared {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn prompt_mode(&self) -> sparring_core::PromptMode {
        sparring_llm::ChatBackend::prompt_mode(self.0.as_ref())
    }
    fn open(&self) -> Result<Box<dyn sparring_llm::ChatSession>, sparring_llm::LlmError> {
        self.0.open()
    }
}

pub const PASSWORD: &str = "a long test passphrase";

pub struct TestServer {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

/// Accounts every test server has: (name, role).
pub const USERS: &[(&str, Role)] = &[
    ("alice", Role::Trainee),
    ("bob", Role::Trainee),
    ("ivy", Role::Instructor),
    ("eve", Role::Evaluator),
    ("root", Role::Admin),
];

impl TestServer {
    /// Starts a server, or None when the model is not installed.
    pub async fn start() -> Option<TestServer> {
        Self::start_with(|_| {}).await
    }

    /// Starts a server on a database that `prepare` has had its way with
    /// (after the accounts are added), as a server restarted on it would find it.
    pub async fn start_with(prepare: impl FnOnce(&mut Store)) -> Option<TestServer> {
        let model = model()?;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sparring.db");
        {
            let mut store = Store::open(&db).unwrap();
            let hash = password::hash(PASSWORD).unwrap();
            for (name, role) in USERS {
                store.add_user(name, &hash, *role).unwrap();
            }
            prepare(&mut store);
        }
        let host = ScoringHost::new(
            Limits::default(),
            CompileCache::new(dir.path().join("cache")),
            Arc::new(HostServices::default()),
        )
        .unwrap();
        let manifests = tokio::task::spawn_blocking(manifests).await.unwrap();
        let state = tokio::task::spawn_blocking(move || {
            build_state(ServerConfig {
                db,
                personas_dir: Some(repo().join("personas")),
                backend: Arc::new(Shared(model)),
                model: "smollm2-135m-instruct".into(),
                model_languages: Some(vec!["en".into()]),
                attempts: 2,
                host,
                plugins: manifests,
                plugin_errors: Vec::new(),
                login_ttl_secs: 3600,
                batch_jobs: 2,
            })
        })
        .await
        .unwrap()
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(sparring_server::serve(
            state,
            listener,
            std::future::pending(),
        ));
        Some(TestServer {
            base,
            dir,
            http: reqwest::Client::new(),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in; panics unless it works.
    pub async fn login(&self, name: &str) -> Client {
        let r = self
            .http
            .post(self.url("/api/login"))
            .json(&json!({ "name": name, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {name}");
        let cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let v: Value = r.json().await.unwrap();
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: v["token"].as_str().unwrap().to_string(),
            csrf: v["csrf"].as_str().unwrap().to_string(),
            set_cookie: cookie,
            user_id: v["user"]["id"].as_i64().unwrap(),
        }
    }
}

/// A logged-in caller, using its bearer token.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub csrf: String,
    pub set_cookie: String,
    pub user_id: i64,
}

impl Client {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Batch `id` once it is no longer running (panics after a minute).
    pub async fn batch_finished(&self, id: i64) -> Value {
        for _ in 0..240 {
            let (_, batch) = self.get(&format!("/api/batches/{id}")).await;
            if batch["status"] != "running" {
                return batch;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("batch {id} still running after a minute");
    }

    /// Starts a practice or exam session with a persona; its view.
    pub async fn start(&self, persona: &str, mode: &str) -> Value {
        let (s, v) = self
            .post(
                "/api/sessions",
                json!({ "persona_id": persona, "mode": mode, "seed": 7 }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Sends a reply; the SSE events as (name, data), in order.
    pub async fn reply(
        &self,
        session: i64,
        text: &str,
    ) -> Result<Vec<(String, Value)>, (StatusCode, Value)> {
        let r = self
            .http
            .post(format!("{}/api/sessions/{session}/turns", self.base))
            .bearer_auth(&self.token)
            .json(&json!({ "text": text }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        if status != StatusCode::OK {
            return Err((
                status,
                serde_json::from_str(&body).unwrap_or(Value::String(body)),
            ));
        }
        Ok(parse_sse(&body))
    }
}

/// `event:`/`data:` blocks of a text/event-stream body.
pub fn parse_sse(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in body.split("\n\n") {
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = Some(n.trim().to_string());
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        if let Some(n) = name {
            out.push((
                n,
                serde_json::from_str(&data).unwrap_or(Value::String(data)),
            ));
        }
    }
    out
}
