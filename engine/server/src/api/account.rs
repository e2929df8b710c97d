//! Logging in and out, and the accounts admins make.

use crate::auth::{self, Caller, STAFF};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sparring_store::{password, Role, User};
use std::sync::Arc;

fn user_json(u: &User) -> Value {
    json!({ "id": u.id, "name": u.name, "role": u.role })
}

#[derive(Deserialize)]
pub struct Login {
    name: String,
    password: String,
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<Response> {
    if !auth::same_origin(&headers) {
        return Err(ApiError::forbidden("login from another site refused"));
    }
    if let Some(wait) = state.throttle.wait(&body.name) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many failed logins for `{}`; try again in {} minutes",
                body.name,
                wait.as_secs().div_ceil(60)
            ),
        ));
    }
    let user = state.db().user_by_name(&body.name)?;
    // Verify even for an unknown name, so timing does not tell which names exist.
    let stored = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let password = body.password;
    let ok = tokio::task::spawn_blocking(move || password::verify(&password, &stored))
        .await
        .map_err(ApiError::internal)?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            state.throttle.failed(&body.name);
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong name or password",
            ));
        }
    };
    state.throttle.succeeded(&body.name);
    issue_login(&state, &user)
}

/// A new login for `user`: the cookie, and in the body the CSRF token and
/// the bearer token (for scripts).
fn issue_login(state: &AppState, user: &User) -> ApiResult<Response> {
    let token = auth::random_token();
    let csrf = auth::random_token();
    state.db().create_login(
        user.id,
        &auth::token_hash(&token),
        &csrf,
        state.login_ttl_secs,
    )?;
    let body = json!({ "user": user_json(user), "csrf": csrf, "token": token });
    Ok((
        [(SET_COOKIE, auth::login_cookie(&token, state.login_ttl_secs))],
        Json(body),
    )
        .into_response())
}

/// A hash of a random password, verified against for unknown names.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| password::hash(&auth::random_token()).expect("a long password hashes"))
}

pub async fn logout(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Response> {
    state.db().delete_login(&caller.token_hash)?;
    Ok(([(SET_COOKIE, auth::logout_cookie())], Json(json!({}))).into_response())
}

pub async fn me(caller: Caller) -> Json<Value> {
    Json(json!({ "user": user_json(&caller.user), "csrf": caller.csrf }))
}

pub async fn users(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(STAFF, "list users")?;
    let users = state.db().users()?;
    Ok(Json(Value::Array(users.iter().map(user_json).collect())))
}

#[derive(Deserialize)]
pub struct NewUser {
    name: String,
    role: String,
    password: String,
}

pub async fn add_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(&[Role::Admin], "add users")?;
    let role = Role::parse(&body.role).ok_or_else(|| {
        ApiError::invalid(format!(
            "unknown role `{}` (trainee, instructor, evaluator, admin)",
            body.role
        ))
        .with_field("role")
    })?;
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("a name is 1-64 printable characters").with_field("name"));
    }
    let pw = body.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::invalid(e.to_string()).with_field("password"))?;
    let user = state.db().add_user(&name, &hash, role)?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

#[derive(Deserialize)]
pub struct NewPassword {
    current: String,
    new: String,
}

/// Changes the caller's own password; every login of theirs ends, so a
/// stolen cookie stops working too. The reply carries a fresh login.
pub async fn change_password(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewPassword>,
) -> ApiResult<Response> {
    let stored = caller.user.password_hash.clone();
    let (current, new) = (body.current, body.new);
    let hash = tokio::task::spawn_blocking(move || {
        if !password::verify(&current, &stored) {
            return Err(ApiError::forbidden("the current password is wrong").with_field("current"));
        }
        password::hash(&new).map_err(|e| ApiError::invalid(e.to_string()).with_field("new"))
    })
    .await
    .map_err(ApiError::internal)??;
    {
        let db = state.db();
        db.set_password(caller.user.id, &hash)?;
        db.delete_logins_of(caller.user.id)?;
    }
    issue_login(&state, &caller.user)
}
