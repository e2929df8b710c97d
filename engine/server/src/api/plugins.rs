//! Scorer plugins: everyone sees what scores them; instructors switch
//! plugins on and off and edit their configuration.

use crate::auth::{Caller, STAFF};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::plugins::Setting;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub async fn list(State(state): State<Arc<AppState>>, _caller: Caller) -> Json<Value> {
    Json(json!(state.plugins.list()))
}

#[derive(Deserialize)]
pub struct Update {
    enabled: Option<bool>,
    config: Option<Value>,
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Update>,
) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "change plugins")?;
    let current = state
        .plugins
        .item(&id)
        .ok_or_else(|| ApiError::not_found(format!("plugin `{id}`")))?;
    let config = body.config.unwrap_or(current.config);
    if !config.is_object() {
        return Err(ApiError::invalid("config must be a JSON object").with_field("config"));
    }
    let enabled = body.enabled.unwrap_or(current.enabled);
    let st = state.clone();
    let (pid, cfg) = (id.clone(), config.clone());
    // Loading compiles or reads the component and asks it to accept the config.
    let item = tokio::task::spawn_blocking(move || {
        st.plugins.update(
            &pid,
            Setting {
                enabled,
                config: cfg,
            },
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        Some(why) => ApiError::invalid(format!("plugin `{id}` refused the configuration: {why}"))
            .with_field("config"),
        None => ApiError::not_found(format!("plugin `{id}`")),
    })?;
    state
        .db()
        .set_plugin_setting(&id, enabled, &config, caller.user.id)?;
    Ok(Json(json!(item)))
}
