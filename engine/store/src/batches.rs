//! Batch scoring jobs: an evaluator uploads real call transcripts (JSONL,
//! CSV or plain text) and the server scores every agent turn with the
//! plugins. The uploaded files are kept with the job; each scored call is
//! stored in its own transaction as soon as it is done, with the
//! fingerprint of what it was scored with, so a job killed half way keeps
//! what it scored and can resume: a job still `running` when the server
//! starts was interrupted ([`Store::interrupted_batches`]).

use crate::{parse, Store, StoreError, NOW};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::HashMap;

/// One uploaded file of a batch, kept so the job can be run again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInput {
    pub name: String,
    /// `jsonl`, `csv` or `text`.
    pub format: String,
    pub content: String,
}

/// An input problem: the file, the 1-based line (0: the whole file) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// What a new batch job starts with.
pub struct NewBatch<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub inputs: &'a [BatchInput],
    /// How many calls the inputs hold.
    pub calls_total: usize,
    /// What could not be read in them.
    pub errors: &'a [BatchError],
}

/// A batch job with its progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRow {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// "running", "done" or "failed".
    pub status: String,
    /// How many calls the upload holds (`calls` in the HTTP API).
    #[serde(rename = "calls")]
    pub calls_total: usize,
    /// How many calls are scored and stored.
    pub scored: usize,
    /// How many input errors were recorded.
    pub errors: usize,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// One scored call of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchCall {
    /// Its place among the calls of all the batch's files (0-based).
    pub idx: usize,
    /// The uploaded file it is in.
    pub file: String,
    pub call_id: String,
    pub agent_id: Option<String>,
    /// Of the call's content and the plugins that scored it: a resumed job
    /// scores again only calls whose fingerprint changed.
    #[serde(skip)]
    pub fingerprint: String,
    /// What the server made of it (turns, scores, means), as JSON.
    pub result: serde_json::Value,
}

impl Store {
    /// Starts a batch job (status `running`) with its files and input
    /// errors, in one transaction, and returns its id.
    pub fn create_batch(&mut self, new: &NewBatch) -> Result<i64, StoreError> {
        if self.user(new.user_id)?.is_none() {
            return Err(StoreError::NotFound(format!("user {}", new.user_id)));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO batches (user_id, name, calls_total) VALUES (?1, ?2, ?3)",
            params![new.user_id, new.name, new.calls_total as i64],
        )?;
        let id = tx.last_insert_rowid();
        for (idx, input) in new.inputs.iter().enumerate() {
            tx.execute(
                "INSERT INTO batch_inputs (batch_id, idx, name, format, content)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, idx as i64, input.name, input.format, input.content],
            )?;
        }
        for e in new.errors {
            tx.execute(
                "INSERT INTO batch_errors (batch_id, file, line, message) VALUES (?1, ?2, ?3, ?4)",
                params![id, e.file, e.line as i64, e.message],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Stores scored call `call.idx` of a running batch in one
    /// transaction, replacing what was stored for it before (a call scored
    /// again after its plugins changed). `NotFound` for an unknown batch,
    /// `Conflict` when it has finished.
    pub fn put_batch_call(&mut self, batch_id: i64, call: &BatchCall) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        check_running(&tx, batch_id)?;
        tx.execute(
            "INSERT INTO batch_calls (batch_id, idx, file, call_id, agent_id, fingerprint, result)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (batch_id, idx) DO UPDATE SET file = excluded.file,
                 call_id = excluded.call_id, agent_id = excluded.agent_id,
                 fingerprint = excluded.fingerprint, result = excluded.result",
            params![
                batch_id,
                call.idx as i64,
                call.file,
                call.call_id,
                call.agent_id,
                call.fingerprint,
                call.result.to_string()
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The files a batch was given, in upload order (empty for an unknown
    /// batch, and for batches from before files were kept).
    pub fn batch_inputs(&self, batch_id: i64) -> Result<Vec<BatchInput>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT name, format, content FROM batch_inputs WHERE batch_id = ?1 ORDER BY idx",
            )?
            .query_map([batch_id], |r| {
                Ok(BatchInput {
                    name: r.get(0)?,
                    format: r.get(1)?,
                    content: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// The fingerprint of every scored call of a batch, by `idx`.
    pub fn batch_fingerprints(&self, batch_id: i64) -> Result<HashMap<usize, String>, StoreError> {
        Ok(self
            .conn
            .prepare("SELECT idx, fingerprint FROM batch_calls WHERE batch_id = ?1")?
            .query_map([batch_id], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?)
    }

    /// Ends a running batch as `done` or `failed`, with its summary (the
    /// per-dimension statistics). `Conflict` for another status or a batch
    /// already finished, `NotFound` for an unknown one.
    pub fn finish_batch(
        &self,
        batch_id: i64,
        status: &str,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        if !["done", "failed"].contains(&status) {
            return Err(StoreError::Conflict(format!(
                "a batch finishes done or failed (got {status})"
            )));
        }
        let n = self.conn.execute(
            &format!(
                "UPDATE batches SET status = ?2, summary = ?3, finished_at = {NOW}
                 WHERE id = ?1 AND status = 'running'"
            ),
            params![batch_id, status, summary.to_string()],
        )?;
        if n == 0 {
            check_running(&self.conn, batch_id)?;
        }
        Ok(())
    }

    /// One user's batches, or everyone's (`None`), newest first.
    pub fn batches(&self, user: Option<i64>) -> Result<Vec<BatchRow>, StoreError> {
        match user {
            Some(u) => self.batches_where("b.user_id = ?1", [u]),
            None => self.batches_where("1", []),
        }
    }

    pub fn batch(&self, id: i64) -> Result<Option<BatchRow>, StoreError> {
        Ok(self.batches_where("b.id = ?1", [id])?.into_iter().next())
    }

    /// The ids of batches still `running`, oldest first: at start, those
    /// are jobs a previous process did not finish.
    pub fn interrupted_batches(&self) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .conn
            .prepare("SELECT id FROM batches WHERE status = 'running' ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// A batch's scored calls in upload order (empty for an unknown batch).
    pub fn batch_calls(&self, batch_id: i64) -> Result<Vec<BatchCall>, StoreError> {
        type Row = (i64, String, String, Option<String>, String, String);
        let rows: Vec<Row> = self
            .conn
            .prepare(
                "SELECT idx, file, call_id, agent_id, fingerprint, result FROM batch_calls
                 WHERE batch_id = ?1 ORDER BY idx",
            )?
            .query_map([batch_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(idx, file, call_id, agent_id, fingerprint, result)| {
                Ok(BatchCall {
                    result: parse(&format!("batch {batch_id} call {idx}"), &result)?,
                    idx: idx as usize,
                    file,
                    call_id,
                    agent_id,
                    fingerprint,
                })
            })
            .collect()
    }

    /// A batch's input errors in upload order (by file, then line; empty
    /// for an unknown batch).
    pub fn batch_errors(&self, batch_id: i64) -> Result<Vec<BatchError>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT file, line, message FROM batch_errors WHERE batch_id = ?1 ORDER BY id",
            )?
            .query_map([batch_id], |r| {
                Ok(BatchError {
                    file: r.get(0)?,
                    line: r.get::<_, i64>(1)? as usize,
                    message: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// A finished batch's summary; `None` while running or for an unknown
    /// batch.
    pub fn batch_summary(&self, batch_id: i64) -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT summary FROM batches WHERE id = ?1",
                [batch_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        text.map(|t| parse(&format!("batch {batch_id} summary"), &t))
            .transpose()
    }

    fn batches_where<P: rusqlite::Params>(
        &self,
        clause: &str,
        p: P,
    ) -> Result<Vec<BatchRow>, StoreError> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT b.id, b.user_id, b.name, b.status, b.calls_total,
                        (SELECT COUNT(*) FROM batch_calls c WHERE c.batch_id = b.id),
                        (SELECT COUNT(*) FROM batch_errors e WHERE e.batch_id = b.id),
                        b.created_at, b.finished_at
                 FROM batches b WHERE {clause} ORDER BY b.id DESC"
            ))?
            .query_map(p, |r| {
                Ok(BatchRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    name: r.get(2)?,
                    status: r.get(3)?,
                    calls_total: r.get::<_, i64>(4)? as usize,
                    scored: r.get::<_, i64>(5)? as usize,
                    errors: r.get::<_, i64>(6)? as usize,
                    created_at: r.get(7)?,
                    finished_at: r.get(8)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }
}

/// `NotFound` for an unknown batch, `Conflict` for a finished one.
fn check_running(conn: &rusqlite::Connection, batch_id: i64) -> Result<(), StoreError> {
    let status: Option<String> = conn
        .query_row(
            "SELECT status FROM batches WHERE id = ?1",
            [batch_id],
            |r| r.get(0),
        )
        .optional()?;
    match status.as_deref() {
        None => Err(StoreError::NotFound(format!("batch {batch_id}"))),
        Some("running") => Ok(()),
        Some(s) => Err(StoreError::Conflict(format!("batch {batch_id} is {s}"))),
    }
}
