//! A [`ChatBackend`] that talks to an OpenAI-compatible server (llama.cpp
//! server, vLLM, Ollama, or [`super::server`]) over HTTP, streaming with SSE.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use sparring_core::{FinishReason, GenerationStats, Message, SamplingParams};
use tokio::sync::mpsc;

use super::sse::SseReader;
use crate::backend::{ChatBackend, ChatSession, Prompt, StreamEvent, TextStream};
use crate::error::LlmError;

/// How to reach the server and how long to wait for it.
#[derive(Debug, Clone)]
pub struct OpenAiOptions {
    /// Sent as `Authorization: Bearer KEY`.
    pub api_key: Option<String>,
    /// Limit for opening the TCP connection.
    pub connect_timeout: Duration,
    /// Limit from sending a request to its first text (prompt processing included).
    pub first_token_timeout: Duration,
    /// Limit between two chunks of a stream once text is arriving.
    pub idle_timeout: Duration,
}

impl Default for OpenAiOptions {
    fn default() -> Self {
        Self {
            api_key: None,
            connect_timeout: Duration::from_secs(5),
            first_token_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A model served by an OpenAI-compatible server. Cheap to clone.
#[derive(Clone)]
pub struct OpenAiBackend {
    inner: Arc<Inner>,
}

struct Inner {
    /// Normalised base, without a trailing `/` and without `/v1`.
    base: String,
    model: String,
    options: OpenAiOptions,
    /// Whether the server is on this machine (then no proxy is used).
    loopback: bool,
    client: reqwest::Client,
}

impl std::fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("base", &self.inner.base)
            .field("model", &self.inner.model)
            .finish_non_exhaustive()
    }
}

impl OpenAiBackend {
    /// A backend for `model` on the server at `base_url`: `http://HOST:PORT`,
    /// optionally followed by a path prefix and `/v1` (`http://localhost:11434/v1`);
    /// a full `.../v1/chat/completions` URL is accepted too.
    ///
    /// Only `http://` is supported: this build carries no TLS.
    pub fn new(base_url: &str, model: &str, options: OpenAiOptions) -> Result<Self, LlmError> {
        let base = normalise_base(base_url)?;
        let url = reqwest::Url::parse(&base).map_err(|e| LlmError::Remote {
            url: base_url.trim().to_string(),
            detail: format!("not a valid server URL: {e}"),
        })?;
        let host = url.host_str().unwrap_or("");
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let client = build_client(&options, loopback).map_err(|e| LlmError::Remote {
            url: base.clone(),
            detail: format!("cannot set up the HTTP client: {}", error_chain(&e)),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                model: model.to_string(),
                options,
                loopback,
                client,
            }),
        })
    }

    /// The normalised server URL (without `/v1`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The model name sent with each request.
    pub fn model(&self) -> &str {
        &self.inner.model
    }
}

fn build_client(options: &OpenAiOptions, loopback: bool) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder().connect_timeout(options.connect_timeout);
    if loopback {
        // A proxy from the environment would not reach this machine's loopback.
        builder = builder.no_proxy();
    }
    builder.build()
}

fn normalise_base(base_url: &str) -> Result<String, LlmError> {
    let trimmed = base_url.trim();
    let bad = |detail: &str| LlmError::Remote {
        url: trimmed.to_string(),
        detail: detail.to_string(),
    };
    if trimmed.is_empty() {
        return Err(bad("empty server URL"));
    }
    let mut base = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    let lower = base.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err(bad(
            "https:// is not supported (this build has no TLS); use an http:// server",
        ));
    }
    if !lower.starts_with("http://") {
        return Err(bad("the server URL must start with http://"));
    }
    if base.contains(['?', '#']) {
        return Err(bad("the server URL must not have a query or fragment"));
    }
    loop {
        let before = base.len();
        base = base.trim_end_matches('/').to_string();
        for suffix in ["/chat/completions", "/completions", "/v1"] {
            if base.len() > suffix.len() && base.ends_with(suffix) {
                base.truncate(base.len() - suffix.len());
                break;
            }
        }
        if base.len() == before {
            break;
        }
    }
    if base.len() <= "http://".len() {
        return Err(bad("the server URL has no host"));
    }
    Ok(base)
}

impl ChatBackend for OpenAiBackend {
    fn describe(&self) -> String {
        format!(
            "{} at {} (OpenAI-compatible)",
            self.inner.model, self.inner.base
        )
    }

    fn open(&self) -> Result<Box<dyn ChatSession>, LlmError> {
        Ok(Box::new(OpenAiSession {
            inner: self.inner.clone(),
        }))
    }
}

/// Stateless: every request carries the whole conversation.
struct OpenAiSession {
    inner: Arc<Inner>,
}

impl ChatSession for OpenAiSession {
    fn stream(&mut self, prompt: Prompt, params: SamplingParams) -> TextStream {
        let (tx, stream) = TextStream::channel(64);
        let inner = self.inner.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let client = inner.client.clone();
                handle.spawn(run(inner, client, prompt, params, tx));
            }
            Err(_) => {
                // No runtime here: a small one on its own thread, with its own
                // client (pooled connections belong to the runtime that made them).
                let err_tx = tx.clone();
                let spawned = std::thread::Builder::new()
                    .name("sparring-openai".into())
                    .spawn(move || {
                        let rt = match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(rt) => rt,
                            Err(e) => {
                                let _ = tx.blocking_send(Err(LlmError::Worker(e.to_string())));
                                return;
                            }
                        };
                        let client = match build_client(&inner.options, inner.loopback) {
                            Ok(c) => c,
                            Err(_) => inner.client.clone(),
                        };
                        rt.block_on(run(inner, client, prompt, params, tx));
                    });
                if let Err(e) = spawned {
                    let _ = err_tx.try_send(Err(LlmError::Worker(e.to_string())));
                }
            }
        }
        stream
    }
}

/// The request body; `f32`s stay as written (0.7, not 0.699999988).
#[derive(Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<WireMessage<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<&'a str>,
    stream: bool,
    stream_options: StreamOptions,
    temperature: f32,
    top_p: f32,
    max_tokens: usize,
    seed: u64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    /// llama.cpp and vLLM read these; -1 disables top-k on both.
    top_k: i64,
    min_p: f32,
    /// llama.cpp's name,
    repeat_penalty: f32,
    /// vLLM's name.
    repetition_penalty: f32,
    /// llama.cpp's window of the penalty.
    repeat_last_n: usize,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

fn request_body<'a>(
    model: &'a str,
    prompt: &'a Prompt,
    params: &'a SamplingParams,
) -> RequestBody<'a> {
    let (messages, text) = match prompt {
        Prompt::Messages { messages, .. } => (Some(wire_messages(messages)), None),
        Prompt::Text(t) => (None, Some(t.as_str())),
    };
    RequestBody {
        model,
        messages,
        prompt: text,
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
        temperature: params.temperature,
        top_p: params.top_p,
        max_tokens: params.max_tokens,
        seed: params.seed,
        stop: &params.stop,
        top_k: if params.top_k == 0 {
            -1
        } else {
            params.top_k as i64
        },
        min_p: params.min_p,
        repeat_penalty: params.repeat_penalty,
        repetition_penalty: params.repeat_penalty,
        repeat_last_n: params.repeat_last_n,
    }
}

fn wire_messages(messages: &[Message]) -> Vec<WireMessage<'_>> {
    messages
        .iter()
        .map(|m| WireMessage {
            role: m.role.as_str(),
            content: &m.content,
        })
        .collect()
}

type Tx = mpsc::Sender<Result<StreamEvent, LlmError>>;

/// Why a request ended without a result to report.
enum Stop {
    /// The receiver went away; nothing more to send.
    Cancelled,
    Failed(LlmError),
}

impl From<LlmError> for Stop {
    fn from(e: LlmError) -> Self {
        Stop::Failed(e)
    }
}

async fn run(
    inner: Arc<Inner>,
    client: reqwest::Client,
    prompt: Prompt,
    params: SamplingParams,
    tx: Tx,
) {
    match generate(&inner, &client, &prompt, &params, &tx).await {
        Ok(stats) => {
            let _ = tx.send(Ok(StreamEvent::Done(stats))).await;
        }
        Err(Stop::Failed(e)) => {
            let _ = tx.send(Err(e)).await;
        }
        Err(Stop::Cancelled) => {}
    }
}

/// Waits for `fut` until `deadline`, or until the receiver of `tx` is dropped.
async fn guarded<F: std::future::Future>(
    tx: &Tx,
    deadline: tokio::time::Instant,
    fut: F,
) -> Result<Option<F::Output>, Stop> {
    tokio::select! {
        _ = tx.closed() => Err(Stop::Cancelled),
        r = tokio::time::timeout_at(deadline, fut) => Ok(r.ok()),
    }
}

async fn generate(
    inner: &Inner,
    client: &reqwest::Client,
    prompt: &Prompt,
    params: &SamplingParams,
    tx: &Tx,
) -> Result<GenerationStats, Stop> {
    let chat = matches!(prompt, Prompt::Messages { .. });
    let url = if chat {
        format!("{}/v1/chat/completions", inner.base)
    } else {
        format!("{}/v1/completions", inner.base)
    };
    let opts = &inner.options;
    let timeout = |d: Duration| LlmError::Timeout {
        url: url.clone(),
        seconds: d.as_secs_f64().ceil().max(1.0) as u64,
    };
    let remote = |detail: String| LlmError::Remote {
        url: url.clone(),
        detail,
    };

    let mut request = client
        .post(&url)
        .json(&request_body(&inner.model, prompt, params))
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(key) = &opts.api_key {
        request = request.bearer_auth(key);
    }
    let start = Instant::now();
    let first_deadline = tokio::time::Instant::now() + opts.first_token_timeout;
    let response = match guarded(tx, first_deadline, request.send()).await? {
        None => return Err(timeout(opts.first_token_timeout).into()),
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(send_error(&url, &e, opts).into()),
    };
    let status = response.status();
    if !status.is_success() {
        let body: String = guarded(tx, first_deadline, read_some(response))
            .await?
            .unwrap_or_default();
        return Err(remote(format!("HTTP {status}{}", error_summary(&body))).into());
    }

    let mut body = response.bytes_stream();
    let mut sse = SseReader::new();
    let mut acc = Accumulator::new(start, chat);
    loop {
        let (deadline, limit) = match acc.last_delta {
            None => (first_deadline, opts.first_token_timeout),
            Some(_) => (
                tokio::time::Instant::now() + opts.idle_timeout,
                opts.idle_timeout,
            ),
        };
        let events = match guarded(tx, deadline, body.next()).await? {
            None => return Err(timeout(limit).into()),
            Some(Some(Ok(bytes))) => sse.push(&bytes),
            Some(Some(Err(e))) => {
                let lost = if e.is_timeout() {
                    timeout(limit)
                } else {
                    remote(format!("connection lost: {}", error_chain(&e)))
                };
                return Err(lost.into());
            }
            Some(None) => {
                for data in sse.finish() {
                    if acc.event(&data, tx, &remote).await? {
                        return Ok(acc.stats());
                    }
                }
                if acc.finish_reason.is_some() {
                    return Ok(acc.stats());
                }
                return Err(
                    remote("stream ended early (no [DONE] and no finish_reason)".into()).into(),
                );
            }
        };
        for data in events {
            if acc.event(&data, tx, &remote).await? {
                // [DONE]: dropping the body closes the connection.
                return Ok(acc.stats());
            }
        }
    }
}

/// What a stream told so far.
struct Accumulator {
    start: Instant,
    chat: bool,
    deltas: usize,
    first_delta: Option<Instant>,
    last_delta: Option<Instant>,
    finish_reason: Option<String>,
    prompt_tokens: Option<usize>,
    completion_tokens: Option<usize>,
    prompt_tok_s: Option<f64>,
}

impl Accumulator {
    fn new(start: Instant, chat: bool) -> Self {
        Self {
            start,
            chat,
            deltas: 0,
            first_delta: None,
            last_delta: None,
            finish_reason: None,
            prompt_tokens: None,
            completion_tokens: None,
            prompt_tok_s: None,
        }
    }

    /// Handles one event's data; true at `[DONE]`.
    async fn event(
        &mut self,
        data: &str,
        tx: &Tx,
        remote: &impl Fn(String) -> LlmError,
    ) -> Result<bool, Stop> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| {
            remote(format!(
                "malformed JSON in the stream ({e}): data: {}",
                clip(data, 300)
            ))
        })?;
        if let Some(err) = chunk.get("error") {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| clip(&err.to_string(), 300));
            return Err(remote(format!("error in the stream: {msg}")).into());
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            let n = |k: &str| usage.get(k).and_then(Value::as_u64).map(|v| v as usize);
            self.prompt_tokens = n("prompt_tokens").or(self.prompt_tokens);
            self.completion_tokens = n("completion_tokens").or(self.completion_tokens);
        }
        // llama.cpp reports its own speeds.
        if let Some(speed) = chunk
            .pointer("/timings/prompt_per_second")
            .and_then(Value::as_f64)
        {
            self.prompt_tok_s = Some(speed);
        }
        let Some(choice) = chunk.pointer("/choices/0") else {
            return Ok(false);
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        let text = if self.chat {
            choice.pointer("/delta/content").and_then(Value::as_str)
        } else {
            choice.get("text").and_then(Value::as_str)
        };
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            let now = Instant::now();
            self.first_delta.get_or_insert(now);
            self.last_delta = Some(now);
            self.deltas += 1;
            if tx
                .send(Ok(StreamEvent::Delta(text.to_string())))
                .await
                .is_err()
            {
                return Err(Stop::Cancelled);
            }
        }
        Ok(false)
    }

    fn stats(&self) -> GenerationStats {
        let end = Instant::now();
        let first = self.first_delta.unwrap_or(end);
        let last = self.last_delta.unwrap_or(end);
        let prompt_tokens = self.prompt_tokens.unwrap_or(0);
        let generated = self.completion_tokens.unwrap_or(self.deltas);
        let decode_secs = (last - first).as_secs_f64();
        let finish_reason = match self.finish_reason.as_deref() {
            Some("length") => FinishReason::Length,
            _ => FinishReason::Stop,
        };
        GenerationStats {
            prompt_tokens,
            prompt_tokens_computed: prompt_tokens,
            generated_tokens: generated,
            ttft_ms: (first - self.start).as_secs_f64() * 1e3,
            prompt_tok_s: self.prompt_tok_s.unwrap_or(0.0),
            decode_tok_s: if generated > 1 && decode_secs > 0.0 {
                (generated - 1) as f64 / decode_secs
            } else {
                0.0
            },
            finish_reason,
            mean_logprob: None,
        }
    }
}

/// The first 64 KiB of an error body, as text.
async fn read_some(response: reqwest::Response) -> String {
    let mut body = response.bytes_stream();
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = body.next().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() >= 64 * 1024 {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// ": MESSAGE" from an OpenAI error body, else ": the first 300 characters".
fn error_summary(body: &str) -> String {
    let message = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let err = v.get("error")?;
        err.get("message")
            .and_then(Value::as_str)
            .or_else(|| err.as_str())
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| body.trim().to_string());
    if text.is_empty() {
        String::new()
    } else {
        format!(": {}", clip(&text, 300))
    }
}

fn clip(s: &str, chars: usize) -> String {
    match s.char_indices().nth(chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn send_error(url: &str, e: &reqwest::Error, opts: &OpenAiOptions) -> LlmError {
    let seconds = |d: Duration| d.as_secs_f64().ceil().max(1.0) as u64;
    if e.is_connect() {
        if e.is_timeout() || error_chain(e).contains("timed out") {
            return LlmError::Timeout {
                url: url.to_string(),
                seconds: seconds(opts.connect_timeout),
            };
        }
        return LlmError::Remote {
            url: url.to_string(),
            detail: format!("cannot connect: {}; is the server running?", error_chain(e)),
        };
    }
    if e.is_timeout() {
        return LlmError::Timeout {
            url: url.to_string(),
            seconds: seconds(opts.first_token_timeout),
        };
    }
    LlmError::Remote {
        url: url.to_string(),
        detail: format!("request failed: {}", error_chain(e)),
    }
}

/// The causes of an error, without reqwest's own "error sending request for url
/// (...)" line (the URL is already in the message).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        // hyper-util's "client error (Connect)" says nothing the rest does not.
        if !text.starts_with("client error") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The body as it goes over the wire (f32s printed as f32s).
    fn wire(body: &RequestBody<'_>) -> Value {
        serde_json::from_str(&serde_json::to_string(body).unwrap()).unwrap()
    }

    fn chunk(content: &str, finish: Option<&str>) -> String {
        json!({"object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
        .to_string()
    }

    async fn feed(acc: &mut Accumulator, data: &str, tx: &Tx) -> Result<bool, LlmError> {
        let remote = |detail: String| LlmError::Remote {
            url: "http://h/v1/chat/completions".into(),
            detail,
        };
        acc.event(data, tx, &remote).await.map_err(|e| match e {
            Stop::Failed(e) => e,
            Stop::Cancelled => panic!("cancelled"),
        })
    }

    #[tokio::test]
    async fn chunks_become_deltas_and_stats() {
        let (tx, mut rx) = TextStream::channel(16);
        let mut acc = Accumulator::new(Instant::now(), true);
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#;
        assert!(!feed(&mut acc, role, &tx).await.unwrap());
        assert!(!feed(&mut acc, &chunk("Hel", None), &tx).await.unwrap());
        assert!(!feed(&mut acc, &chunk("lo \u{4f60}", None), &tx)
            .await
            .unwrap());
        assert!(!feed(&mut acc, &chunk("", Some("length")), &tx)
            .await
            .unwrap());
        let usage =
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#;
        assert!(!feed(&mut acc, usage, &tx).await.unwrap());
        assert!(feed(&mut acc, " [DONE] ", &tx).await.unwrap());
        drop(tx);
        let mut deltas = Vec::new();
        while let Some(ev) = rx.next().await {
            match ev.unwrap() {
                StreamEvent::Delta(d) => deltas.push(d),
                StreamEvent::Done(_) => panic!("no Done from the accumulator"),
            }
        }
        assert_eq!(deltas, ["Hel", "lo \u{4f60}"]);
        let stats = acc.stats();
        assert_eq!((stats.prompt_tokens, stats.generated_tokens), (9, 3));
        assert_eq!(stats.prompt_tokens_computed, 9);
        assert_eq!(stats.finish_reason, FinishReason::Length);

        // Without usage: deltas are counted; "stop" (also for stop strings) is Stop.
        let (tx, _rx) = TextStream::channel(16);
        let mut acc = Accumulator::new(Instant::now(), false);
        let text = |t: &str, f: Option<&str>| {
            json!({"choices": [{"index": 0, "text": t, "finish_reason": f}]}).to_string()
        };
        feed(&mut acc, &text("a", None), &tx).await.unwrap();
        feed(&mut acc, &text("b", Some("stop")), &tx).await.unwrap();
        let stats = acc.stats();
        assert_eq!((stats.prompt_tokens, stats.generated_tokens), (0, 2));
        assert_eq!(stats.finish_reason, FinishReason::Stop);
    }

    #[tokio::test]
    async fn bad_chunks_are_errors_naming_the_line() {
        let (tx, _rx) = TextStream::channel(16);
        let mut acc = Accumulator::new(Instant::now(), true);
        let err = feed(&mut acc, r#"{"choices": [{"delta": "#, &tx)
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("malformed JSON") && msg.contains(r#"data: {"choices""#),
            "{msg}"
        );
        assert!(msg.contains("http://h/v1/chat/completions"), "{msg}");
        let err = feed(&mut acc, r#"{"error": {"message": "out of memory"}}"#, &tx)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("out of memory"), "{err}");
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_summary(r#"{"error": {"message": "model not found", "type": "x"}}"#),
            ": model not found"
        );
        assert_eq!(error_summary(r#"{"error": "bad"}"#), ": bad");
        assert_eq!(error_summary("  "), "");
        let long = "x".repeat(1000);
        assert_eq!(error_summary(&long).chars().count(), 2 + 300 + 1);
    }

    #[test]
    fn requests_carry_the_sampling_params() {
        let params = SamplingParams {
            stop: vec!["END".into()],
            ..SamplingParams::default()
        };
        let prompt = Prompt::Messages {
            messages: vec![Message::user("hi")],
            transcript: None,
        };
        let v = wire(&request_body("m", &prompt, &params));
        assert_eq!(
            v,
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}],
                   "stream": true, "stream_options": {"include_usage": true},
                   "temperature": 0.7, "top_p": 0.95, "max_tokens": 256, "seed": 42,
                   "stop": ["END"], "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1,
                   "repetition_penalty": 1.1, "repeat_last_n": 64})
        );
        let greedy = SamplingParams::greedy();
        let v = wire(&request_body("m", &Prompt::Text("t".into()), &greedy));
        assert_eq!(v["prompt"], "t");
        assert_eq!(v["top_k"], -1);
        assert!(v.get("messages").is_none() && v.get("stop").is_none());
    }

    #[test]
    fn base_urls_are_normalised() {
        for (given, want) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080"),
            ("localhost:11434/v1", "http://localhost:11434"),
            ("http://h:1/v1/chat/completions", "http://h:1"),
            ("http://h:1/api/v1", "http://h:1/api"),
            (" http://h:1/v1 ", "http://h:1"),
        ] {
            assert_eq!(normalise_base(given).unwrap(), want, "{given}");
        }
        for bad in [
            "",
            "https://api.example.com/v1",
            "ftp://h",
            "http://",
            "http://h/?x=1",
        ] {
            assert!(normalise_base(bad).is_err(), "{bad}");
        }
    }
}
