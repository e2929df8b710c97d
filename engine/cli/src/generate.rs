//! `sparring generate`: one reply from a local model, streamed or as JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use sparring_core::{GenerationStats, Message, PromptMode, SamplingParams};
use sparring_llm::openai::{OpenAiBackend, OpenAiOptions};
use sparring_llm::{ChatBackend, LoadOptions, LocalModel, Prompt, StreamEvent, TranscriptStyle};
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
    /// Use an OpenAI-compatible server (llama.cpp server, vLLM, Ollama) at this
    /// URL instead of a local model; `--model` is then the server's model name.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// API key for `--server` (or env OPENAI_API_KEY).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
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

/// The languages the models manifest says a model speaks (None for a
/// GGUF path or a server model, which are unknown).
pub fn model_languages(arg: &str) -> Option<Vec<String>> {
    Manifest::builtin().get(arg).map(|e| e.languages.clone())
}

fn params(args: &GenerateArgs) -> SamplingParams {
    SamplingParams {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repeat_penalty: args.repeat_penalty,
        max_tokens: args.max_tokens,
        stop: args.stop.clone(),
        seed: args.seed,
        ..SamplingParams::default()
    }
}

fn messages(args: &GenerateArgs) -> Vec<Message> {
    let mut messages = Vec::new();
    if let Some(s) = &args.system {
        messages.push(Message::system(s.clone()));
    }
    messages.push(Message::user(args.prompt.clone()));
    messages
}

fn raw_text(args: &GenerateArgs) -> String {
    match &args.system {
        Some(s) => format!("{s}\n{}", args.prompt),
        None => args.prompt.clone(),
    }
}

/// Mostly Chinese text (counts Han characters against Latin letters).
fn is_chinese(text: &str) -> bool {
    let han = text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    let latin = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
    han > latin
}

fn print_delta(d: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(d.as_bytes());
    let _ = out.flush();
}

fn print_json(
    args: &GenerateArgs,
    model: &str,
    location: &str,
    text: &str,
    stats: &GenerationStats,
) -> Result<()> {
    let out = serde_json::json!({
        "model": model,
        "path": location,
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
    Ok(())
}

/// A local model by id or path, or with `server`, a model of an
/// OpenAI-compatible server: the backend, its name and where it is.
pub fn open_backend(
    model: &str,
    server: Option<&str>,
    api_key: Option<String>,
) -> Result<(Box<dyn ChatBackend>, String, String)> {
    Ok(match server {
        Some(url) => {
            let options = OpenAiOptions {
                api_key,
                ..OpenAiOptions::default()
            };
            let backend = OpenAiBackend::new(url, model, options)?;
            let location = backend.base_url().to_string();
            (Box::new(backend), model.to_string(), location)
        }
        None => {
            let (path, mode) = resolve_model(model)?;
            let local = LocalModel::load(&path, mode, &LoadOptions::default())
                .with_context(|| format!("loading {}", path.display()))?;
            let name = local.info().name;
            (Box::new(local), name, path.display().to_string())
        }
    })
}

/// Streams one reply from a local model or, with `--server`, from an
/// OpenAI-compatible server: both are a [`ChatBackend`].
pub fn run(args: GenerateArgs) -> Result<()> {
    use futures::StreamExt;
    let (backend, name, location) =
        open_backend(&args.model, args.server.as_deref(), args.api_key.clone())?;
    let prompt = if args.raw {
        Prompt::Text(raw_text(&args))
    } else {
        Prompt::Messages {
            messages: messages(&args),
            // Base models continue a transcript; label it in the prompt's language.
            transcript: is_chinese(&args.prompt)
                .then(|| TranscriptStyle::new("用户", "助手", "zh")),
        }
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let mut session = backend.open()?;
        let mut stream = session.stream(prompt, params(&args));
        let mut text = String::new();
        while let Some(ev) = stream.next().await {
            match ev? {
                StreamEvent::Delta(d) => {
                    if !args.json {
                        print_delta(&d);
                    }
                    text.push_str(&d);
                }
                StreamEvent::Done(stats) => {
                    if args.json {
                        print_json(&args, &name, &location, &text, &stats)?;
                    } else {
                        println!();
                    }
                    return Ok(());
                }
            }
        }
        anyhow::bail!("the stream ended without a result")
    })
}
