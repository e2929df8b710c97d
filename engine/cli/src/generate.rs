//! `sparring generate`: one reply from a local model, streamed or as JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use sparring_core::{Message, PromptMode, SamplingParams};
use sparring_llm::{LoadOptions, LocalModel};
use sparring_models::{Home, Manifest};

#[derive(Args)]
pub struct GenerateArgs {
    /// A model id from `sparring models list`, or a path to a GGUF file.
    #[arg(long, default_value = "smollm2-135m-instruct")]
    pub model: String,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    /// 0 = greedy.
    #[arg(long, default_value_t = 0.7)]
    pub temperature: f32,
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    #[arg(long, default_value_t = 0.05)]
    pub min_p: f32,
    #[arg(long, default_value_t = 1.1)]
    pub repeat_penalty: f32,
    /// Stop before this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// System message (chat models) or preamble (transcript models).
    #[arg(long)]
    pub system: Option<String>,
    /// Continue the prompt text as is, without a chat template or transcript.
    #[arg(long)]
    pub raw: bool,
    /// Print one JSON object with text, tokens, ttft_ms and decode_tok_s.
    #[arg(long)]
    pub json: bool,
    /// The user's message (or text to continue with --raw).
    pub prompt: String,
}

/// Finds the GGUF file and its prompt mode for a `--model` argument.
pub fn resolve_model(arg: &str) -> Result<(PathBuf, Option<PromptMode>)> {
    let manifest = Manifest::builtin();
    let home = Home::from_env();
    let resolved = sparring_models::resolve(&manifest, &home, arg)?;
    let mode = resolved
        .entry
        .as_ref()
        .and_then(|e| e.prompt_mode)
        .map(|m| match m {
            sparring_models::PromptMode::Chat => PromptMode::Chat,
            sparring_models::PromptMode::Transcript => PromptMode::Transcript,
        });
    Ok((resolved.path, mode))
}

pub fn run(args: GenerateArgs) -> Result<()> {
    let (path, mode) = resolve_model(&args.model)?;
    let model = LocalModel::load(&path, mode, &LoadOptions::default())
        .with_context(|| format!("loading {}", path.display()))?;
    let params = SamplingParams {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repeat_penalty: args.repeat_penalty,
        max_tokens: args.max_tokens,
        stop: args.stop.clone(),
        seed: args.seed,
        ..SamplingParams::default()
    };
    let mut conv = model.new_conversation()?;
    let stdout = std::io::stdout();
    let stream_to_stdout = !args.json;
    let on_delta = |d: &str| {
        if stream_to_stdout {
            let mut out = stdout.lock();
            let _ = out.write_all(d.as_bytes());
            let _ = out.flush();
        }
        true
    };
    let (text, stats) = if args.raw {
        let text = match &args.system {
            Some(s) => format!("{s}\n{}", args.prompt),
            None => args.prompt.clone(),
        };
        conv.complete(&text, &params, on_delta)?
    } else {
        let mut messages = Vec::new();
        if let Some(s) = &args.system {
            messages.push(Message::system(s.clone()));
        }
        messages.push(Message::user(args.prompt.clone()));
        conv.chat(&messages, None, &params, on_delta)?
    };
    if args.json {
        let out = serde_json::json!({
            "model": model.info().name,
            "path": path,
            "text": text,
            "tokens": stats.generated_tokens,
            "prompt_tokens": stats.prompt_tokens,
            "ttft_ms": stats.ttft_ms,
            "decode_tok_s": stats.decode_tok_s,
            "prompt_tok_s": stats.prompt_tok_s,
            "finish_reason": stats.finish_reason,
            "seed": args.seed,
        });
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!();
    }
    Ok(())
}
