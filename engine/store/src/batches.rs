//! Batch scoring jobs: an evaluator uploads real call transcripts (JSONL)
//! and the server scores every agent turn with the plugins. Each scored call
//! is stored in its own transaction as soon as it is done, so a job killed
//! half way keeps what it scored; a job still `running` when the server
//! starts was interrupted ([`Store::interrupted_batches`]), and the server
//! decides what to do with it.

use crate::{parse, Store, StoreError, NOW};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

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
    /// Its place in the upload (0-based).
    pub idx: usize,
    pub call_id: String,
    pub agent_id: Option<String>,
    /// What the server made of it (turns, scores, means), as JSON.
    pub result: serde_json::Value,
}

impl Store {
    /// Starts a batch job (status `running`) and returns its id.
    pub fn create_batch(
        &self,
        user_id: i64,
        name: &str,
        calls_total: usize,
    ) -> Result<i64, StoreError> {
        if self.user(user_id)?.is_none() {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        self.conn.execute(
            "INSERT INTO batches (user_id, name, calls_total) VALUES (?1, ?2, ?3)",
            params![user_id, name, calls_total as i64],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Stores scored call `idx` of a running batch, in one transaction.
    /// `NotFound` for an unknown batch, `Conflict` when it has finished or
    /// already has call `idx`.
    pub fn add_batch_call(
        &mut self,
        batch_id: i64,
        idx: usize,
        call_id: &str,
        agent_id: Option<&str>,
        result: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        check_running(&tx, batch_id)?;
        let n = tx.execute(
            "INSERT OR IGNORE INTO batch_calls (batch_id, idx, call_id, agent_id, result)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![batch_id, idx as i64, call_id, agent_id, result.to_string()],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "batch {batch_id} already has call {idx}"
            )));
        }
        tx.commit()?;
        Ok(())
    }

    /// Records an input error on `line` (1-based, of the upload) of a
    /// running batch.
    pub fn add_batch_error(
        &mut self,
        batch_id: i64,
        line: usize,
        message: &str,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        check_running(&tx, batch_id)?;
        tx.execute(
            "INSERT INTO batch_errors (batch_id, line, message) VALUES (?1, ?2, ?3)",
            params![batch_id, line as i64, message],
        )?;
        tx.commit()?;
        Ok(())
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
        let rows: Vec<(i64, String, Option<String>, String)> = self
            .conn
            .prepare(
                "SELECT idx, call_id, agent_id, result FROM batch_calls
                 WHERE batch_id = ?1 ORDER BY idx",
            )?
            .query_map([batch_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(idx, call_id, agent_id, result)| {
                Ok(BatchCall {
                    result: parse(&format!("batch {batch_id} call {idx}"), &result)?,
                    idx: idx as usize,
                    call_id,
                    agent_id,
                })
            })
            .collect()
    }

    /// A batch's input errors as (line, message), by line (empty for an
    /// unknown batch).
    pub fn batch_errors(&self, batch_id: i64) -> Result<Vec<(usize, String)>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT line, message FROM batch_errors WHERE batch_id = ?1 ORDER BY line, id",
            )?
            .query_map([batch_id], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get(1)?))
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
