//! The OpenAI-compatible client and server against each other on loopback,
//! with the real SmolLM2 model behind the server.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};
use sparring_core::{FinishReason, GenerationStats, Message, SamplingParams};
use sparring_llm::openai::{server, OpenAiBackend, OpenAiOptions};
use sparring_llm::{
    ChatBackend, ChatSession, LlmError, LocalModel, Prompt, StreamEvent, TextStream,
};

/// Serves `backend` on a free loopback port; returns `http://127.0.0.1:PORT`.
async fn serve(backend: Arc<dyn ChatBackend>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::router(backend, "smollm2".into());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client(base: &str) -> OpenAiBackend {
    OpenAiBackend::new(base, "smollm2", OpenAiOptions::default()).unwrap()
}

/// The error a short chat request through `backend` ends with.
async fn failure(backend: OpenAiBackend) -> LlmError {
    let prompt = Prompt::Messages {
        messages: vec![Message::user("Hello?")],
        transcript: None,
    };
    backend
        .open()
        .unwrap()
        .stream(prompt, greedy(4))
        .collect_text()
        .await
        .unwrap_err()
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams {
        max_tokens,
        ..SamplingParams::greedy()
    }
}

/// Reads a whole stream: the deltas one by one, and the final stats.
async fn drain(mut stream: TextStream) -> Result<(Vec<String>, GenerationStats), LlmError> {
    let mut deltas = Vec::new();
    while let Some(ev) = stream.next().await {
        match ev? {
            StreamEvent::Delta(d) => {
                assert!(!d.is_empty(), "empty delta");
                deltas.push(d);
            }
            StreamEvent::Done(stats) => {
                assert!(stream.next().await.is_none(), "events after Done");
                return Ok((deltas, stats));
            }
        }
    }
    panic!("the stream ended without Done");
}

/// What the server reports for each finish reason of the model.
fn over_the_wire(reason: FinishReason) -> FinishReason {
    match reason {
        FinishReason::Length => FinishReason::Length,
        _ => FinishReason::Stop,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_chat_through_the_server_equals_the_local_model() {
    let Some(model) = common::smollm2() else {
        return;
    };
    let base = serve(Arc::new(model.clone())).await;
    let backend = client(&format!("{base}/v1/"));
    assert_eq!(backend.base_url(), base);
    assert_eq!(
        backend.describe(),
        format!("smollm2 at {base} (OpenAI-compatible)")
    );
    let messages = vec![
        Message::system("You are a helpful assistant."),
        Message::user("What is the capital of France?"),
    ];
    let params = greedy(16);

    let mut session = backend.open().unwrap();
    let prompt = Prompt::Messages {
        messages: messages.clone(),
        transcript: None,
    };
    let (deltas, stats) = drain(session.stream(prompt, params.clone())).await.unwrap();

    let (direct, direct_stats) = tokio::task::spawn_blocking(move || {
        let mut conv = model.new_conversation().unwrap();
        conv.chat(&messages, None, &params, |_| true).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(deltas.concat(), direct);
    assert!(deltas.len() > 1, "expected several deltas: {deltas:?}");
    assert!(stats.generated_tokens > 0);
    assert_eq!(stats.generated_tokens, direct_stats.generated_tokens);
    assert_eq!(stats.prompt_tokens, direct_stats.prompt_tokens);
    assert_eq!(stats.prompt_tokens_computed, stats.prompt_tokens);
    assert_eq!(
        stats.finish_reason,
        over_the_wire(direct_stats.finish_reason)
    );
    assert!(stats.ttft_ms > 0.0, "{stats:?}");
    assert!(
        stats.prompt_tok_s > 0.0,
        "llama.cpp-style timings: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_completion_through_the_server_equals_the_local_model() {
    let Some(model) = common::smollm2() else {
        return;
    };
    let base = serve(Arc::new(model.clone())).await;
    let text = "One, two, three, four,";
    let params = greedy(10);
    let mut session = client(&base).open().unwrap();
    let (deltas, stats) = drain(session.stream(Prompt::Text(text.into()), params.clone()))
        .await
        .unwrap();
    let (direct, direct_stats) = tokio::task::spawn_blocking(move || {
        let mut conv = model.new_conversation().unwrap();
        conv.complete(text, &params, |_| true).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(deltas.concat(), direct);
    assert!(deltas.len() > 1, "{deltas:?}");
    assert_eq!(stats.generated_tokens, direct_stats.generated_tokens);
    assert_eq!(
        stats.finish_reason,
        over_the_wire(direct_stats.finish_reason)
    );
}

/// The server's JSON and SSE as any OpenAI client sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wire_format_is_openai_s() {
    let Some(model) = common::smollm2() else {
        return;
    };
    let base = serve(Arc::new(model)).await;
    let http = reqwest::Client::new();

    let models: Value = http
        .get(format!("{base}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["object"], "list");
    assert_eq!(models["data"][0]["id"], "smollm2");

    let resp = http
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({
            "model": "smollm2",
            "messages": [{"role": "user", "content": "Say hello."}],
            "max_tokens": 8,
            "temperature": 0,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion", "{v}");
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"), "{v}");
    assert_eq!(v["model"], "smollm2");
    let choice = &v["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant", "{v}");
    assert!(
        !choice["message"]["content"].as_str().unwrap().is_empty(),
        "{v}"
    );
    assert!(["stop", "length"].contains(&choice["finish_reason"].as_str().unwrap()));
    let usage = &v["usage"];
    let (p, c) = (
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    assert!(p > 0 && (1..=8).contains(&c), "{v}");
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), p + c);

    // Non-streaming raw completion.
    let v: Value = http
        .post(format!("{base}/v1/completions"))
        .json(&json!({"prompt": "The sky is", "max_tokens": 4, "temperature": 0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["object"], "text_completion", "{v}");
    assert!(v["choices"][0]["text"].is_string(), "{v}");
    assert_eq!(v["usage"]["completion_tokens"], 4, "{v}");

    // Streaming chat: SSE with role first, then content, a finish reason, usage, [DONE].
    let resp = http
        .post(format!("{base}/v1/chat/completions"))
        .json(&json!({
            "messages": [{"role": "user", "content": "Say hello."}],
            "max_tokens": 6,
            "temperature": 0,
            "stream": true,
            "stream_options": {"include_usage": true},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let body = resp.text().await.unwrap();
    let data: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"), "{body}");
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks
        .iter()
        .all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]), "{body}");
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 6, "{body}");
    let finish = &chunks[chunks.len() - 2]["choices"][0];
    assert_eq!(finish["finish_reason"], "length", "{body}");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(!text.is_empty(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_server_and_say_what_went_wrong() {
    let Some(model) = common::smollm2() else {
        return;
    };
    let base = serve(Arc::new(model)).await;

    // Nothing listening.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let err = failure(client(&closed)).await;
    let msg = err.to_string();
    assert!(matches!(err, LlmError::Remote { .. }), "{err:?}");
    assert!(
        msg.contains(&closed) && msg.contains("cannot connect"),
        "{msg}"
    );

    // A real server, a path it does not have.
    let err = failure(client(&format!("{base}/bogus"))).await;
    let msg = err.to_string();
    assert!(matches!(err, LlmError::Remote { .. }), "{err:?}");
    assert!(
        msg.contains("404") && msg.contains(&format!("{base}/bogus")),
        "{msg}"
    );
    assert!(
        msg.contains("no such endpoint"),
        "the server's message: {msg}"
    );

    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let options = OpenAiOptions {
        first_token_timeout: Duration::from_secs(1),
        ..OpenAiOptions::default()
    };
    let started = Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        failure(OpenAiBackend::new(&silent_url, "smollm2", options).unwrap()),
    )
    .await
    .expect("the first-token timeout did not fire");
    assert!(
        matches!(&err, LlmError::Timeout { url, seconds: 1 } if url.starts_with(&silent_url)),
        "{err:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));

    // Bad requests: OpenAI error JSON with the right status. A fresh
    // connection per request: the server closes one after a 413 without
    // reading the rest of the body, and a pooled client would reuse it.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let post = |body: Vec<u8>| {
        http.post(format!("{base}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let huge = json!({
        "messages": [{"role": "user", "content": "a".repeat(2 << 20)}],
    });
    let resp = post(serde_json::to_vec(&huge).unwrap()).await.unwrap();
    assert_eq!(resp.status(), 413);
    let v: Value = resp.json().await.unwrap();
    assert!(v["error"]["message"].is_string(), "{v}");

    for (body, param) in [
        (&b"{\"messages\": ["[..], "body"),
        (&b"{\"model\": \"smollm2\"}"[..], "messages"),
        (
            &br#"{"messages": [{"role": "user", "content": "a"}, {"role": "wizard", "content": "b"}]}"#[..],
            "messages[1].role",
        ),
    ] {
        let resp = post(body.to_vec()).await.unwrap();
        assert_eq!(resp.status(), 400);
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["param"], param, "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(param), "{v}");
    }
}

/// What happened to the server-side streams of [`OneConversation`].
#[derive(Default)]
struct Log {
    deltas: AtomicUsize,
    ended: Mutex<Vec<&'static str>>,
}

/// The real model behind one single conversation: every request goes to the
/// same session, whose worker waits for the previous generation to finish
/// (as in generation.rs). Records how each server-side stream ended.
struct OneConversation {
    session: Arc<Mutex<Box<dyn ChatSession>>>,
    log: Arc<Log>,
}

impl ChatBackend for OneConversation {
    fn describe(&self) -> String {
        "SmolLM2, one conversation".into()
    }
    fn open(&self) -> Result<Box<dyn ChatSession>, LlmError> {
        Ok(Box::new(OneConversation {
            session: self.session.clone(),
            log: self.log.clone(),
        }))
    }
}

impl ChatSession for OneConversation {
    fn stream(&mut self, prompt: Prompt, params: SamplingParams) -> TextStream {
        let mut inner = self.session.lock().unwrap().stream(prompt, params);
        let (tx, out) = TextStream::channel(64);
        let log = self.log.clone();
        tokio::spawn(async move {
            let how = loop {
                tokio::select! {
                    _ = tx.closed() => break "dropped",
                    ev = inner.next() => match ev {
                        Some(Ok(StreamEvent::Delta(d))) => {
                            log.deltas.fetch_add(1, Ordering::SeqCst);
                            if tx.send(Ok(StreamEvent::Delta(d))).await.is_err() {
                                break "dropped";
                            }
                        }
                        Some(ev) => {
                            let how = if ev.is_ok() { "done" } else { "error" };
                            let _ = tx.send(ev).await;
                            break how;
                        }
                        None => break "ended",
                    },
                }
            };
            log.ended.lock().unwrap().push(how);
        });
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_client_stream_stops_the_servers_generation() {
    let Some(model) = common::smollm2() else {
        return;
    };
    let log = Arc::new(Log::default());
    let backend = OneConversation {
        session: Arc::new(Mutex::new(LocalModel::open(&model).unwrap())),
        log: log.clone(),
    };
    let base = serve(Arc::new(backend)).await;
    let mut session = client(&base).open().unwrap();
    let long = SamplingParams {
        temperature: 0.9,
        seed: 3,
        max_tokens: 4000,
        ..SamplingParams::default()
    };
    let prompt = |text: &str| Prompt::Messages {
        messages: vec![Message::user(text)],
        transcript: None,
    };
    let mut stream = session.stream(
        prompt("Write a very long story about a dragon who lives in a library."),
        long,
    );
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::Delta(_)))
    ));
    drop(stream);

    // The server notices the closed connection and drops its stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.ended.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the server kept streaming");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(*log.ended.lock().unwrap(), ["dropped"]);
    let streamed = log.deltas.load(Ordering::SeqCst);
    assert!(streamed < 200, "{streamed} deltas after the client left");

    // The conversation's worker stopped too: the next request gets it promptly.
    let next = session.stream(prompt("Say hi."), greedy(4));
    let (text, _) = tokio::time::timeout(Duration::from_secs(120), next.collect_text())
        .await
        .expect("the dropped generation kept running")
        .unwrap();
    assert!(!text.is_empty());
    assert_eq!(*log.ended.lock().unwrap(), ["dropped", "done"]);
}

/// Callers without a tokio runtime get a small one of the client's own.
#[test]
fn the_client_works_outside_a_runtime() {
    let Some(model) = common::smollm2() else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let base = rt.block_on(serve(Arc::new(model)));
    let mut session = client(&base).open().unwrap();
    let stream = session.stream(Prompt::Text("The sky is".into()), greedy(4));
    let (text, stats) = futures::executor::block_on(stream.collect_text()).unwrap();
    assert!(!text.is_empty());
    assert_eq!(stats.generated_tokens, 4);
    assert_eq!(stats.finish_reason, FinishReason::Length);
}
