//! Many calls on many threads, skipping what is already scored: the one
//! path that `sparring score` and the web app's batch jobs both take. What
//! is "already scored" is decided by fingerprints; where results are kept
//! (a journal file, database rows) is the caller's business.

use super::{score_call, CallResult};
use crate::plugin::Plugin;
use sha2::{Digest, Sha256};
use sparring_core::transcript::Call;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::mpsc;
use std::sync::Mutex;

/// What every result depends on besides the call: the plugins' ids,
/// versions and configs, and whether they have embeddings (with them the
/// scores differ). Order of `plugins` does not matter.
pub fn plugins_fingerprint(plugins: &[&Plugin]) -> String {
    let mut ids: Vec<String> = plugins
        .iter()
        .map(|p| format!("{}@{}:{}", p.id, p.version, p.config()))
        .collect();
    ids.sort();
    let embeddings = plugins
        .first()
        .is_some_and(|p| p.services_handle().has_embeddings());
    ids.push(format!("embeddings={embeddings}"));
    ids.join("\n")
}

/// sha256 (hex) of the call's content and [`plugins_fingerprint`]: equal
/// fingerprints, equal results.
pub fn call_fingerprint(call: &Call, plugins: &str) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(call).expect("plain data"));
    h.update(plugins.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A call to score, under the key its results are kept by.
#[derive(Debug, Clone)]
pub struct Pending<K> {
    pub key: K,
    pub call: Call,
    pub fingerprint: String,
}

/// The calls whose key has no result with their fingerprint in `done`, and
/// how many were skipped because they had one.
pub fn pending<K: Eq + Hash>(
    calls: impl IntoIterator<Item = (K, Call)>,
    done: &HashMap<K, String>,
    plugins: &str,
) -> (Vec<Pending<K>>, usize) {
    let mut skipped = 0;
    let todo = calls
        .into_iter()
        .filter_map(|(key, call)| {
            let fingerprint = call_fingerprint(&call, plugins);
            if done.get(&key) == Some(&fingerprint) {
                skipped += 1;
                return None;
            }
            Some(Pending {
                key,
                call,
                fingerprint,
            })
        })
        .collect();
    (todo, skipped)
}

/// Scores `todo` on `threads` threads (at least one). `done` runs on the
/// calling thread with each result as soon as it is scored (in the order
/// they finish), so the caller can store it before the next arrives; an
/// error from it stops the batch (calls being scored are finished and
/// dropped) and is returned.
pub fn score_calls<K: Send, E>(
    plugins: &[&Plugin],
    todo: Vec<Pending<K>>,
    threads: usize,
    mut done: impl FnMut(Pending<K>, CallResult) -> Result<(), E>,
) -> Result<(), E> {
    let queue = Mutex::new(todo.into_iter());
    let (tx, rx) = mpsc::sync_channel::<(Pending<K>, CallResult)>(threads.max(1) * 2);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let (queue, tx) = (&queue, tx.clone());
            scope.spawn(move || loop {
                let next = queue.lock().expect("queue").next();
                let Some(p) = next else { break };
                let result = score_call(plugins, &p.call);
                if tx.send((p, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut outcome = Ok(());
        while let Ok((p, result)) = rx.recv() {
            if let Err(e) = done(p, result) {
                // Empty the queue so the threads stop after their current call.
                queue.lock().expect("queue").by_ref().for_each(drop);
                outcome = Err(e);
                break;
            }
        }
        // A thread blocked on a full channel wakes up with an error and stops.
        drop(rx);
        outcome
    })
}
