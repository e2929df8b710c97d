//! The sparring web app: trainees role-play with the AI customer in the
//! browser, instructors manage personas, plugins and assignments and review
//! scores, evaluators batch-score transcripts. axum over the store
//! (sparring-store) and role-play sessions (sparring-session); the CLI's
//! `sparring serve` builds a [`ServerConfig`] and calls [`serve`].

pub mod api;
pub mod auth;
pub mod batch_job;
pub mod body;
pub mod error;
pub mod loadtest;
pub mod pages;
pub mod plugins;
pub mod state;
pub mod throttle;

use crate::plugins::{PluginRegistry, Setting};
use crate::state::AppState;
use axum::extract::{Path as UrlPath, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};
use sparring_llm::ChatBackend;
use sparring_scoring::{PluginManifest, ScoringHost};
use sparring_store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// The OpenAPI 3.1 description of every /api route (kept in step with
/// [`ROUTES`] by a test).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every route: (method, path). The router and the OpenAPI test read this.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/login"),
    ("post", "/api/logout"),
    ("get", "/api/me"),
    ("post", "/api/me/password"),
    ("get", "/api/users"),
    ("post", "/api/users"),
    ("get", "/api/personas"),
    ("post", "/api/personas"),
    ("post", "/api/personas/check"),
    ("get", "/api/personas/{id}"),
    ("put", "/api/personas/{id}"),
    ("get", "/api/personas/{id}/versions"),
    ("get", "/api/sessions"),
    ("post", "/api/sessions"),
    ("get", "/api/sessions/{id}"),
    ("post", "/api/sessions/{id}/turns"),
    ("post", "/api/sessions/{id}/end"),
    ("post", "/api/sessions/{id}/overrides"),
    ("get", "/api/plugins"),
    ("put", "/api/plugins/{id}"),
    ("get", "/api/assignments"),
    ("post", "/api/assignments"),
    ("delete", "/api/assignments/{id}"),
    ("get", "/api/progress"),
    ("get", "/api/overview"),
    ("get", "/api/batches"),
    ("post", "/api/batches"),
    ("get", "/api/batches/{id}"),
    ("get", "/api/batches/{id}/files/{file}"),
    ("get", "/api/openapi.json"),
    ("get", "/healthz"),
];

/// What the server is made of; the CLI loads each part.
pub struct ServerConfig {
    pub db: PathBuf,
    /// Persona files to seed the library with (ids not yet in the database).
    pub personas_dir: Option<PathBuf>,
    pub backend: Arc<dyn ChatBackend>,
    pub model: String,
    pub model_languages: Option<Vec<String>>,
    pub attempts: usize,
    pub host: ScoringHost,
    pub plugins: Vec<PluginManifest>,
    /// Plugin manifests that could not be read, for /healthz.
    pub plugin_errors: Vec<String>,
    pub login_ttl_secs: i64,
    /// Threads a batch job scores on.
    pub batch_jobs: usize,
}

/// Opens the store, seeds personas, applies stored plugin settings.
pub fn build_state(config: ServerConfig) -> Result<Arc<AppState>, ServerError> {
    let mut store = Store::open(&config.db)?;
    if let Some(dir) = &config.personas_dir {
        seed_personas(&mut store, dir);
    }
    // Interrupted jobs resume once the state is built; those from before
    // batches kept their files cannot, and are marked failed.
    let mut resume = Vec::new();
    for id in store.interrupted_batches()? {
        if store.batch_inputs(id)?.is_empty() {
            store.finish_batch(
                id,
                "failed",
                &json!({ "error": "interrupted: the server stopped while scoring; the calls scored before are kept" }),
            )?;
        } else {
            resume.push(id);
        }
    }
    let settings = store.plugin_settings()?;
    let registry = PluginRegistry::new(config.host, config.plugins, config.plugin_errors, |id| {
        settings
            .iter()
            .find(|s| s.plugin_id == id)
            .map(|s| Setting {
                enabled: s.enabled,
                config: s.config.clone(),
            })
    });
    let mut state = AppState::new(
        store,
        config.backend,
        config.model,
        config.model_languages,
        config.attempts,
        registry,
        config.login_ttl_secs,
    );
    state.batch_jobs = config.batch_jobs.max(1);
    let state = Arc::new(state);
    for id in resume {
        tracing::info!("batch {id} was interrupted; resuming it");
        batch_job::spawn(state.clone(), id);
    }
    Ok(state)
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] sparring_store::StoreError),
}

/// Persona files not yet in the database are added; a broken file is
/// reported (file:line: field: message) and skipped.
fn seed_personas(store: &mut Store, dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!("persona directory {} not readable", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for f in files {
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("{}: {e}", f.display());
                continue;
            }
        };
        match sparring_core::persona::Persona::parse(&f, &text) {
            Ok(p) => {
                if let Err(e) = store.insert_persona_if_absent(&p.id, &text) {
                    tracing::warn!("{}: {e}", f.display());
                }
            }
            Err(e) => tracing::warn!("persona not loaded: {e}"),
        }
    }
}

async fn healthz(State(state): State<Arc<AppState>>) -> Json<Value> {
    let db = match state.db().schema_version() {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    Json(json!({
        "status": if db == "ok" { "ok" } else { "degraded" },
        "model": state.model,
        "plugins": state.plugins.active().len(),
        "ready": state.plugins.is_warm(),
        "plugin_errors": state.plugins.load_errors,
        "db": db,
    }))
}

async fn openapi() -> Response {
    ([(CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn page(name: &'static str) -> Response {
    pages::asset(name)
}

async fn asset(UrlPath(name): UrlPath<String>) -> Response {
    pages::asset(&name)
}

/// The whole app.
pub fn router(state: Arc<AppState>) -> Router {
    use api::*;
    Router::new()
        .route("/api/login", post(account::login))
        .route("/api/logout", post(account::logout))
        .route("/api/me", get(account::me))
        .route("/api/me/password", post(account::change_password))
        .route("/api/users", get(account::users).post(account::add_user))
        .route("/api/personas", get(personas::list).post(personas::create))
        .route("/api/personas/check", post(personas::check))
        .route("/api/personas/{id}", get(personas::get).put(personas::put))
        .route("/api/personas/{id}/versions", get(personas::versions))
        .route("/api/sessions", get(sessions::list).post(sessions::create))
        .route("/api/sessions/{id}", get(sessions::get))
        .route("/api/sessions/{id}/turns", post(sessions::turn))
        .route("/api/sessions/{id}/end", post(sessions::end))
        .route(
            "/api/sessions/{id}/overrides",
            post(sessions::override_score),
        )
        .route("/api/plugins", get(plugins::list))
        .route("/api/plugins/{id}", put(plugins::update))
        .route(
            "/api/assignments",
            get(assignments::list).post(assignments::create),
        )
        .route("/api/assignments/{id}", delete(assignments::delete))
        .route("/api/progress", get(progress::progress))
        .route("/api/overview", get(progress::overview))
        .route("/api/batches", get(batches::list).post(batches::create))
        .route("/api/batches/{id}", get(batches::get))
        .route("/api/batches/{id}/files/{file}", get(batches::download))
        .route("/api/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/", get(|| page("home.html")))
        .route("/login", get(|| page("login.html")))
        .route("/session/{id}", get(|| page("session.html")))
        .route("/instructor", get(|| page("instructor.html")))
        .route(
            "/instructor/personas/{id}",
            get(|| page("persona_edit.html")),
        )
        .route("/evaluator", get(|| page("evaluator.html")))
        .route("/assets/{name}", get(asset))
        .fallback(|| async { error::ApiError::not_found("such page").into_response() })
        .with_state(state)
}

/// Serves until `shutdown` resolves. The plugins warm up in the
/// background meanwhile.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let warm = state.clone();
    tokio::task::spawn_blocking(move || warm.plugins.warm_up());
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
