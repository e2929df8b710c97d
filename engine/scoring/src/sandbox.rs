//! The sandbox one plugin call runs in: a fresh store with an empty WASI
//! context (no files, network, environment, arguments or stdin), a frozen clock,
//! deterministic randomness, a memory cap, a fuel budget and a wall-clock
//! backstop.

use crate::services::HostServices;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

/// How often the deadline clock ticks; deadlines are whole ticks.
pub(crate) const TICK: Duration = Duration::from_millis(1);
/// Bytes of a plugin's stderr kept for error messages (panic text).
const STDERR_CAPACITY: usize = 4096;
/// Host log lines a plugin may write per call.
pub(crate) const MAX_LOG_LINES: u32 = 64;

/// Fuel (roughly one unit per WebAssembly instruction) a plugin burns per
/// millisecond on the 2-core reference machine; `sparring bench scoring`
/// prints the rate measured where it runs.
pub const FUEL_PER_MS: u64 = 8_000_000;

/// Resource limits for each plugin call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU limit of one call, as the plugin's own computation: enforced with
    /// fuel (`timeout` x [`FUEL_PER_MS`]), so it is deterministic and not
    /// affected by machine load or by time spent in host calls.
    pub timeout: Duration,
    /// Wall-clock backstop for the whole call, host calls included.
    pub wall_timeout: Duration,
    /// Linear memory a plugin may grow to.
    pub memory_bytes: usize,
    /// Bytes of text in all scores of one call together.
    pub output_bytes: usize,
    /// Scores one call may return.
    pub max_scores: usize,
    /// Evidence spans per score.
    pub max_spans: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_millis(50),
            wall_timeout: Duration::from_secs(10),
            memory_bytes: 64 << 20,
            output_bytes: 64 << 10,
            max_scores: 32,
            max_spans: 32,
        }
    }
}

impl Limits {
    pub fn timeout_ms(&self) -> u64 {
        self.timeout.as_millis() as u64
    }

    pub fn fuel(&self) -> u64 {
        (self.timeout.as_micros() as u64).saturating_mul(FUEL_PER_MS) / 1000
    }

    pub fn memory_mib(&self) -> u64 {
        (self.memory_bytes >> 20) as u64
    }
}

/// Per-call state of the store.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limits: StoreLimits,
    pub services: Arc<HostServices>,
    pub plugin: String,
    pub stderr: MemoryOutputPipe,
    pub log_lines: u32,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A clock stopped at the Unix epoch: plugins cannot read the time.
struct Frozen;

impl HostWallClock for Frozen {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for Frozen {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// A fresh store for one call of `plugin`, with its deadline armed.
pub(crate) fn new_store(
    engine: &Engine,
    plugin: &str,
    limits: &Limits,
    services: Arc<HostServices>,
) -> Store<State> {
    let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
    // The same bytes every call: hash maps and anything random in a plugin
    // behave identically run to run.
    let seed: Vec<u8> = (0u8..=255)
        .map(|i| i.wrapping_mul(167).wrapping_add(13))
        .collect();
    let wasi = WasiCtx::builder()
        .stderr(stderr.clone())
        .wall_clock(Frozen)
        .monotonic_clock(Frozen)
        .secure_random(wasmtime_wasi::Deterministic::new(seed.clone()))
        .insecure_random(wasmtime_wasi::Deterministic::new(seed))
        .insecure_random_seed(0)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let state = State {
        wasi,
        table: ResourceTable::new(),
        limits: StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .table_elements(1 << 16)
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build(),
        services,
        plugin: plugin.to_string(),
        stderr,
        log_lines: 0,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limits);
    arm(&mut store, limits);
    store
}

/// Give a store a full budget for the next call: fuel, wall-clock deadline and
/// log lines.
pub(crate) fn arm(store: &mut Store<State>, limits: &Limits) {
    store
        .set_fuel(limits.fuel())
        .expect("fuel is enabled on the engine");
    let ticks = limits
        .wall_timeout
        .as_millis()
        .div_ceil(TICK.as_millis())
        .max(1) as u64;
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_trap();
    store.data_mut().log_lines = 0;
}

/// Advances the engine's epoch every [`TICK`] until dropped, so deadlines fire.
pub(crate) struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    pub fn start(engine: Engine) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sparring-plugin-deadline".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn the plugin deadline thread");
        Ticker {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
