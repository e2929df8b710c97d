//! Loading plugins and calling them one at a time.

use crate::bindings::{Scorer, ScorerPre};
use crate::compile_cache::{CacheOutcome, CompileCache};
use crate::error::{PluginError, ScoringError};
use crate::manifest::PluginManifest;
use crate::sandbox::{arm, new_store, Limits, State, Ticker};
use crate::services::HostServices;
use crate::validate::{self, Quoted};
use crate::{convert, WIT_PACKAGE};
use sparring_core::scoring::{PluginInfo, Score, Transcript, TurnContext};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, Store, Trap};

/// Compiles, caches and sandboxes plugins. One per process is enough; plugins
/// loaded from it can be called from many threads at once.
pub struct ScoringHost {
    engine: Engine,
    linker: Linker<State>,
    cache: CompileCache,
    limits: Limits,
    services: Arc<HostServices>,
    ticker: Arc<Ticker>,
}

impl ScoringHost {
    pub fn new(
        limits: Limits,
        cache: CompileCache,
        services: Arc<HostServices>,
    ) -> Result<Self, ScoringError> {
        let engine_error = |e: wasmtime::Error| ScoringError::Engine(format!("{e:#}"));
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(engine_error)?;
        let mut linker: Linker<State> = Linker::new(&engine);
        // WASI only because Rust's standard library imports it; the context
        // each call gets is empty (see sandbox.rs).
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        Scorer::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s).map_err(engine_error)?;
        Ok(ScoringHost {
            ticker: Arc::new(Ticker::start(engine.clone())),
            engine,
            linker,
            cache,
            limits,
            services,
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn services(&self) -> &Arc<HostServices> {
        &self.services
    }

    /// Load the plugin a manifest describes: compile (or take from the
    /// cache), check it implements this host's interface, ask it to describe
    /// itself and accept its configuration.
    pub fn load(&self, manifest: &PluginManifest) -> Result<Plugin, ScoringError> {
        let file = manifest.wasm.clone();
        let wasm = std::fs::read(&file).map_err(|source| ScoringError::Io {
            file: file.clone(),
            source,
        })?;
        self.load_bytes(manifest, &wasm)
    }

    pub fn load_bytes(
        &self,
        manifest: &PluginManifest,
        wasm: &[u8],
    ) -> Result<Plugin, ScoringError> {
        let file = manifest.wasm.clone();
        let started = Instant::now();
        let (component, cache) =
            self.cache
                .load(&self.engine, wasm)
                .map_err(|e| ScoringError::Compile {
                    file: file.clone(),
                    message: format!("{e:#}"),
                })?;
        let compiled = started.elapsed();
        let incompatible = |detail: String| ScoringError::Incompatible {
            file: file.clone(),
            detail,
            expected: WIT_PACKAGE,
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| incompatible(interface_problem(&self.engine, &component, e)))?;
        let pre = ScorerPre::new(pre)
            .map_err(|e| incompatible(interface_problem(&self.engine, &component, e)))?;
        let mut limits = self.limits;
        if let Some(ms) = manifest.timeout_ms {
            limits.timeout = Duration::from_millis(ms);
        }
        if let Some(mib) = manifest.memory_mib {
            limits.memory_bytes = (mib as usize) << 20;
        }
        let mut plugin = Plugin {
            id: manifest.id.clone(),
            version: manifest.version.clone(),
            config: manifest.config.to_string(),
            info: PluginInfo {
                name: manifest.id.clone(),
                version: manifest.version.clone(),
                dimensions: Vec::new(),
                config_schema: String::new(),
            },
            pre,
            limits,
            services: self.services.clone(),
            engine: self.engine.clone(),
            _ticker: self.ticker.clone(),
            pool: Mutex::new(Vec::new()),
            pool_size: std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            cache,
            compile_time: compiled,
        };
        let as_load_error = |source| ScoringError::Plugin {
            file: file.clone(),
            source,
        };
        let info = plugin.describe().map_err(as_load_error)?;
        validate::info(&plugin.id, &info).map_err(as_load_error)?;
        if info.name != manifest.id {
            return Err(ScoringError::NameMismatch {
                file: manifest.path.clone(),
                manifest: manifest.id.clone(),
                described: info.name,
            });
        }
        plugin.info = info;
        // Reject a bad configuration now rather than on every reply; the
        // configured instance serves the first call.
        let warm = plugin.configured_instance().map_err(as_load_error)?;
        plugin.pool.lock().expect("instance pool").push(warm);
        Ok(plugin)
    }
}

/// Why a component does not fit the `sparring:scorer` world, in words: the
/// scorer interface versions it imports, else wasmtime's own message.
fn interface_problem(
    engine: &Engine,
    component: &wasmtime::component::Component,
    error: wasmtime::Error,
) -> String {
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|n| n.starts_with("sparring:"))
        .collect();
    let foreign: Vec<&String> = imports
        .iter()
        .filter(|n| !n.ends_with(&format!("@{}", &WIT_PACKAGE["sparring:scorer@".len()..])))
        .collect();
    if !foreign.is_empty() {
        let list: Vec<&str> = foreign.iter().map(|s| s.as_str()).collect();
        format!("it imports {}", list.join(", "))
    } else {
        format!("{error:#}")
    }
}

/// Calls one instance serves before it is replaced by a fresh one.
const MAX_REUSE: u32 = 1000;

/// A configured instance kept between calls (configuring parses the
/// plugin's configuration, which costs more than most scoring).
struct Warm {
    store: Store<State>,
    scorer: Scorer,
    calls: u32,
}

/// A loaded, configured plugin, callable from several threads at once. Each
/// call runs in a sandboxed instance configured once and reused for later
/// calls until it fails or has served [`MAX_REUSE`] calls; limits (fuel,
/// deadline, memory) apply to every call afresh.
pub struct Plugin {
    pub id: String,
    pub version: String,
    /// What the plugin says about itself (after loading).
    pub info: PluginInfo,
    /// The configuration passed to `configure` (JSON).
    config: String,
    pre: ScorerPre<State>,
    limits: Limits,
    services: Arc<HostServices>,
    engine: Engine,
    /// Keeps the wall-clock deadline running while the plugin is alive.
    _ticker: Arc<Ticker>,
    pool: Mutex<Vec<Warm>>,
    pool_size: usize,
    /// Whether the compiled code came from the disk cache.
    pub cache: CacheOutcome,
    /// Time to compile or load from the cache.
    pub compile_time: Duration,
}

/// What one call cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metering {
    /// Fuel burnt by the plugin's own code (host calls excluded).
    pub fuel: u64,
    pub elapsed: Duration,
}

impl Plugin {
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn services_handle(&self) -> &Arc<HostServices> {
        &self.services
    }

    pub fn config(&self) -> &str {
        &self.config
    }

    pub fn describe(&self) -> Result<PluginInfo, PluginError> {
        self.call(|scorer, store| Ok(Ok(convert::plugin_info(scorer.call_describe(store)?))))
    }

    /// Rate one reply.
    pub fn score_turn(&self, ctx: &TurnContext) -> Result<Vec<Score>, PluginError> {
        self.score_turn_metered(ctx).0
    }

    /// Rate one reply, and say what it cost.
    pub fn score_turn_metered(
        &self,
        ctx: &TurnContext,
    ) -> (Result<Vec<Score>, PluginError>, Metering) {
        let started = Instant::now();
        let mut fuel = 0;
        let result = self.score_turn_inner(ctx, &mut fuel);
        let metering = Metering {
            fuel,
            elapsed: started.elapsed(),
        };
        (result, metering)
    }

    fn score_turn_inner(
        &self,
        ctx: &TurnContext,
        fuel: &mut u64,
    ) -> Result<Vec<Score>, PluginError> {
        let wit_ctx = convert::turn_context(ctx);
        let scores = self.with_instance(fuel, |scorer, store| {
            scorer.call_score_turn(store, &wit_ctx)
        })?;
        let scores: Vec<Score> = scores.into_iter().map(convert::score).collect();
        validate::scores(
            &self.id,
            &self.info,
            &scores,
            Quoted::Reply(&ctx.reply),
            &self.limits,
        )?;
        Ok(scores)
    }

    /// Rate a whole conversation.
    pub fn score_session(&self, transcript: &Transcript) -> Result<Vec<Score>, PluginError> {
        let wit_transcript = convert::transcript(transcript);
        let scores = self.with_instance(&mut 0, |scorer, store| {
            scorer.call_score_session(store, &wit_transcript)
        })?;
        let scores: Vec<Score> = scores.into_iter().map(convert::score).collect();
        let turns: Vec<&str> = transcript.turns.iter().map(|t| t.text.as_str()).collect();
        validate::scores(
            &self.id,
            &self.info,
            &scores,
            Quoted::Turns(&turns),
            &self.limits,
        )?;
        Ok(scores)
    }

    /// Run `f` on a configured instance: a warm one from the pool, else a new
    /// one (instantiated and configured now). The instance goes back to the
    /// pool only when the call succeeded; anything that fails — a trap, a
    /// deadline, the plugin's own error — discards it.
    fn with_instance<T>(
        &self,
        fuel: &mut u64,
        f: impl FnOnce(&Scorer, &mut Store<State>) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<T, PluginError> {
        let pooled = self.pool.lock().expect("instance pool").pop();
        let mut warm = match pooled {
            Some(w) => w,
            None => self.configured_instance()?,
        };
        arm(&mut warm.store, &self.limits);
        let result = f(&warm.scorer, &mut warm.store);
        *fuel = self.limits.fuel() - warm.store.get_fuel().unwrap_or(0);
        let value = self.settle(&warm.store, result)?;
        warm.calls += 1;
        if warm.calls < MAX_REUSE {
            let mut pool = self.pool.lock().expect("instance pool");
            if pool.len() < self.pool_size {
                pool.push(warm);
            }
        }
        Ok(value)
    }

    /// What a pool miss costs: (fresh sandbox + instantiation, the same plus
    /// `configure`). For benchmarks; the instances are dropped.
    pub fn cold_start(&self) -> Result<(Duration, Duration), PluginError> {
        let started = Instant::now();
        self.instantiate()?;
        let instantiate = started.elapsed();
        let started = Instant::now();
        self.configured_instance()?;
        Ok((instantiate, started.elapsed()))
    }

    /// A new instance in a fresh sandbox.
    fn instantiate(&self) -> Result<(Store<State>, Scorer), PluginError> {
        let mut store = new_store(&self.engine, &self.id, &self.limits, self.services.clone());
        let scorer = self.pre.instantiate(&mut store).map_err(|e| {
            self.classify(e, |message| PluginError::Instantiate {
                plugin: self.id.clone(),
                message,
            })
        })?;
        Ok((store, scorer))
    }

    fn configured_instance(&self) -> Result<Warm, PluginError> {
        let (mut store, scorer) = self.instantiate()?;
        let configured = scorer.call_configure(&mut store, &self.config);
        self.settle(&store, configured)?;
        Ok(Warm {
            store,
            scorer,
            calls: 0,
        })
    }

    /// Instantiate in a fresh store and run `f` (no pooling: for `describe`).
    fn call<T>(
        &self,
        f: impl FnOnce(&Scorer, &mut Store<State>) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<T, PluginError> {
        let (mut store, scorer) = self.instantiate()?;
        let result = f(&scorer, &mut store);
        self.settle(&store, result)
    }

    /// Turn every way a call can end badly — a trap, a deadline, memory, the
    /// plugin's own error — into a [`PluginError`] naming this plugin.
    fn settle<T>(
        &self,
        store: &Store<State>,
        result: wasmtime::Result<Result<T, String>>,
    ) -> Result<T, PluginError> {
        let value = result.map_err(|e| {
            self.classify(e, |message| PluginError::Trapped {
                plugin: self.id.clone(),
                message,
                stderr: stderr_of(store),
            })
        })?;
        value.map_err(|message| PluginError::Failed {
            plugin: self.id.clone(),
            message,
        })
    }

    fn classify(
        &self,
        error: wasmtime::Error,
        otherwise: impl FnOnce(String) -> PluginError,
    ) -> PluginError {
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::TimedOut {
                plugin: self.id.clone(),
                limit_ms: self.limits.wall_timeout.as_millis() as u64,
            },
            Some(Trap::OutOfFuel) => PluginError::TimedOut {
                plugin: self.id.clone(),
                limit_ms: self.limits.timeout_ms(),
            },
            _ if is_memory_limit(&error) => PluginError::OutOfMemory {
                plugin: self.id.clone(),
                limit_mib: self.limits.memory_mib(),
            },
            // The trap itself ("wasm trap: call stack exhausted"), not
            // wasmtime's multi-line wasm backtrace.
            Some(trap) => {
                tracing::debug!(plugin = %self.id, "plugin trapped: {error:?}");
                otherwise(trap.to_string())
            }
            None => otherwise(format!("{}", error.root_cause())),
        }
    }
}

fn is_memory_limit(error: &wasmtime::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("forcing trap when growing memory")
        || text.contains("memory minimum size") && text.contains("exceeds memory limits")
}

fn stderr_of(store: &Store<State>) -> String {
    let bytes = store.data().stderr.contents();
    String::from_utf8_lossy(&bytes).trim().to_string()
}
