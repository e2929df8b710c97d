//! Role-play sessions over HTTP: start one, stream the customer's answer to
//! each reply (SSE), end it with a scorecard, review and override scores.
//!
//! Each turn is stored (one transaction) before the client hears it is
//! done, so a crash loses no turn the trainee saw completed; a session not
//! in memory is restored from its stored turns on the next reply.

use crate::auth::{Caller, STAFF};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::{parse_persona, AppState, LiveSession};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use futures::Stream;
use serde::Deserialize;
use serde_json::{json, Value};
use sparring_core::persona::Persona;
use sparring_core::scorecard::{self, Scorecard};
use sparring_core::scoring::Score;
use sparring_session::{CustomerLine, Event, Session, SessionOptions, TurnRecord, MAX_REPLY_CHARS};
use sparring_store::{NewOverride, NewSession, Override, SessionRow};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

const MODES: &[&str] = &["practice", "exam"];

/// A stored session the caller may see (`write`: may reply to or end).
fn load_row(state: &AppState, caller: &Caller, id: i64, write: bool) -> ApiResult<SessionRow> {
    let row = state
        .db()
        .session(id)?
        .ok_or_else(|| ApiError::not_found(format!("session {id}")))?;
    let own = row.user_id == caller.user.id;
    if own || (!write && caller.can_review()) {
        return Ok(row);
    }
    Err(ApiError::forbidden(if write {
        "only the trainee of this session may reply to or end it"
    } else {
        "this session belongs to another trainee"
    }))
}

fn session_persona(row: &SessionRow) -> ApiResult<Persona> {
    parse_persona(&row.persona_id, &row.persona_toml)
        .map_err(|e| ApiError::internal(format!("session {}: stored persona: {e}", row.id)))
}

/// Feedback is held back from the trainee during an exam.
fn hides_feedback(row: &SessionRow, caller: &Caller) -> bool {
    row.mode == "exam" && row.status == "open" && row.user_id == caller.user.id
}

fn line_json(line: &CustomerLine, full: bool) -> Value {
    if full {
        serde_json::to_value(line).expect("plain data")
    } else {
        json!({ "text": line.text, "intent": line.intent, "source": line.source })
    }
}

fn turn_json(turn: &TurnRecord, hidden: bool, full: bool) -> Value {
    let mut update = serde_json::to_value(&turn.update).expect("plain data");
    let plugins = if hidden {
        hide_moods(&mut update);
        json!([])
    } else {
        serde_json::to_value(&turn.plugins).expect("plain data")
    };
    json!({
        "reply": turn.reply,
        "plugins": plugins,
        "update": update,
        "customer": line_json(&turn.customer, full),
    })
}

fn hide_moods(update: &mut Value) {
    if let Some(o) = update.as_object_mut() {
        o.remove("moods");
        o.remove("mood_changes");
        o.remove("resolved");
    }
}

fn scorecard_fields(scorecard: &Option<Value>) -> (Value, Value, Value) {
    match scorecard {
        Some(s) => (s["total"].clone(), s["passed"].clone(), s["tier"].clone()),
        None => (Value::Null, Value::Null, Value::Null),
    }
}

/// A session as lists show it.
pub fn row_json(row: &SessionRow, persona: Option<&Persona>) -> Value {
    let (total, passed, tier) = scorecard_fields(&row.scorecard);
    json!({
        "id": row.id,
        "user_id": row.user_id,
        "user_name": row.user_name,
        "persona_id": row.persona_id,
        "persona_name": persona.map(|p| p.name.clone()),
        "language": persona.map(|p| p.language),
        "model": row.model,
        "seed": row.seed,
        "mode": row.mode,
        "status": row.status,
        "outcome": row.outcome,
        "total": total,
        "passed": passed,
        "tier": tier,
        "turns": row.turns,
        "created_at": row.created_at,
        "ended_at": row.ended_at,
        "assignment_id": row.assignment_id,
    })
}

/// Scores of each reply, with the latest override of each (turn,
/// dimension) in place of the AI's.
fn effective_scores(turns: &[TurnRecord], overrides: &[Override]) -> Vec<Vec<Score>> {
    turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.scores()
                .into_iter()
                .map(|mut s| {
                    if let Some(o) = overrides
                        .iter()
                        .rev()
                        .find(|o| o.turn == i && o.dimension == s.dimension)
                    {
                        s.value = o.value as f32;
                        s.level = o.level.clone();
                    }
                    s
                })
                .collect()
        })
        .collect()
}

/// The scorecard of stored turns; the outcome is the last turn's.
pub fn grade(persona: &Persona, turns: &[TurnRecord], overrides: &[Override]) -> Scorecard {
    let outcome = turns.iter().rev().find_map(|t| t.update.outcome);
    scorecard::grade(
        &persona.scorecard,
        &effective_scores(turns, overrides),
        outcome,
    )
}

/// A session with its transcript, as the chat and review pages show it.
fn view(state: &AppState, caller: &Caller, row: &SessionRow) -> ApiResult<Value> {
    let persona = session_persona(row)?;
    let (turns, overrides) = {
        let db = state.db();
        (db.turns(row.id)?, db.overrides(row.id)?)
    };
    let hidden = hides_feedback(row, caller);
    let full = caller.can_review();
    let start: BTreeMap<String, f32> = persona
        .moods
        .iter()
        .map(|m| (m.name.clone(), m.start))
        .collect();
    let mut trajectory = vec![start.clone()];
    trajectory.extend(turns.iter().map(|t| t.update.moods.clone()));
    let revealed: Vec<&String> = turns.iter().flat_map(|t| &t.update.revealed).collect();
    let facts: Vec<Value> = persona
        .facts
        .iter()
        .filter(|f| revealed.contains(&&f.id))
        .map(|f| json!({ "id": f.id, "text": f.text }))
        .collect();
    let adjusted = (!overrides.is_empty() && row.status == "ended")
        .then(|| serde_json::to_value(grade(&persona, &turns, &overrides)).expect("plain data"));
    let mut v = row_json(row, Some(&persona));
    let o = v.as_object_mut().expect("object");
    o.insert("opening".into(), line_json(&row.opening, full));
    o.insert(
        "turns".into(),
        turns.iter().map(|t| turn_json(t, hidden, full)).collect(),
    );
    o.insert("feedback_hidden".into(), json!(hidden));
    o.insert(
        "moods".into(),
        if hidden {
            Value::Null
        } else {
            json!(trajectory.last().expect("has the start"))
        },
    );
    o.insert(
        "mood_trajectory".into(),
        if hidden { json!([]) } else { json!(trajectory) },
    );
    o.insert("max_turns".into(), json!(persona.max_turns));
    o.insert("facts".into(), json!(facts));
    o.insert(
        "scorecard".into(),
        row.scorecard.clone().unwrap_or(Value::Null),
    );
    o.insert("scorecard_adjusted".into(), adjusted.unwrap_or(Value::Null));
    o.insert("overrides".into(), json!(overrides));
    o.insert("skills".into(), json!(persona.skills));
    o.insert("scenario".into(), json!(persona.scenario));
    Ok(v)
}

#[derive(Deserialize)]
pub struct ListQuery {
    user_id: Option<i64>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let rows = match q.user_id {
        Some(u) if u != caller.user.id && !caller.can_review() => {
            return Err(ApiError::forbidden("trainees see only their own sessions"))
        }
        Some(u) => state.db().sessions_of(u)?,
        None if caller.can_review() => state.db().all_sessions()?,
        None => state.db().sessions_of(caller.user.id)?,
    };
    let items = rows
        .iter()
        .map(|r| {
            row_json(
                r,
                parse_persona(&r.persona_id, &r.persona_toml).ok().as_ref(),
            )
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let row = load_row(&state, &caller, id, false)?;
    Ok(Json(view(&state, &caller, &row)?))
}

#[derive(Deserialize)]
pub struct NewSessionBody {
    persona_id: Option<String>,
    /// An unsaved persona file, for an instructor's "try it".
    persona_toml: Option<String>,
    mode: Option<String>,
    seed: Option<u64>,
    assignment_id: Option<i64>,
}

fn options(state: &AppState, seed: u64) -> SessionOptions {
    SessionOptions {
        seed,
        attempts: state.attempts,
        model_languages: state.model_languages.clone(),
        ..SessionOptions::default()
    }
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewSessionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let mut mode = body.mode.unwrap_or_else(|| "practice".into());
    let mut persona_id = body.persona_id;
    if let Some(a) = body.assignment_id {
        let assignment = state
            .db()
            .assignment(a)?
            .filter(|a| a.user_id == caller.user.id)
            .ok_or_else(|| ApiError::not_found(format!("assignment {a} of yours")))?;
        persona_id = Some(assignment.persona_id);
        mode = assignment.mode;
    }
    if !MODES.contains(&mode.as_str()) {
        return Err(
            ApiError::invalid(format!("mode `{mode}`: use practice or exam")).with_field("mode"),
        );
    }
    let (persona, toml) = match (persona_id, body.persona_toml) {
        (_, Some(toml)) => {
            caller.require(STAFF, "try unsaved personas")?;
            let p =
                sparring_core::persona::Persona::parse(std::path::Path::new("persona.toml"), &toml)
                    .map_err(|e| super::personas::invalid(&e))?;
            (p, toml)
        }
        (Some(id), None) => {
            let toml = state.db().persona_toml(&id)?.ok_or_else(|| {
                ApiError::not_found(format!("persona `{id}`")).with_field("persona_id")
            })?;
            (
                parse_persona(&id, &toml)
                    .map_err(|e| ApiError::internal(format!("stored persona: {e}")))?,
                toml,
            )
        }
        (None, None) => return Err(ApiError::invalid("give persona_id").with_field("persona_id")),
    };
    // Stored as SQLite's signed integer: keep it below 2^63.
    let seed = body.seed.unwrap_or_else(|| {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).expect("random source");
        u64::from_le_bytes(b) >> 1
    }) & (i64::MAX as u64);
    let persona = Arc::new(persona);
    let plugins = state.plugins.active();
    let opts = options(&state, seed);
    let st = state.clone();
    let session = tokio::task::spawn_blocking(move || {
        Session::start(persona, st.backend.as_ref(), plugins, opts)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let new = NewSession {
        user_id: caller.user.id,
        persona_id: session.persona().id.clone(),
        persona_toml: toml,
        model: state.model.clone(),
        seed,
        mode,
        opening: session.opening().clone(),
        assignment_id: body.assignment_id,
    };
    let id = state.db().create_session(&new)?;
    state.keep_live(id, Arc::new(tokio::sync::Mutex::new(session)));
    let row = load_row(&state, &caller, id, false)?;
    Ok((StatusCode::CREATED, Json(view(&state, &caller, &row)?)))
}

/// The session in memory, or rebuilt from its stored turns.
async fn live_session(state: &Arc<AppState>, row: &SessionRow) -> ApiResult<LiveSession> {
    if let Some(s) = state.live(row.id) {
        return Ok(s);
    }
    let persona = Arc::new(session_persona(row)?);
    let turns = state.db().turns(row.id)?;
    let st = state.clone();
    let opts = options(state, row.seed);
    let opening = row.opening.clone();
    let id = row.id;
    let session = tokio::task::spawn_blocking(move || {
        Session::restore(
            persona,
            st.backend.as_ref(),
            st.plugins.active(),
            opts,
            opening,
            turns,
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::conflict(format!("session {id} cannot be resumed: {e}")))?;
    Ok(state.keep_live(row.id, Arc::new(tokio::sync::Mutex::new(session))))
}

#[derive(Deserialize)]
pub struct Reply {
    text: String,
}

fn sse(name: &str, data: Value) -> SseEvent {
    SseEvent::default().event(name).data(data.to_string())
}

/// The events of a reply a client may see.
fn event_json(event: &Event, hidden: bool) -> Option<SseEvent> {
    Some(match event {
        Event::Scored { plugins } => {
            if hidden {
                return None;
            }
            sse("scored", json!({ "plugins": plugins }))
        }
        Event::State { update } => {
            let mut u = serde_json::to_value(update).expect("plain data");
            if hidden {
                hide_moods(&mut u);
            }
            sse("state", json!({ "update": u }))
        }
        Event::Attempt { attempt } => sse("attempt", json!({ "attempt": attempt })),
        Event::Delta { attempt, text } => sse("delta", json!({ "attempt": attempt, "text": text })),
        Event::Rejected { attempt, .. } => sse("rejected", json!({ "attempt": attempt })),
        Event::Line { line } => sse("line", json!({ "line": line_json(line, false) })),
    })
}

pub async fn turn(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Reply>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let row = load_row(&state, &caller, id, true)?;
    if row.status != "open" {
        return Err(ApiError::conflict(format!("session {id} has ended")));
    }
    let text = body.text.trim().to_string();
    if text.is_empty() {
        return Err(ApiError::invalid("the reply is empty").with_field("text"));
    }
    let chars = text.chars().count();
    if chars > MAX_REPLY_CHARS {
        return Err(ApiError::invalid(format!(
            "the reply is {chars} characters long; the limit is {MAX_REPLY_CHARS}"
        ))
        .with_field("text"));
    }
    let live = live_session(&state, &row).await?;
    let mut guard = live
        .try_lock_owned()
        .map_err(|_| ApiError::conflict("the previous reply is still being answered"))?;
    let hidden = hides_feedback(&row, &caller);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let session = &mut *guard;
        let index = session.turns().len();
        let send = |e: SseEvent| {
            // The trainee may have gone; the turn is still stored.
            let _ = tx.send(e);
        };
        let record = match session.reply(&text, &mut |ev| {
            if let Some(e) = event_json(&ev, hidden) {
                send(e);
            }
        }) {
            Ok(r) => r.clone(),
            Err(e) => {
                send(sse("error", json!({ "error": e.to_string() })));
                return;
            }
        };
        let over = session.is_over();
        let stored = finish_turn(&st, id, index, &record, over, session);
        drop(guard);
        match stored {
            Ok(status) => send(sse(
                "done",
                json!({
                    "turn": turn_json(&record, hidden, false),
                    "status": status,
                    "outcome": record.update.outcome,
                }),
            )),
            Err(e) => {
                // Memory and store disagree now: rebuild from the store next time.
                st.forget_live(id);
                send(sse(
                    "error",
                    json!({ "error": format!("the turn was not stored: {}", e.message) }),
                ));
            }
        }
    });
    let stream = futures::StreamExt::map(
        tokio_stream::wrappers::UnboundedReceiverStream::new(rx),
        Ok::<_, Infallible>,
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Stores a turn; when it ended the session, stores the scorecard too.
fn finish_turn(
    state: &AppState,
    id: i64,
    index: usize,
    record: &TurnRecord,
    over: bool,
    session: &Session,
) -> ApiResult<&'static str> {
    let mut db = state.db();
    db.append_turn(id, index, record)?;
    if !over {
        return Ok("open");
    }
    let card = grade(session.persona(), session.turns(), &[]);
    db.end_session(
        id,
        outcome_name(&card).as_deref(),
        &serde_json::to_value(&card).expect("plain data"),
    )?;
    drop(db);
    state.forget_live(id);
    Ok("ended")
}

fn outcome_name(card: &Scorecard) -> Option<String> {
    card.outcome.map(|o| {
        serde_json::to_value(o)
            .expect("plain data")
            .as_str()
            .unwrap_or_default()
            .to_string()
    })
}

pub async fn end(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let row = load_row(&state, &caller, id, true)?;
    if row.status != "open" {
        return Err(ApiError::conflict(format!("session {id} has ended")));
    }
    // Wait for a reply being answered, so its turn counts.
    let live = state.live(id);
    let _guard = match &live {
        Some(l) => Some(l.lock().await),
        None => None,
    };
    let persona = session_persona(&row)?;
    {
        let db = state.db();
        let turns = db.turns(id)?;
        let card = grade(&persona, &turns, &[]);
        db.end_session(
            id,
            outcome_name(&card).as_deref(),
            &serde_json::to_value(&card).expect("plain data"),
        )?;
    }
    state.forget_live(id);
    let row = load_row(&state, &caller, id, false)?;
    Ok(Json(view(&state, &caller, &row)?))
}

#[derive(Deserialize)]
pub struct OverrideBody {
    turn: usize,
    dimension: String,
    value: f64,
    level: String,
    reason: String,
}

pub async fn override_score(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<OverrideBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(STAFF, "override scores")?;
    load_row(&state, &caller, id, false)?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::invalid("an override needs a reason").with_field("reason"));
    }
    let o = state.db().override_score(&NewOverride {
        session_id: id,
        turn: body.turn,
        dimension: body.dimension,
        value: body.value,
        level: body.level,
        reason: body.reason,
        by_user: caller.user.id,
    })?;
    Ok((StatusCode::CREATED, Json(json!(o))))
}
