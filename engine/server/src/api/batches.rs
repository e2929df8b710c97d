//! Batch scoring of uploaded transcripts for evaluators: one file in the
//! body, or many as multipart/form-data, in JSONL, CSV or plain text. The
//! files are checked line by line and kept with the job; each call is
//! scored in the background ([`crate::batch_job`]) and stored as soon as it
//! is scored. Results download as the same CSV/JSONL and HTML report that
//! `sparring score` writes.

use crate::auth::Caller;
use crate::batch_job;
use crate::body::{read_limited, UPLOAD_LIMIT};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{
    CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sparring_core::transcript::Format;
use sparring_report::tables;
use sparring_scoring::batch::CallResult;
use sparring_store::{BatchError, BatchInput, NewBatch, Role};
use std::sync::Arc;

const BATCH_ROLES: &[Role] = &[Role::Evaluator, Role::Instructor, Role::Admin];
/// Files one upload may hold.
const MAX_FILES: usize = 2000;
/// Longest file name kept, in characters.
const MAX_NAME_CHARS: usize = 200;

#[derive(Deserialize)]
pub struct UploadQuery {
    /// The file's name (a single-file upload); its extension gives the format.
    name: Option<String>,
    /// `jsonl`, `csv` or `text`, when the name does not tell.
    format: Option<String>,
}

/// A file name as kept: trimmed, at most [`MAX_NAME_CHARS`].
fn clean_name(name: &str) -> String {
    name.trim().chars().take(MAX_NAME_CHARS).collect()
}

/// The uploaded files: (name, bytes).
async fn files_of(req: Request, q: &UploadQuery) -> ApiResult<Vec<(String, Bytes)>> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = read_limited(req, UPLOAD_LIMIT).await?;
    if !content_type.starts_with("multipart/form-data") {
        let name = q
            .name
            .as_deref()
            .map(clean_name)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "upload.jsonl".into());
        return Ok(vec![(name, bytes)]);
    }
    let boundary = multer::parse_boundary(&content_type)
        .map_err(|e| ApiError::bad_request(format!("multipart upload: {e}")))?;
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut files = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("multipart upload: {e}")))?
    {
        // Form fields without a file name (a submit button, say) are not files.
        let Some(name) = field.file_name().map(clean_name) else {
            continue;
        };
        let name = if name.is_empty() {
            format!("file-{}", files.len() + 1)
        } else {
            name
        };
        let data = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_request(format!("multipart upload: {name}: {e}")))?;
        files.push((name, data));
        if files.len() > MAX_FILES {
            return Err(ApiError::bad_request(format!(
                "at most {MAX_FILES} files per batch"
            )));
        }
    }
    if files.is_empty() {
        return Err(ApiError::bad_request(
            "multipart upload: no files (send them as parts with a filename)",
        ));
    }
    Ok(files)
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(BATCH_ROLES, "run batch jobs")?;
    let forced = q
        .format
        .as_deref()
        .map(|f| f.parse::<Format>())
        .transpose()
        .map_err(|e| ApiError::bad_request(e).with_field("format"))?;
    let files = files_of(req, &q).await?;
    let uploaded: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let mut inputs = Vec::with_capacity(files.len());
    // A file that is not text is reported and skipped, like a bad line.
    let mut unreadable = Vec::new();
    for (name, bytes) in files {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => {
                let format = forced.unwrap_or_else(|| Format::detect(&name, &text));
                inputs.push(BatchInput {
                    name,
                    format: format.as_str().into(),
                    content: text,
                });
            }
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let line = bytes[..valid].iter().filter(|b| **b == b'\n').count() + 1;
                unreadable.push(BatchError {
                    file: name,
                    line,
                    message: "not UTF-8 text".into(),
                });
            }
        }
    }
    if inputs.is_empty() {
        let what: Vec<String> = unreadable
            .iter()
            .map(|e| format!("{}: line {}: {}", e.file, e.line, e.message))
            .collect();
        return Err(ApiError::bad_request(format!(
            "nothing to score: {}",
            what.join("; ")
        )));
    }
    let (calls, mut errors) = batch_job::parse_inputs(&inputs);
    errors.extend(unreadable);
    let name = match uploaded.len() {
        1 => uploaded[0].clone(),
        n => format!("{} (+{} files)", uploaded[0], n - 1),
    };
    let id = state.db().create_batch(&NewBatch {
        user_id: caller.user.id,
        name: &name,
        inputs: &inputs,
        calls_total: calls.len(),
        errors: &errors,
    })?;
    batch_job::spawn(state.clone(), id);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "id": id,
            "status": "running",
            "calls": calls.len(),
            "files": inputs.iter().map(|i| json!({ "name": i.name, "format": i.format })).collect::<Vec<_>>(),
            "rejected_lines": errors,
        })),
    ))
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
            r["file"] = json!(c.file);
            r
        })
        .collect();
    let errors = db.batch_errors(id)?;
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

/// The files a batch's results download as.
const DOWNLOADS: &[(&str, &str)] = &[
    ("report.html", "text/html; charset=utf-8"),
    ("calls.csv", "text/csv; charset=utf-8"),
    ("turns.csv", "text/csv; charset=utf-8"),
    ("turns.jsonl", "application/x-ndjson"),
];

/// One of [`DOWNLOADS`], built from the calls scored so far.
pub async fn download(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, file)): Path<(i64, String)>,
) -> ApiResult<Response> {
    caller.require(BATCH_ROLES, "see batch jobs")?;
    let Some(&(_, content_type)) = DOWNLOADS.iter().find(|(f, _)| *f == file) else {
        let known: Vec<&str> = DOWNLOADS.iter().map(|(f, _)| *f).collect();
        return Err(ApiError::not_found(format!(
            "batch download {file:?} (there are {})",
            known.join(", ")
        )));
    };
    let (row, calls, errors) = {
        let db = state.db();
        let row = db
            .batch(id)?
            .ok_or_else(|| ApiError::not_found(format!("batch {id}")))?;
        (row, db.batch_calls(id)?, db.batch_errors(id)?)
    };
    let scored: Vec<(String, CallResult)> = calls
        .into_iter()
        .filter_map(|c| Some((c.file, serde_json::from_value(c.result).ok()?)))
        .collect();
    let rows: Vec<tables::Row> = scored.iter().map(|(f, r)| (f.as_str(), r)).collect();
    let mut out = Vec::new();
    let written = match file.as_str() {
        "calls.csv" => tables::calls_csv(&mut out, &rows),
        "turns.csv" => tables::turns_csv(&mut out, &rows),
        "turns.jsonl" => tables::turns_jsonl(&mut out, &rows),
        _ => {
            let results: Vec<CallResult> = scored.iter().map(|(_, r)| r.clone()).collect();
            let errors: Vec<(String, usize, String)> = errors
                .into_iter()
                .map(|e| (e.file, e.line, e.message))
                .collect();
            let plugins = state
                .plugins
                .active()
                .iter()
                .map(|p| (p.id.clone(), p.version.clone()))
                .collect();
            out = sparring_report::html(&sparring_report::ReportInput {
                title: format!("sparring QA report: {}", row.name),
                results: &results,
                errors: &errors,
                plugins,
                generated_at: row.finished_at.clone().unwrap_or_default(),
            })
            .into_bytes();
            Ok(())
        }
    };
    written.map_err(ApiError::internal)?;
    let disposition = format!("attachment; filename=\"batch-{id}-{file}\"");
    Ok((
        [
            (CONTENT_TYPE, content_type.to_string()),
            (CONTENT_DISPOSITION, disposition),
            (X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            // Opened in place, the report may style itself and nothing else.
            (
                CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:".into(),
            ),
        ],
        out,
    )
        .into_response())
}
