//! The persona library in use: listed for everyone (without the hidden
//! facts), read, checked and edited by instructors.

use crate::auth::{Caller, STAFF};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::{parse_persona, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sparring_core::persona::{Persona, PersonaError};
use std::sync::Arc;

/// What a trainee may see of a persona: enough to pick a scenario, nothing
/// the trainee must find out.
pub fn summary(p: &Persona, updated_at: Option<&str>) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "language": p.language,
        "scenario": p.scenario,
        "difficulty": p.difficulty,
        "skills": p.skills,
        "summary": p.summary,
        "max_turns": p.max_turns,
        "moods": p.moods.iter().map(|m| &m.name).collect::<Vec<_>>(),
        "updated_at": updated_at,
    })
}

fn error_item(e: &PersonaError) -> Value {
    json!({ "line": e.line, "field": e.field, "message": e.message })
}

/// A persona that does not check: 422 with its line and field.
pub(crate) fn invalid(e: &PersonaError) -> ApiError {
    ApiError::invalid(e.to_string()).with_errors(json!([error_item(e)]))
}

pub async fn list(State(state): State<Arc<AppState>>, _caller: Caller) -> ApiResult<Json<Value>> {
    let stored = state.db().personas()?;
    let items = stored
        .iter()
        .filter_map(|s| match parse_persona(&s.id, &s.toml) {
            Ok(p) => Some(summary(&p, Some(&s.updated_at))),
            Err(e) => {
                tracing::warn!("stored persona {}: {e}", s.id);
                None
            }
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "read persona files")?;
    let toml = state
        .db()
        .persona_toml(&id)?
        .ok_or_else(|| ApiError::not_found(format!("persona `{id}`")))?;
    let summary = parse_persona(&id, &toml).ok().map(|p| summary(&p, None));
    Ok(Json(json!({ "id": id, "toml": toml, "summary": summary })))
}

#[derive(Deserialize)]
pub struct Toml {
    toml: String,
}

/// Checks a persona file as typed; always 200 so an editor can ask on
/// every keystroke.
pub async fn check(caller: Caller, JsonBody(body): JsonBody<Toml>) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "check persona files")?;
    Ok(Json(
        match Persona::parse(std::path::Path::new("persona.toml"), &body.toml) {
            Ok(p) => json!({ "ok": true, "persona": summary(&p, None) }),
            Err(e) => json!({ "ok": false, "errors": [error_item(&e)] }),
        },
    ))
}

pub async fn put(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Toml>,
) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "edit personas")?;
    let persona = parse_persona(&id, &body.toml).map_err(|e| invalid(&e))?;
    if persona.id != id {
        return Err(ApiError::invalid(format!(
            "the file's id is `{}`, not `{id}`; create a new persona to change the id",
            persona.id
        ))
        .with_field("id"));
    }
    let mut db = state.db();
    if db.persona_toml(&id)?.is_none() {
        return Err(ApiError::not_found(format!("persona `{id}`")));
    }
    db.put_persona(&id, &body.toml, Some(caller.user.id))?;
    Ok(Json(summary(&persona, None)))
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Toml>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(STAFF, "add personas")?;
    let persona = Persona::parse(std::path::Path::new("persona.toml"), &body.toml)
        .map_err(|e| invalid(&e))?;
    let mut db = state.db();
    if db.persona_toml(&persona.id)?.is_some() {
        return Err(
            ApiError::conflict(format!("persona `{}` exists", persona.id)).with_field("id"),
        );
    }
    db.put_persona(&persona.id, &body.toml, Some(caller.user.id))?;
    Ok((StatusCode::CREATED, Json(summary(&persona, None))))
}

/// Every saved version of a persona, oldest first: who changed what, when.
pub async fn versions(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "read persona files")?;
    let versions = state.db().persona_versions(&id)?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("persona `{id}`")));
    }
    Ok(Json(json!(versions)))
}
