//! Batch scoring of uploaded transcripts (JSONL) for evaluators: the upload
//! is checked line by line, each call is scored by the enabled plugins in
//! the background and stored as soon as it is scored.

use crate::auth::Caller;
use crate::body::{read_limited, UPLOAD_LIMIT};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sparring_core::transcript::parse_jsonl;
use sparring_scoring::batch::{score_call, summarise, CallResult};
use sparring_store::Role;
use std::sync::Arc;

const BATCH_ROLES: &[Role] = &[Role::Evaluator, Role::Instructor, Role::Admin];

#[derive(Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(BATCH_ROLES, "run batch jobs")?;
    let bytes = read_limited(req, UPLOAD_LIMIT).await?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        ApiError::bad_request(format!("line {line}: the upload is not UTF-8 text"))
    })?;
    let (calls, errors) = parse_jsonl(text);
    let name = q
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "upload.jsonl".into());
    let id = {
        let mut db = state.db();
        let id = db.create_batch(caller.user.id, &name, calls.len())?;
        for e in &errors {
            db.add_batch_error(id, e.line, &e.message)?;
        }
        id
    };
    let st = state.clone();
    tokio::task::spawn_blocking(move || {
        let plugins = st.plugins.active();
        let refs: Vec<&sparring_scoring::Plugin> = plugins.iter().collect();
        let mut results: Vec<CallResult> = Vec::with_capacity(calls.len());
        for (idx, call) in calls.iter().enumerate() {
            let result = score_call(&refs, call);
            let stored = st.db().add_batch_call(
                id,
                idx,
                &call.call_id,
                call.agent_id.as_deref(),
                &json!(result),
            );
            if let Err(e) = stored {
                tracing::error!("batch {id}: call {}: {e}", call.call_id);
                let _ = st
                    .db()
                    .finish_batch(id, "failed", &json!({ "error": e.to_string() }));
                return;
            }
            results.push(result);
        }
        let summary = json!({ "dimensions": summarise(&results) });
        if let Err(e) = st.db().finish_batch(id, "done", &summary) {
            tracing::error!("batch {id}: {e}");
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({ "id": id, "status": "running", "calls": calls_len(&state, id)?, "rejected_lines": errors }),
        ),
    ))
}

fn calls_len(state: &AppState, id: i64) -> ApiResult<usize> {
    Ok(state.db().batch(id)?.map(|b| b.calls_total).unwrap_or(0))
}

pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(BATCH_ROLES, "see batch jobs")?;
    Ok(Json(json!(state.db().batches(None)?)))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(BATCH_ROLES, "see batch jobs")?;
    let db = state.db();
    let row = db
        .batch(id)?
        .ok_or_else(|| ApiError::not_found(format!("batch {id}")))?;
    let calls: Vec<Value> = db
        .batch_calls(id)?
        .into_iter()
        .map(|c| {
            let mut r = c.result;
            r["idx"] = json!(c.idx);
            r
        })
        .collect();
    let errors: Vec<Value> = db
        .batch_errors(id)?
        .into_iter()
        .map(|(line, message)| json!({ "line": line, "message": message }))
        .collect();
    let summary = db.batch_summary(id)?;
    let mut v = json!(row);
    v["calls"] = json!(calls);
    v["errors"] = json!(errors);
    v["dimensions"] = summary
        .as_ref()
        .map(|s| s["dimensions"].clone())
        .unwrap_or(json!([]));
    v["summary"] = summary.unwrap_or(Value::Null);
    Ok(Json(v))
}
