//! An OpenAI-compatible HTTP server for any [`ChatBackend`]: chat completions,
//! raw completions (both streaming with SSE or not) and the model list.
//!
//! ```no_run
//! # async fn serve(backend: std::sync::Arc<dyn sparring_llm::ChatBackend>) -> std::io::Result<()> {
//! let app = sparring_llm::openai::server::router(backend, "smollm2".into());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! Every request opens a fresh session (the backend's conversation state is not
//! shared between requests). A client that disconnects stops its generation.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use serde_json::{json, Map, Value};
use sparring_core::{FinishReason, GenerationStats, Message, Role, SamplingParams};

use crate::backend::{ChatBackend, ChatSession, Prompt, StreamEvent, TextStream};
use crate::error::LlmError;

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
struct AppState {
    backend: Arc<dyn ChatBackend>,
    model: Arc<str>,
}

/// The routes `POST /v1/chat/completions`, `POST /v1/completions` and
/// `GET /v1/models`, serving `backend` under the name `model_name`.
pub fn router(backend: Arc<dyn ChatBackend>, model_name: String) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/completions", post(completions))
        .route("/v1/models", get(models))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(AppState {
            backend,
            model: model_name.into(),
        })
}

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    param: Option<String>,
    code: Option<&'static str>,
}

impl ApiError {
    fn bad_request(param: impl Into<String>, message: impl Into<String>) -> Self {
        let param = param.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            message: format!("{param}: {}", message.into()),
            param: Some(param),
            code: None,
        }
    }

    fn from_llm(e: &LlmError) -> Self {
        let (status, code) = match e {
            LlmError::ContextOverflow { .. } => {
                (StatusCode::BAD_REQUEST, Some("context_length_exceeded"))
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, None),
        };
        Self {
            status,
            message: e.to_string(),
            param: None,
            code,
        }
    }

    fn kind(&self) -> &'static str {
        if self.status.is_server_error() {
            "server_error"
        } else {
            "invalid_request_error"
        }
    }

    fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind(),
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        message: "no such endpoint; this server has POST /v1/chat/completions, \
                  POST /v1/completions and GET /v1/models"
            .into(),
        param: None,
        code: Some("not_found"),
    }
}

async fn models(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{
            "id": &*state.model,
            "object": "model",
            "created": unix_now(),
            "owned_by": "sparring",
        }],
    }))
}

/// Which endpoint a request came to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Text,
}

/// A parsed request.
struct Request {
    prompt: Prompt,
    params: SamplingParams,
    stream: bool,
    include_usage: bool,
}

async fn chat_completions(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(state, body, Kind::Chat).await
}

async fn completions(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    handle(state, body, Kind::Text).await
}

async fn handle(state: AppState, body: Result<Bytes, BytesRejection>, kind: Kind) -> Response {
    match respond(state, body, kind).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn respond(
    state: AppState,
    body: Result<Bytes, BytesRejection>,
    kind: Kind,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| ApiError {
        status: r.status(),
        message: if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            format!("request body larger than {MAX_BODY_BYTES} bytes")
        } else {
            r.body_text()
        },
        param: None,
        code: None,
    })?;
    let request = parse_request(&body, kind)?;
    let backend = state.backend.clone();
    let mut session = tokio::task::spawn_blocking(move || backend.open())
        .await
        .map_err(|e| ApiError::from_llm(&LlmError::Worker(e.to_string())))?
        .map_err(|e| ApiError::from_llm(&e))?;
    let mut stream = session.stream(request.prompt, request.params);
    // Wait for the first event so that errors before any text (a prompt too
    // long for the context) get a proper status instead of a broken stream.
    let first = match stream.next().await {
        Some(Ok(ev)) => ev,
        Some(Err(e)) => return Err(ApiError::from_llm(&e)),
        None => {
            return Err(ApiError::from_llm(&LlmError::Worker(
                "generation ended without a result".into(),
            )))
        }
    };
    let meta = Meta::new(kind, state.model.clone());
    if request.stream {
        let events = sse_events(meta, session, first, stream, request.include_usage);
        Ok(Sse::new(events)
            .keep_alive(KeepAlive::default())
            .into_response())
    } else {
        let (text, stats) = collect(first, stream)
            .await
            .map_err(|e| ApiError::from_llm(&e))?;
        Ok(Json(meta.whole(&text, &stats)).into_response())
    }
}

async fn collect(
    first: StreamEvent,
    mut stream: TextStream,
) -> Result<(String, GenerationStats), LlmError> {
    let mut text = String::new();
    let mut next = Some(Ok(first));
    loop {
        match next {
            Some(Ok(StreamEvent::Delta(d))) => text.push_str(&d),
            Some(Ok(StreamEvent::Done(stats))) => return Ok((text, stats)),
            Some(Err(e)) => return Err(e),
            None => return Err(LlmError::Worker("stream ended without a result".into())),
        }
        next = stream.next().await;
    }
}

/// What every response object of one request shares.
struct Meta {
    kind: Kind,
    id: String,
    created: u64,
    model: Arc<str>,
}

impl Meta {
    fn new(kind: Kind, model: Arc<str>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let prefix = match kind {
            Kind::Chat => "chatcmpl",
            Kind::Text => "cmpl",
        };
        Self {
            kind,
            id: format!("{prefix}-{nanos:x}{n:04x}"),
            created: unix_now(),
            model,
        }
    }

    fn object(&self, streaming: bool) -> &'static str {
        match (self.kind, streaming) {
            (Kind::Chat, true) => "chat.completion.chunk",
            (Kind::Chat, false) => "chat.completion",
            (Kind::Text, _) => "text_completion",
        }
    }

    fn envelope(&self, streaming: bool, choices: Value) -> Map<String, Value> {
        let mut obj = Map::new();
        obj.insert("id".into(), self.id.clone().into());
        obj.insert("object".into(), self.object(streaming).into());
        obj.insert("created".into(), self.created.into());
        obj.insert("model".into(), (*self.model).into());
        obj.insert("choices".into(), choices);
        obj
    }

    /// A streamed chunk with text, or the last one with the finish reason.
    fn chunk(&self, delta: Option<Value>, text: &str, finish: Option<&str>) -> Value {
        let choice = match self.kind {
            Kind::Chat => json!({
                "index": 0,
                "delta": delta.unwrap_or_else(|| json!({"content": text})),
                "logprobs": null,
                "finish_reason": finish,
            }),
            Kind::Text => json!({
                "index": 0,
                "text": text,
                "logprobs": null,
                "finish_reason": finish,
            }),
        };
        Value::Object(self.envelope(true, json!([choice])))
    }

    fn whole(&self, text: &str, stats: &GenerationStats) -> Value {
        let choice = match self.kind {
            Kind::Chat => json!({
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": finish_reason(stats.finish_reason),
            }),
            Kind::Text => json!({
                "index": 0,
                "text": text,
                "logprobs": null,
                "finish_reason": finish_reason(stats.finish_reason),
            }),
        };
        let mut obj = self.envelope(false, json!([choice]));
        obj.insert("usage".into(), usage(stats));
        obj.insert("timings".into(), timings(stats));
        Value::Object(obj)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        FinishReason::Stop | FinishReason::StopString | FinishReason::Cancelled => "stop",
    }
}

fn usage(stats: &GenerationStats) -> Value {
    json!({
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.generated_tokens,
        "total_tokens": stats.prompt_tokens + stats.generated_tokens,
    })
}

/// llama.cpp's extension, which clients (ours included) read for speeds.
fn timings(stats: &GenerationStats) -> Value {
    json!({
        "prompt_n": stats.prompt_tokens_computed,
        "prompt_per_second": stats.prompt_tok_s,
        "predicted_n": stats.generated_tokens,
        "predicted_per_second": stats.decode_tok_s,
    })
}

fn data(value: &Value) -> Event {
    Event::default().data(value.to_string())
}

/// The SSE body. It owns the session and the text stream: when the client goes
/// away, hyper drops the body, which drops the stream and stops generation.
fn sse_events(
    meta: Meta,
    session: Box<dyn ChatSession>,
    first: StreamEvent,
    stream: TextStream,
    include_usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    struct St {
        meta: Meta,
        _session: Box<dyn ChatSession>,
        pending: Option<StreamEvent>,
        stream: TextStream,
        include_usage: bool,
        started: bool,
    }
    let state = St {
        meta,
        _session: session,
        pending: Some(first),
        stream,
        include_usage,
        started: false,
    };
    futures::stream::unfold(Some(state), |state| async move {
        let mut st = state?;
        let mut out = Vec::new();
        if !st.started {
            st.started = true;
            if st.meta.kind == Kind::Chat {
                let role = json!({"role": "assistant", "content": ""});
                out.push(data(&st.meta.chunk(Some(role), "", None)));
            }
        }
        let next = match st.pending.take() {
            Some(ev) => Some(Ok(ev)),
            None => st.stream.next().await,
        };
        let more = match next {
            Some(Ok(StreamEvent::Delta(d))) => {
                out.push(data(&st.meta.chunk(None, &d, None)));
                true
            }
            Some(Ok(StreamEvent::Done(stats))) => {
                let reason = finish_reason(stats.finish_reason);
                let mut last = st.meta.chunk(Some(json!({})), "", Some(reason));
                last["timings"] = timings(&stats);
                out.push(data(&last));
                if st.include_usage {
                    let mut obj = st.meta.envelope(true, json!([]));
                    obj.insert("usage".into(), usage(&stats));
                    out.push(data(&Value::Object(obj)));
                }
                out.push(Event::default().data("[DONE]"));
                false
            }
            Some(Err(e)) => {
                out.push(data(&ApiError::from_llm(&e).body()));
                false
            }
            None => {
                let e = LlmError::Worker("generation ended without a result".into());
                out.push(data(&ApiError::from_llm(&e).body()));
                false
            }
        };
        let events = futures::stream::iter(out.into_iter().map(Ok::<_, Infallible>));
        Some((events, more.then_some(st)))
    })
    .flatten()
}

fn parse_request(body: &[u8], kind: Kind) -> Result<Request, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("body", format!("invalid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(ApiError::bad_request("body", "must be a JSON object"));
    };
    let prompt = match kind {
        Kind::Chat => Prompt::Messages {
            messages: parse_messages(obj.get("messages"))?,
            transcript: None,
        },
        Kind::Text => Prompt::Text(parse_prompt(obj.get("prompt"))?),
    };
    if let Some(n) = field(&obj, "n") {
        if n.as_u64() != Some(1) {
            return Err(ApiError::bad_request("n", "only n = 1 is supported"));
        }
    }
    let d = SamplingParams::default();
    let max_tokens = match uint(&obj, "max_tokens")? {
        Some(n) => Some(n),
        None => uint(&obj, "max_completion_tokens")?,
    };
    let params = SamplingParams {
        temperature: float(&obj, "temperature")?.unwrap_or(d.temperature),
        top_k: match field(&obj, "top_k") {
            None => d.top_k,
            // -1 (vLLM) and 0 (llama.cpp) both mean "off".
            Some(v) => match v.as_i64() {
                Some(k) if k <= 0 => 0,
                Some(k) => k as usize,
                None => return Err(ApiError::bad_request("top_k", "must be an integer")),
            },
        },
        top_p: float(&obj, "top_p")?.unwrap_or(d.top_p),
        min_p: float(&obj, "min_p")?.unwrap_or(d.min_p),
        repeat_penalty: match float(&obj, "repeat_penalty")? {
            Some(p) => p,
            None => float(&obj, "repetition_penalty")?.unwrap_or(d.repeat_penalty),
        },
        repeat_last_n: uint(&obj, "repeat_last_n")?.unwrap_or(d.repeat_last_n),
        max_tokens: max_tokens.unwrap_or(d.max_tokens),
        stop: parse_stop(field(&obj, "stop"))?,
        seed: match field(&obj, "seed") {
            None => d.seed,
            Some(v) => match (v.as_u64(), v.as_i64()) {
                (Some(s), _) => s,
                (None, Some(s)) => s as u64,
                _ => return Err(ApiError::bad_request("seed", "must be an integer")),
            },
        },
    };
    let stream = match field(&obj, "stream") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| ApiError::bad_request("stream", "must be true or false"))?,
    };
    let include_usage = field(&obj, "stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Request {
        prompt,
        params,
        stream,
        include_usage,
    })
}

/// A field that is present and not null.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn float(obj: &Map<String, Value>, key: &str) -> Result<Option<f32>, ApiError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(Some(x as f32)),
            _ => Err(ApiError::bad_request(key, "must be a non-negative number")),
        },
    }
}

fn uint(obj: &Map<String, Value>, key: &str) -> Result<Option<usize>, ApiError> {
    match field(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
            None => Err(ApiError::bad_request(key, "must be a non-negative integer")),
        },
    }
}

fn parse_stop(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::bad_request(format!("stop[{i}]"), "must be a string"))
            })
            .collect(),
        Some(_) => Err(ApiError::bad_request(
            "stop",
            "must be a string or an array of strings",
        )),
    }
}

fn parse_prompt(v: Option<&Value>) -> Result<String, ApiError> {
    match v {
        None | Some(Value::Null) => Err(ApiError::bad_request("prompt", "missing field")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
            Ok(items[0].as_str().unwrap_or_default().to_string())
        }
        Some(_) => Err(ApiError::bad_request(
            "prompt",
            "must be a string (or an array of one string)",
        )),
    }
}

fn parse_messages(v: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let items = match v {
        None | Some(Value::Null) => return Err(ApiError::bad_request("messages", "missing field")),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::bad_request("messages", "must be an array")),
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("messages", "must not be empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let Value::Object(m) = m else {
                return Err(ApiError::bad_request(
                    format!("messages[{i}]"),
                    "must be an object",
                ));
            };
            let role = match m.get("role") {
                Some(Value::String(r)) => match r.as_str() {
                    "system" | "developer" => Role::System,
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    other => {
                        return Err(ApiError::bad_request(
                            format!("messages[{i}].role"),
                            format!("unknown role `{other}` (expected system, user or assistant)"),
                        ))
                    }
                },
                None | Some(Value::Null) => {
                    return Err(ApiError::bad_request(
                        format!("messages[{i}].role"),
                        "missing field",
                    ))
                }
                Some(_) => {
                    return Err(ApiError::bad_request(
                        format!("messages[{i}].role"),
                        "must be a string",
                    ))
                }
            };
            let content = parse_content(m.get("content"), i)?;
            Ok(Message { role, content })
        })
        .collect()
}

/// A string, or an array of `{"type": "text", "text": ...}` parts.
fn parse_content(v: Option<&Value>, i: usize) -> Result<String, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut text = String::new();
            for (j, part) in parts.iter().enumerate() {
                match (
                    part.get("type").and_then(Value::as_str),
                    part.get("text").and_then(Value::as_str),
                ) {
                    (Some("text"), Some(t)) => text.push_str(t),
                    _ => {
                        return Err(ApiError::bad_request(
                            format!("messages[{i}].content[{j}]"),
                            "only text parts are supported",
                        ))
                    }
                }
            }
            Ok(text)
        }
        Some(_) => Err(ApiError::bad_request(
            format!("messages[{i}].content"),
            "must be a string or an array of text parts",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_map_to_prompts_and_params() {
        let body = br#"{"model":"x","messages":[{"role":"system","content":"s"},
            {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
            "temperature":0,"top_k":-1,"top_p":1,"min_p":0,"repeat_penalty":1,
            "max_completion_tokens":16,"seed":7,"stop":"END","stream":true,
            "stream_options":{"include_usage":true}}"#;
        let r = parse_request(body, Kind::Chat).unwrap();
        let Prompt::Messages { messages, .. } = &r.prompt else {
            panic!("chat prompt expected");
        };
        assert_eq!(messages, &[Message::system("s"), Message::user("ab")]);
        assert_eq!(
            r.params,
            SamplingParams {
                max_tokens: 16,
                seed: 7,
                stop: vec!["END".into()],
                ..SamplingParams::greedy()
            }
        );
        assert!(r.stream && r.include_usage);

        let r = parse_request(br#"{"prompt":"Once"}"#, Kind::Text).unwrap();
        assert!(matches!(r.prompt, Prompt::Text(ref t) if t == "Once"));
        assert_eq!(r.params, SamplingParams::default());
        assert!(!r.stream);
    }

    #[test]
    fn bad_requests_name_the_field() {
        let param = |body: &[u8], kind| parse_request(body, kind).err().unwrap().param.unwrap();
        assert_eq!(param(b"{", Kind::Chat), "body");
        assert_eq!(param(b"{}", Kind::Chat), "messages");
        assert_eq!(param(b"{}", Kind::Text), "prompt");
        assert_eq!(
            param(
                br#"{"messages":[{"role":"user","content":"a"},{"role":"tool","content":"b"}]}"#,
                Kind::Chat
            ),
            "messages[1].role"
        );
        assert_eq!(
            param(
                br#"{"messages":[{"role":"user","content":"a"}],"max_tokens":-3}"#,
                Kind::Chat
            ),
            "max_tokens"
        );
        assert_eq!(
            param(
                br#"{"messages":[{"role":"user","content":"a"}],"stop":[1]}"#,
                Kind::Chat
            ),
            "stop[0]"
        );
    }
}
