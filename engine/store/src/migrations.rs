//! Schema migrations: each step runs once, in order, in a transaction, and
//! bumps `user_version`. Append new steps; never edit an applied one.

use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

const STEPS: &[&str] = &[
    // 1: users, sessions, turns, per-turn scores, overrides.
    "
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('trainee', 'instructor', 'evaluator', 'admin')),
        created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE TABLE sessions (
        id           INTEGER PRIMARY KEY,
        user_id      INTEGER NOT NULL REFERENCES users(id),
        persona_id   TEXT NOT NULL,
        persona_toml TEXT NOT NULL,
        model        TEXT NOT NULL,
        seed         INTEGER NOT NULL,
        mode         TEXT NOT NULL CHECK (mode IN ('practice', 'exam')),
        opening      TEXT NOT NULL,
        status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ended')),
        outcome      TEXT,
        scorecard    TEXT,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        ended_at     TEXT
    );
    CREATE INDEX sessions_by_user ON sessions(user_id, id);
    CREATE TABLE turns (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        idx        INTEGER NOT NULL,
        reply      TEXT NOT NULL,
        record     TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        PRIMARY KEY (session_id, idx)
    );
    CREATE TABLE scores (
        session_id INTEGER NOT NULL,
        idx        INTEGER NOT NULL,
        plugin     TEXT NOT NULL,
        dimension  TEXT NOT NULL,
        skill_code TEXT NOT NULL,
        value      REAL NOT NULL,
        level      TEXT NOT NULL,
        FOREIGN KEY (session_id, idx) REFERENCES turns(session_id, idx)
    );
    CREATE INDEX scores_by_dimension ON scores(dimension, session_id);
    CREATE TABLE overrides (
        id             INTEGER PRIMARY KEY,
        session_id     INTEGER NOT NULL,
        idx            INTEGER NOT NULL,
        dimension      TEXT NOT NULL,
        original_value REAL NOT NULL,
        original_level TEXT NOT NULL,
        value          REAL NOT NULL,
        level          TEXT NOT NULL,
        reason         TEXT NOT NULL,
        by_user        INTEGER NOT NULL REFERENCES users(id),
        at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        FOREIGN KEY (session_id, idx) REFERENCES turns(session_id, idx)
    );
    ",
];

/// The schema version this build writes.
pub const VERSION: i64 = STEPS.len() as i64;

pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: VERSION,
        });
    }
    for (i, step) in STEPS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
