//! `sparring serve`: the web app. Loads the model, the plugins and the
//! store, then hands them to sparring-server.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use sparring_server::state::AppState;
use sparring_server::{build_state, ServerConfig};
use sparring_store::{password, Role, Store};

use crate::chat::VoiceArgs;
use crate::generate::{model_languages, open_backend};
use crate::plugins::{self, PluginOptions};

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// The database (default: $SPARRING_HOME/sparring.db).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Persona files added to the library on start (ids not yet in the database).
    #[arg(long, default_value = "personas")]
    pub personas: PathBuf,
    #[command(flatten)]
    pub voice: VoiceArgs,
    #[command(flatten)]
    pub plugin_options: PluginOptions,
    /// How long a login lasts, in hours.
    #[arg(long, default_value_t = 12)]
    pub login_hours: i64,
    /// Threads an evaluator's batch job scores on (default: half the
    /// cores, so trainees chatting meanwhile keep the rest).
    #[arg(long)]
    pub batch_jobs: Option<usize>,
}

/// On a database without accounts, makes `admin` with a random password
/// and says so once, so the app is usable straight away.
fn first_admin(db: &std::path::Path) -> Result<Option<String>> {
    let store = Store::open(db)?;
    if !store.users()?.is_empty() {
        return Ok(None);
    }
    let pw: String = {
        let mut b = [0u8; 12];
        getrandom::fill(&mut b).context("random source")?;
        b.iter().map(|x| format!("{x:02x}")).collect()
    };
    store.add_user("admin", &password::hash(&pw)?, Role::Admin)?;
    Ok(Some(pw))
}

/// The app's state from these arguments: the model, the plugins, the store.
/// Returns it with the model's name and where it is.
pub fn build(args: &ServeArgs, db: &std::path::Path) -> Result<(Arc<AppState>, String, String)> {
    let (backend, model, location) = open_backend(
        &args.voice.model,
        args.voice.server.as_deref(),
        args.voice.api_key.clone(),
    )?;
    let host = plugins::host(&args.plugin_options)?;
    let mut manifests = Vec::new();
    let mut plugin_errors = Vec::new();
    for m in plugins::discover(&args.plugin_options.search_dirs()) {
        match m {
            Ok(m) => manifests.push(m),
            Err(e) => plugin_errors.push(e.to_string()),
        }
    }
    let state = build_state(ServerConfig {
        db: db.to_path_buf(),
        personas_dir: Some(args.personas.clone()).filter(|d| d.is_dir()),
        backend: Arc::from(backend),
        model: model.clone(),
        model_languages: model_languages(&args.voice.model),
        attempts: args.voice.attempts,
        host,
        plugins: manifests,
        plugin_errors,
        login_ttl_secs: args.login_hours * 3600,
        batch_jobs: args.batch_jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
        }),
    })?;
    Ok((state, model, location))
}

pub fn run(args: ServeArgs) -> Result<()> {
    let db = crate::user::db_path(args.db.clone());
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let admin = first_admin(&db)?;
    let (state, model, location) = build(&args, &db)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .with_context(|| format!("listening on {}", args.addr))?;
        let addr = listener.local_addr()?;
        eprintln!("sparring: http://{addr}/ (model {model} from {location}; database {})", db.display());
        eprintln!("sparring: {} scorer plugin(s) enabled", state.plugins.active().len());
        let personas = state.db().personas()?.len();
        eprintln!("sparring: {personas} persona(s) in the library");
        if personas == 0 {
            eprintln!(
                "sparring: warning: no personas; run from the checkout or give --personas DIR ({} is not a directory)",
                args.personas.display()
            );
        }
        if let Some(pw) = admin {
            eprintln!("sparring: no accounts yet: log in as `admin` with password {pw} and add accounts (`sparring user add`)");
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        sparring_server::serve(state, listener, shutdown).await?;
        Ok(())
    })
}
