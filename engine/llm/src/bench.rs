//! Measurements of one model: prompt speed, decode speed, time to first token,
//! and what the conversation cache saves on a later turn.

use std::time::Instant;

use serde::Serialize;
use sparring_core::{Message, SamplingParams};

use crate::error::LlmError;
use crate::local::LocalModel;
use crate::sampler::argmax;

/// Sizes of one benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchConfig {
    pub prompt_tokens: usize,
    pub gen_tokens: usize,
    pub repeats: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            prompt_tokens: 300,
            gen_tokens: 64,
            repeats: 3,
        }
    }
}

/// Results; speeds are medians over the repeats.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub prompt_tokens: usize,
    pub gen_tokens: usize,
    pub prompt_tok_s: f64,
    pub decode_tok_s: f64,
    /// Prompt of `prompt_tokens` read and the first token chosen.
    pub ttft_ms: f64,
    /// Turn 5 of a conversation whose cache holds turns 1-4.
    pub turn5_ttft_cached_ms: f64,
    /// The same turn computed from scratch.
    pub turn5_ttft_fresh_ms: f64,
    pub turn5_prompt_tokens: usize,
}

const FILLER: &str = "The customer called about a broadband outage that has lasted three days. \
She has already called twice, was promised a technician, and nobody came. She wants a refund \
for the days without service and a firm appointment. The agent apologised, checked the ticket, \
confirmed the fault in the area, and explained the next steps and the compensation policy. ";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A prompt of exactly `n` tokens.
pub fn synthetic_prompt(model: &LocalModel, n: usize) -> Vec<u32> {
    let tok = model.tokenizer();
    let mut ids = Vec::with_capacity(n + 64);
    if let (true, Some(b)) = (tok.adds_bos(), tok.bos()) {
        ids.push(b);
    }
    while ids.len() < n {
        ids.extend(tok.encode(FILLER, false, false));
    }
    ids.truncate(n);
    ids
}

pub fn run(model: &LocalModel, cfg: &BenchConfig) -> Result<BenchResult, LlmError> {
    let prompt = synthetic_prompt(model, cfg.prompt_tokens);
    let mut conv = model.new_conversation()?;
    // Warm-up: first touches of the weights and allocations.
    conv.prefill(&prompt[..prompt.len().min(32)])?;

    let mut pp = Vec::new();
    let mut tg = Vec::new();
    let mut ttft = Vec::new();
    for _ in 0..cfg.repeats.max(1) {
        let t0 = Instant::now();
        let mut logits = conv.prefill(&prompt)?;
        let prefill = t0.elapsed().as_secs_f64();
        pp.push(prompt.len() as f64 / prefill);
        let mut next = argmax(&logits);
        ttft.push(t0.elapsed().as_secs_f64() * 1e3);
        let t1 = Instant::now();
        for _ in 0..cfg.gen_tokens {
            logits = conv.step(next)?;
            next = argmax(&logits);
        }
        tg.push(cfg.gen_tokens as f64 / t1.elapsed().as_secs_f64());
    }

    // Turn 5 with and without the cache of turns 1-4.
    let user_lines = [
        "Hello, my internet has been down for three days.",
        "I already called twice and nobody came.",
        "I want a refund for the days without service.",
        "When exactly will the technician come?",
        "Fine. Can you confirm that in writing?",
    ];
    let params = SamplingParams {
        max_tokens: 24,
        ..SamplingParams::greedy()
    };
    let mut conv = model.new_conversation()?;
    let mut messages = vec![Message::system(
        "You are an upset customer calling your internet provider. Answer in one sentence.",
    )];
    let mut cached_ms = 0.0;
    for (i, line) in user_lines.iter().enumerate() {
        messages.push(Message::user(*line));
        let (reply, stats) = conv.chat(&messages, None, &params, |_| true)?;
        if i == user_lines.len() - 1 {
            cached_ms = stats.ttft_ms;
        }
        messages.push(Message::assistant(reply));
    }
    messages.pop();
    let mut fresh = model.new_conversation()?;
    let (_, fresh_stats) = fresh.chat(&messages, None, &params, |_| true)?;
    Ok(BenchResult {
        prompt_tokens: prompt.len(),
        gen_tokens: cfg.gen_tokens,
        prompt_tok_s: median(pp),
        decode_tok_s: median(tg),
        ttft_ms: median(ttft),
        turn5_ttft_cached_ms: cached_ms,
        turn5_ttft_fresh_ms: fresh_stats.ttft_ms,
        turn5_prompt_tokens: fresh_stats.prompt_tokens,
    })
}
