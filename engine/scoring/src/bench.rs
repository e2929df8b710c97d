//! What scoring costs: compile and cache-hit load times, instantiation, and
//! per-reply latency of each plugin and of all together, with and without
//! sentence embeddings. `sparring bench scoring` prints it.

use crate::compile_cache::CompileCache;
use crate::manifest::PluginManifest;
use crate::plugin::{Plugin, ScoringHost};
use crate::run::score_turn_all;
use crate::sandbox::Limits;
use crate::services::HostServices;
use serde::Serialize;
use sparring_core::scoring::TurnContext;
use sparring_core::Embedder;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct LoadCost {
    pub plugin: String,
    pub wasm_kib: u64,
    /// Compiling the component (no cache).
    pub compile_ms: f64,
    /// Loading the compiled artifact from the disk cache.
    pub cache_hit_ms: f64,
    /// Fresh sandbox + instantiation, median.
    pub instantiate_us: f64,
    /// Fresh sandbox + instantiation + `configure` (a pool miss), median.
    pub configured_us: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// A plugin id, or "all three" for the plugins run together.
    pub what: String,
    pub embeddings: bool,
    pub replies: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Mean fuel per call (plugin code only).
    pub fuel: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub load: Vec<LoadCost>,
    pub latency: Vec<Latency>,
    /// Fuel burnt per millisecond of plugin time, measured here (the
    /// deadline assumes [`crate::FUEL_PER_MS`]).
    pub fuel_per_ms: f64,
    /// Embedding one reply, median (when embeddings were measured).
    pub embed_reply_ms: Option<f64>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn latency(what: &str, embeddings: bool, mut times: Vec<Duration>, fuel: Option<u64>) -> Latency {
    times.sort();
    Latency {
        what: what.to_string(),
        embeddings,
        replies: times.len(),
        p50_ms: percentile(&times, 0.5),
        p99_ms: percentile(&times, 0.99),
        max_ms: times.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        fuel,
    }
}

type BenchError = Box<dyn std::error::Error + Send + Sync>;

fn host(
    limits: Limits,
    cache: CompileCache,
    embedder: Option<Arc<dyn Embedder>>,
) -> Result<ScoringHost, BenchError> {
    Ok(ScoringHost::new(
        limits,
        cache,
        Arc::new(HostServices::new(embedder)),
    )?)
}

fn load_all(host: &ScoringHost, manifests: &[PluginManifest]) -> Result<Vec<Plugin>, BenchError> {
    manifests
        .iter()
        .map(|m| host.load(m).map_err(|e| e.into()))
        .collect()
}

/// Measure `manifests` on `replies` (`repeats` passes without embeddings;
/// one pass with, so every reply's embedding is computed once, as in use).
pub fn run(
    manifests: &[PluginManifest],
    replies: &[TurnContext],
    embedder: Option<Arc<dyn Embedder>>,
    repeats: usize,
) -> Result<BenchReport, BenchError> {
    let limits = Limits::default();
    // Load costs: compile with no cache, then twice through a fresh cache.
    let cache_dir = tempfile::tempdir()?;
    let mut load = Vec::new();
    for m in manifests {
        let cold = host(limits, CompileCache::disabled(), None)?.load(m)?;
        host(limits, CompileCache::new(cache_dir.path()), None)?.load(m)?;
        let hit = host(limits, CompileCache::new(cache_dir.path()), None)?.load(m)?;
        let (mut bare, mut configured) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            let (b, c) = hit.cold_start()?;
            bare.push(b);
            configured.push(c);
        }
        bare.sort();
        configured.sort();
        load.push(LoadCost {
            plugin: m.id.clone(),
            wasm_kib: std::fs::metadata(&m.wasm)
                .map(|f| f.len() / 1024)
                .unwrap_or(0),
            compile_ms: cold.compile_time.as_secs_f64() * 1000.0,
            cache_hit_ms: hit.compile_time.as_secs_f64() * 1000.0,
            instantiate_us: percentile(&bare, 0.5) * 1000.0,
            configured_us: percentile(&configured, 0.5) * 1000.0,
        });
    }

    // Without embeddings.
    let mut out = Vec::new();
    let (mut fuel_total, mut time_total) = (0u64, Duration::ZERO);
    let plain = host(limits, CompileCache::new(cache_dir.path()), None)?;
    let plugins = load_all(&plain, manifests)?;
    for p in &plugins {
        let (mut times, mut fuel) = (Vec::new(), 0u64);
        for _ in 0..repeats {
            for r in replies {
                let (result, metering) = p.score_turn_metered(r);
                result?;
                times.push(metering.elapsed);
                fuel += metering.fuel;
            }
        }
        fuel_total += fuel;
        time_total += times.iter().sum::<Duration>();
        let n = times.len().max(1) as u64;
        out.push(latency(&p.id, false, times, Some(fuel / n)));
    }
    let refs: Vec<&Plugin> = plugins.iter().collect();
    let mut times = Vec::new();
    for _ in 0..repeats {
        for r in replies {
            let t = Instant::now();
            for o in score_turn_all(&refs, r) {
                o.result?;
            }
            times.push(t.elapsed());
        }
    }
    out.push(latency("all three", false, times, None));

    // With embeddings: every reply embedded once, exemplars warmed first.
    let mut embed_reply_ms = None;
    if let Some(embedder) = embedder {
        for r in replies.iter().take(8) {
            embedder.embed(&[r.reply.as_str()])?;
        }
        let mut t_embed = Vec::new();
        for r in replies {
            let t = Instant::now();
            embedder.embed(&[r.reply.as_str()])?;
            t_embed.push(t.elapsed());
        }
        t_embed.sort();
        embed_reply_ms = Some(percentile(&t_embed, 0.5));
        let warm = |plugins: &[Plugin]| -> Result<(), BenchError> {
            let refs: Vec<&Plugin> = plugins.iter().collect();
            for o in score_turn_all(&refs, &replies[0]) {
                o.result?;
            }
            Ok(())
        };
        for m in manifests {
            // A host of its own, so this plugin pays for each reply's embedding.
            let h = host(
                limits,
                CompileCache::new(cache_dir.path()),
                Some(embedder.clone()),
            )?;
            let p = h.load(m)?;
            warm(std::slice::from_ref(&p))?;
            let mut times = Vec::new();
            for r in &replies[1..] {
                let (result, metering) = p.score_turn_metered(r);
                result?;
                times.push(metering.elapsed);
            }
            out.push(latency(&p.id, true, times, None));
        }
        let h = host(limits, CompileCache::new(cache_dir.path()), Some(embedder))?;
        let plugins = load_all(&h, manifests)?;
        warm(&plugins)?;
        let refs: Vec<&Plugin> = plugins.iter().collect();
        let (mut times, mut embed_times) = (Vec::new(), Vec::new());
        for r in &replies[1..] {
            let t = Instant::now();
            h.services().embed(std::slice::from_ref(&r.reply))?;
            embed_times.push(t.elapsed());
            for o in score_turn_all(&refs, r) {
                o.result?;
            }
            times.push(t.elapsed());
        }
        out.push(latency("all three", true, times, None));
        out.push(latency("(its embedding)", true, embed_times, None));
    }
    Ok(BenchReport {
        load,
        latency: out,
        fuel_per_ms: fuel_total as f64 / (time_total.as_secs_f64() * 1000.0).max(1e-9),
        embed_reply_ms,
    })
}
