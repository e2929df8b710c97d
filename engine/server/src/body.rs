//! Request bodies read with a size limit and parsed with errors a client can
//! act on: 413 names the size and the limit, 400 names the field.

use crate::error::ApiError;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_LENGTH;
use serde::de::DeserializeOwned;

/// Largest JSON body of an ordinary API call (a persona file is ~5 KB).
pub const JSON_LIMIT: usize = 256 << 10;
/// Largest transcript upload for a batch.
pub const UPLOAD_LIMIT: usize = 8 << 20;

/// Reads at most `limit` bytes; a declared or actual larger body is a 413
/// that says how large it was (when the client said) and what the limit is.
pub async fn read_limited(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared {
        if n > limit {
            return Err(ApiError::too_large(n, limit));
        }
    }
    let body: Body = req.into_body();
    to_bytes(body, limit).await.map_err(|e| {
        let over = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
        if over {
            ApiError::too_large(limit + 1, limit)
        } else {
            ApiError::bad_request(format!("reading the body: {e}"))
        }
    })
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
