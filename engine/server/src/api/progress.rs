//! How trainees grow over time (the standard's growth-curve skill, 1.2.5)
//! and how a class stands per dimension.

use crate::auth::{Caller, STAFF};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Deserialize)]
pub struct ProgressQuery {
    user_id: Option<i64>,
}

pub async fn progress(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ProgressQuery>,
) -> ApiResult<Json<Value>> {
    let user = q.user_id.unwrap_or(caller.user.id);
    if user != caller.user.id && !caller.can_review() {
        return Err(ApiError::forbidden("trainees see only their own progress"));
    }
    let points = state.db().progress(user)?;
    Ok(Json(json!({ "user_id": user, "points": points })))
}

pub async fn overview(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "see the class overview")?;
    let rows = state.db().overview()?;
    let dimensions: BTreeSet<&String> = rows.iter().flat_map(|r| r.dimensions.keys()).collect();
    Ok(Json(json!({ "dimensions": dimensions, "trainees": rows })))
}
