//! What every request handler shares: the store, the model, the plugins and
//! the role-plays in progress.

use crate::error::ApiError;
use crate::plugins::PluginRegistry;
use crate::throttle::LoginThrottle;
use sparring_core::persona::Persona;
use sparring_llm::ChatBackend;
use sparring_session::Session;
use sparring_store::Store;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// Role-plays kept in memory; more are dropped (idle ones first) and
/// restored from the store when their trainee replies again.
const LIVE_SESSIONS: usize = 256;

pub type LiveSession = Arc<tokio::sync::Mutex<Session>>;

pub struct AppState {
    store: Mutex<Store>,
    pub backend: Arc<dyn ChatBackend>,
    /// The model's name as sessions record it.
    pub model: String,
    /// Languages the model speaks (from the manifest); None: unknown.
    pub model_languages: Option<Vec<String>>,
    /// Model candidates per customer line before the authored fallback.
    pub attempts: usize,
    pub plugins: PluginRegistry,
    live: Mutex<HashMap<i64, LiveSession>>,
    /// How long a login lasts.
    pub login_ttl_secs: i64,
    pub throttle: LoginThrottle,
    /// Threads a batch job scores on.
    pub batch_jobs: usize,
}

impl AppState {
    pub fn new(
        store: Store,
        backend: Arc<dyn ChatBackend>,
        model: String,
        model_languages: Option<Vec<String>>,
        attempts: usize,
        plugins: PluginRegistry,
        login_ttl_secs: i64,
    ) -> AppState {
        AppState {
            store: Mutex::new(store),
            backend,
            model,
            model_languages,
            attempts,
            plugins,
            live: Mutex::new(HashMap::new()),
            login_ttl_secs,
            throttle: LoginThrottle::default(),
            batch_jobs: 1,
        }
    }

    /// The database. Calls are short; a poisoned lock (a panic while
    /// holding it) still leaves a consistent database, as every write is
    /// one transaction.
    pub fn db(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn live(&self, id: i64) -> Option<LiveSession> {
        self.live.lock().expect("live lock").get(&id).cloned()
    }

    pub fn keep_live(&self, id: i64, session: LiveSession) -> LiveSession {
        let mut live = self.live.lock().expect("live lock");
        if live.len() >= LIVE_SESSIONS {
            // Drop sessions nobody is replying to; they restore on demand.
            live.retain(|_, s| s.try_lock().is_err());
        }
        live.entry(id).or_insert(session).clone()
    }

    pub fn forget_live(&self, id: i64) {
        self.live.lock().expect("live lock").remove(&id);
    }

    /// A persona of the library in use, checked.
    pub fn persona(&self, id: &str) -> Result<Persona, ApiError> {
        let toml = self
            .db()
            .persona_toml(id)?
            .ok_or_else(|| ApiError::not_found(format!("persona `{id}`")))?;
        parse_persona(id, &toml)
            .map_err(|e| ApiError::internal(format!("stored persona {id}: {e}")))
    }
}

/// Where a stored persona's errors say it is.
pub fn persona_path(id: &str) -> std::path::PathBuf {
    Path::new("personas").join(format!("{id}.toml"))
}

pub fn parse_persona(
    id: &str,
    toml: &str,
) -> Result<Persona, sparring_core::persona::PersonaError> {
    Persona::parse(&persona_path(id), toml)
}
