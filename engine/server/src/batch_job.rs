//! A batch job in the background: the uploaded files parsed, every call
//! not yet scored with the current plugins scored (on the same runner as
//! `sparring score`) and stored as it finishes, then the summary. The same
//! function starts a new job and resumes one the server was stopped in.

use crate::state::AppState;
use serde_json::json;
use sparring_core::transcript::{Call, Format, TextOptions};
use sparring_scoring::batch::{pending, plugins_fingerprint, score_calls, summarise, CallResult};
use sparring_scoring::Plugin;
use sparring_store::{BatchCall, BatchError, BatchInput, StoreError};
use std::sync::{Arc, Mutex};

/// One job scores at a time; the others wait their turn (still `running`,
/// nothing scored yet), so a class chatting is never starved by two batches.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The calls of a batch's files, each with the file it is in, and what
/// could not be read. Parsing is deterministic, so a resumed job finds the
/// calls at the same places.
pub fn parse_inputs(inputs: &[BatchInput]) -> (Vec<(String, Call)>, Vec<BatchError>) {
    let options = TextOptions::default();
    let mut calls = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        let format = input
            .format
            .parse::<Format>()
            .unwrap_or_else(|_| Format::detect(&input.name, &input.content));
        let (found, errs) = format.parse(&input.name, &input.content, &options);
        calls.extend(found.into_iter().map(|c| (input.name.clone(), c)));
        errors.extend(errs.into_iter().map(|e| BatchError {
            file: input.name.clone(),
            line: e.line,
            message: e.message,
        }));
    }
    (calls, errors)
}

/// Runs (or resumes) batch `id` on its own thread.
pub fn spawn(state: Arc<AppState>, id: i64) {
    std::thread::spawn(move || {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = run(&state, id) {
            tracing::error!("batch {id}: {e}");
            let _ = state
                .db()
                .finish_batch(id, "failed", &json!({ "error": e.to_string() }));
        }
    });
}

fn run(state: &AppState, id: i64) -> Result<(), StoreError> {
    let inputs = state.db().batch_inputs(id)?;
    let (calls, _) = parse_inputs(&inputs);
    let files: Vec<String> = calls.iter().map(|(f, _)| f.clone()).collect();
    let plugins = state.plugins.active();
    let refs: Vec<&Plugin> = plugins.iter().collect();
    let stored = state.db().batch_fingerprints(id)?;
    let keyed = calls.into_iter().enumerate().map(|(idx, (_, c))| (idx, c));
    let (todo, skipped) = pending(keyed, &stored, &plugins_fingerprint(&refs));
    if skipped > 0 {
        tracing::info!("batch {id}: resuming, {skipped} call(s) already scored");
    }
    score_calls(&refs, todo, state.batch_jobs, |p, result| {
        state.db().put_batch_call(
            id,
            &BatchCall {
                idx: p.key,
                file: files[p.key].clone(),
                call_id: p.call.call_id.clone(),
                agent_id: p.call.agent_id.clone(),
                fingerprint: p.fingerprint,
                result: json!(result),
            },
        )
    })?;
    let results: Vec<CallResult> = state
        .db()
        .batch_calls(id)?
        .into_iter()
        .filter_map(|c| serde_json::from_value(c.result).ok())
        .collect();
    state
        .db()
        .finish_batch(id, "done", &json!({ "dimensions": summarise(&results) }))
}
