//! Scenarios instructors assign to trainees, with due dates.

use crate::auth::{Caller, STAFF};
use crate::body::JsonBody;
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sparring_store::NewAssignment;
use std::sync::Arc;

pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    let user = (!caller.is_staff()).then_some(caller.user.id);
    let items = state.db().assignments(user)?;
    let items: Vec<Value> = items
        .iter()
        .map(|a| {
            let mut v = json!(a);
            v["persona_name"] = state
                .persona(&a.persona_id)
                .map(|p| json!(p.name))
                .unwrap_or(Value::Null);
            v
        })
        .collect();
    Ok(Json(json!(items)))
}

#[derive(Deserialize)]
pub struct NewBody {
    user_id: i64,
    persona_id: String,
    mode: Option<String>,
    due: Option<String>,
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(STAFF, "assign scenarios")?;
    state
        .persona(&body.persona_id)
        .map_err(|e| e.with_field("persona_id"))?;
    let a = state.db().add_assignment(&NewAssignment {
        user_id: body.user_id,
        persona_id: body.persona_id,
        mode: body.mode.unwrap_or_else(|| "practice".into()),
        due: body.due.filter(|d| !d.is_empty()),
        assigned_by: caller.user.id,
    })?;
    Ok((StatusCode::CREATED, Json(json!(a))))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "remove assignments")?;
    state.db().delete_assignment(id)?;
    Ok(Json(json!({})))
}
