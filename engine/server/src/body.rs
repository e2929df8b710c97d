//! Request bodies read with a size limit and parsed with errors a client can
//! act on: 413 names the size and the limit, 400 names the field.

use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

/// Largest JSON body of an ordinary API call (a persona file is ~5 KB).
pub const JSON_LIMIT: usize = 256 << 10;
/// Largest transcript upload for a batch.
pub const UPLOAD_LIMIT: usize = 8 << 20;

/// Past the limit, how much of an upload is still read (and dropped) so
/// the client, which is still sending, gets the 413 instead of a reset.
const DRAIN_LIMIT: usize = 64 << 20;

/// Reads at most `limit` bytes; a larger body is a 413 that says how large
/// it was and what the limit is.
pub async fn read_limited(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > DRAIN_LIMIT) {
        return Err(ApiError::too_large(n, limit));
    }
    let mut body: Body = req.into_body();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= limit {
            buf.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > limit {
        return Err(ApiError::too_large(
            declared.unwrap_or(seen).max(seen),
            limit,
        ));
    }
    Ok(Bytes::from(buf))
}

/// A JSON body (limit [`JSON_LIMIT`]).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_limited(req, JSON_LIMIT).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the field at fault (`persona_id: invalid type...`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let err = ApiError::bad_request(format!("request body: {path}: {}", e.inner()));
        if path == "." {
            err
        } else {
            err.with_field(path)
        }
    })
}
