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
    // 2: web app: login sessions, the persona library in use with its edit
    // history, plugin settings, assignments (and the session started for
    // one), batch scoring jobs.
    "
    CREATE TABLE auth_sessions (
        token_hash TEXT PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id),
        csrf       TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        expires_at TEXT NOT NULL
    );
    CREATE INDEX auth_sessions_by_expiry ON auth_sessions(expires_at);
    CREATE TABLE personas (
        id         TEXT PRIMARY KEY,
        toml       TEXT NOT NULL,
        updated_by INTEGER REFERENCES users(id),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE TABLE persona_versions (
        id         INTEGER PRIMARY KEY,
        persona_id TEXT NOT NULL,
        toml       TEXT NOT NULL,
        updated_by INTEGER REFERENCES users(id),
        at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE INDEX persona_versions_by_persona ON persona_versions(persona_id, id);
    CREATE TABLE plugin_settings (
        plugin_id  TEXT PRIMARY KEY,
        enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        config     TEXT NOT NULL CHECK (json_type(config) = 'object'),
        updated_by INTEGER REFERENCES users(id),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE TABLE assignments (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users(id),
        persona_id  TEXT NOT NULL,
        mode        TEXT NOT NULL CHECK (mode IN ('practice', 'exam')),
        due         TEXT CHECK (due IS NULL OR date(due) = due),
        assigned_by INTEGER NOT NULL REFERENCES users(id),
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );
    CREATE INDEX assignments_by_user ON assignments(user_id, id);
    ALTER TABLE sessions ADD COLUMN assignment_id INTEGER REFERENCES assignments(id);
    CREATE INDEX sessions_by_assignment ON sessions(assignment_id);
    CREATE TABLE batches (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users(id),
        name        TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
        calls_total INTEGER NOT NULL,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        finished_at TEXT,
        summary     TEXT
    );
    CREATE INDEX batches_by_user ON batches(user_id, id);
    CREATE TABLE batch_calls (
        batch_id INTEGER NOT NULL REFERENCES batches(id),
        idx      INTEGER NOT NULL,
        call_id  TEXT NOT NULL,
        agent_id TEXT,
        result   TEXT NOT NULL,
        PRIMARY KEY (batch_id, idx)
    );
    CREATE TABLE batch_errors (
        id       INTEGER PRIMARY KEY,
        batch_id INTEGER NOT NULL REFERENCES batches(id),
        line     INTEGER NOT NULL,
        message  TEXT NOT NULL
    );
    CREATE INDEX batch_errors_by_batch ON batch_errors(batch_id, line);
    ",
    // 3: a batch keeps its uploaded files so an interrupted job can resume;
    // calls and errors name their file; a scored call keeps the fingerprint
    // of its content and the plugins that scored it.
    "
    CREATE TABLE batch_inputs (
        batch_id INTEGER NOT NULL REFERENCES batches(id),
        idx      INTEGER NOT NULL,
        name     TEXT NOT NULL,
        format   TEXT NOT NULL CHECK (format IN ('jsonl', 'csv', 'text')),
        content  TEXT NOT NULL,
        PRIMARY KEY (batch_id, idx)
    );
    ALTER TABLE batch_calls ADD COLUMN file TEXT NOT NULL DEFAULT '';
    ALTER TABLE batch_calls ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
    ALTER TABLE batch_errors ADD COLUMN file TEXT NOT NULL DEFAULT '';
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
