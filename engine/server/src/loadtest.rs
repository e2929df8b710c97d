//! N trainees role-playing at once over HTTP, as a load test and benchmark:
//! the time to the first streamed token of each customer line, and a check
//! that every turn answered is stored.

use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// What one load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub sessions: usize,
    pub turns_per_session: usize,
    /// Turns the server said were done.
    pub turns_done: usize,
    /// Turns the server has stored afterwards (must equal `turns_done`).
    pub turns_stored: usize,
    /// Reply sent to first `delta` event, ms, one per turn that streamed.
    pub first_token_ms: Vec<f64>,
    /// Reply sent to the `state` event (scored by the plugins, the persona's
    /// state updated; the model starts after this), ms.
    pub scored_ms: Vec<f64>,
    /// Reply sent to `done`, ms.
    pub turn_ms: Vec<f64>,
    pub wall_s: f64,
    pub errors: Vec<String>,
}

/// The `q`-quantile (0..=1) of `xs`, nearest rank.
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    password: &str,
) -> Result<String, String> {
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("login {name}: {}", r.status()));
    }
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    Ok(v["token"].as_str().unwrap_or_default().to_string())
}

/// Milliseconds from a reply to its events.
struct Timing {
    scored: Option<f64>,
    first: Option<f64>,
    done: f64,
}

/// One reply's timing, or why it failed.
async fn reply(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    session: i64,
    text: &str,
) -> Result<Timing, String> {
    let started = Instant::now();
    let r = http
        .post(format!("{base}/api/sessions/{session}/turns"))
        .bearer_auth(token)
        .json(&json!({ "text": text }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!(
            "session {session}: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        ));
    }
    let mut first = None;
    let mut scored = None;
    let ms = || started.elapsed().as_secs_f64() * 1e3;
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    while let Some(chunk) = body.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk.map_err(|e| e.to_string())?));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let event = block
                .lines()
                .find_map(|l| l.strip_prefix("event:"))
                .map(str::trim)
                .unwrap_or("");
            match event {
                "state" => scored = Some(ms()),
                "delta" if first.is_none() => first = Some(ms()),
                // An authored line streams no deltas: it is all there at once.
                "line" if first.is_none() => first = Some(ms()),
                "done" => {
                    return Ok(Timing {
                        scored,
                        first,
                        done: ms(),
                    })
                }
                "error" => return Err(format!("session {session}: {block}")),
                _ => {}
            }
        }
    }
    Err(format!("session {session}: the stream ended before `done`"))
}

/// Each `(name, password)` trainee starts a session with `persona` and sends
/// `replies` in order, all trainees at once; then the stored turns are
/// counted. Bounded by `deadline` overall.
pub async fn run(
    base: &str,
    trainees: &[(String, String)],
    persona: &str,
    replies: &[String],
    deadline: Duration,
) -> LoadReport {
    let http = reqwest::Client::new();
    // Measure the server as trainees meet it once it is up, not its warm-up.
    let ready_by = Instant::now() + deadline;
    while Instant::now() < ready_by {
        let health: Option<Value> = match http.get(format!("{base}/healthz")).send().await {
            Ok(r) => r.json().await.ok(),
            Err(_) => None,
        };
        if health.is_some_and(|h| h["ready"] == true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let work = trainees.iter().map(|(name, pw)| {
        let http = http.clone();
        async move {
            let token = login(&http, base, name, pw).await?;
            let r = http
                .post(format!("{base}/api/sessions"))
                .bearer_auth(&token)
                .json(&json!({ "persona_id": persona, "mode": "practice", "seed": 1 }))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            let id = v["id"].as_i64().ok_or_else(|| format!("no session: {v}"))?;
            let mut timings = Vec::new();
            for text in replies {
                timings.push(reply(&http, base, &token, id, text).await);
            }
            Ok::<_, String>((token, id, timings))
        }
    });
    let empty = |errors: Vec<String>| LoadReport {
        sessions: trainees.len(),
        turns_per_session: replies.len(),
        turns_done: 0,
        turns_stored: 0,
        first_token_ms: Vec::new(),
        scored_ms: Vec::new(),
        turn_ms: Vec::new(),
        wall_s: started.elapsed().as_secs_f64(),
        errors,
    };
    let Ok(results) = tokio::time::timeout(deadline, futures::future::join_all(work)).await else {
        return empty(vec![format!("did not finish within {deadline:?}")]);
    };
    let mut report = empty(Vec::new());
    for r in results {
        match r {
            Err(e) => report.errors.push(e),
            Ok((token, id, timings)) => {
                for t in timings {
                    match t {
                        Ok(t) => {
                            report.turns_done += 1;
                            report.first_token_ms.extend(t.first);
                            report.scored_ms.extend(t.scored);
                            report.turn_ms.push(t.done);
                        }
                        Err(e) => report.errors.push(e),
                    }
                }
                let stored = http
                    .get(format!("{base}/api/sessions/{id}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .ok();
                let v: Value = match stored {
                    Some(r) => r.json().await.unwrap_or(Value::Null),
                    None => Value::Null,
                };
                report.turns_stored += v["turns"].as_array().map_or(0, Vec::len);
            }
        }
    }
    report
}
