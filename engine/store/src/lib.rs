//! Durable storage for the web app: users and their logins, role-play
//! sessions, their turns and score overrides, the persona library in use,
//! plugin settings, assignments, progress and overview statistics, and batch
//! scoring jobs, in one SQLite file.
//!
//! Every turn is written in its own transaction as soon as it happens, with
//! the write-ahead log and full sync, so a crash or kill mid-session loses no
//! stored turn; a session is rebuilt from its rows (see
//! `sparring_session::Session::restore`). The schema is versioned with
//! SQLite's `user_version` and migrated forward on open.

mod assignments;
mod auth;
mod batches;
mod migrations;
pub mod password;
mod personas;
mod plugins;
mod stats;

pub use assignments::{Assignment, NewAssignment};
pub use batches::{BatchCall, BatchError, BatchInput, BatchRow, NewBatch};
pub use personas::{PersonaVersion, StoredPersona};
pub use plugins::PluginSetting;
pub use stats::{OverviewRow, ProgressPoint};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sparring_session::{CustomerLine, TurnRecord};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: schema version {found} is newer than this sparring knows ({known}); upgrade sparring")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("stored {what} could not be read: {source}")]
    Corrupt {
        what: String,
        source: serde_json::Error,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("no {0}")]
    NotFound(String),
}

/// Who may do what (checked by the server; stored here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Trainee,
    Instructor,
    Evaluator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Trainee => "trainee",
            Role::Instructor => "instructor",
            Role::Evaluator => "evaluator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "trainee" => Role::Trainee,
            "instructor" => Role::Instructor,
            "evaluator" => Role::Evaluator,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// A password hash (PHC string); never sent to clients.
    #[serde(skip)]
    pub password_hash: String,
}

/// What a new session needs to be stored (and restored later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    pub user_id: i64,
    pub persona_id: String,
    /// The persona file as it was when the session started, so later edits
    /// do not change a stored session's rules.
    pub persona_toml: String,
    pub model: String,
    pub seed: u64,
    /// "practice" (feedback live) or "exam" (feedback at the end).
    pub mode: String,
    pub opening: CustomerLine,
    /// The assignment this session was started for, if any: it must be the
    /// same user's, for the same persona and mode.
    #[serde(default)]
    pub assignment_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    /// The owner's name (staff see everyone's sessions).
    pub user_name: String,
    pub persona_id: String,
    #[serde(skip)]
    pub persona_toml: String,
    pub model: String,
    pub seed: u64,
    pub mode: String,
    pub opening: CustomerLine,
    /// "open" or "ended".
    pub status: String,
    pub outcome: Option<String>,
    /// The scorecard JSON, once ended.
    pub scorecard: Option<serde_json::Value>,
    pub turns: usize,
    pub created_at: String,
    pub ended_at: Option<String>,
    pub assignment_id: Option<i64>,
}

/// A correction an instructor makes to one AI score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOverride {
    pub session_id: i64,
    /// The turn (0-based).
    pub turn: usize,
    pub dimension: String,
    pub value: f64,
    pub level: String,
    /// Required: why the AI was wrong.
    pub reason: String,
    pub by_user: i64,
}

/// A human correction of an AI score, kept next to the original.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Override {
    pub id: i64,
    pub session_id: i64,
    pub turn: usize,
    pub dimension: String,
    pub original_value: f64,
    pub original_level: String,
    pub value: f64,
    pub level: String,
    pub reason: String,
    pub by_user: i64,
    pub at: String,
}

/// The timestamp format of every `*_at` column (UTC, milliseconds): text
/// that sorts in time order.
pub(crate) const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

/// One SQLite database. Not shared between threads: open one per thread or
/// guard it with a mutex (SQLite serialises writers anyway).
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

fn parse<T: for<'de> Deserialize<'de>>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|source| StoreError::Corrupt {
        what: what.to_string(),
        source,
    })
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let wrap = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(wrap)?;
        // WAL: readers do not block the writer; FULL: a committed turn is on
        // disk before the call returns.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(wrap)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        migrations::migrate(&mut store.conn, path)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version after migration.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    pub fn add_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<User, StoreError> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("user `{name}` exists")));
        }
        self.conn.execute(
            "INSERT INTO users (name, password_hash, role) VALUES (?1, ?2, ?3)",
            params![name, password_hash, role.as_str()],
        )?;
        Ok(User {
            id: self.conn.last_insert_rowid(),
            name: name.to_string(),
            role,
            password_hash: password_hash.to_string(),
        })
    }

    pub fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.user_where("name = ?1", name)
    }

    pub fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.user_where("id = ?1", id)
    }

    fn user_where(
        &self,
        clause: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<Option<User>, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT id, name, password_hash, role FROM users WHERE {clause}"),
                [value],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, name, password_hash, role)| {
            Ok(User {
                id,
                name,
                role: Role::parse(&role).ok_or_else(|| {
                    StoreError::Conflict(format!("user {id}: unknown role {role}"))
                })?,
                password_hash,
            })
        })
        .transpose()
    }

    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.users_in("SELECT id FROM users ORDER BY id", [])
    }

    /// The users with one role, by id.
    pub fn users_with_role(&self, role: Role) -> Result<Vec<User>, StoreError> {
        self.users_in(
            "SELECT id FROM users WHERE role = ?1 ORDER BY id",
            [role.as_str()],
        )
    }

    fn users_in<P: rusqlite::Params>(&self, sql: &str, p: P) -> Result<Vec<User>, StoreError> {
        let ids: Vec<i64> = self
            .conn
            .prepare(sql)?
            .query_map(p, |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter()
            .filter_map(|id| self.user(id).transpose())
            .collect()
    }

    /// Stores a new session (with its opening line) and returns its id.
    /// A session for an assignment must match it (user, persona, mode):
    /// `NotFound` for an unknown assignment, `Conflict` for a mismatch.
    pub fn create_session(&self, s: &NewSession) -> Result<i64, StoreError> {
        if let Some(aid) = s.assignment_id {
            let a = self
                .assignment(aid)?
                .ok_or_else(|| StoreError::NotFound(format!("assignment {aid}")))?;
            if a.user_id != s.user_id || a.persona_id != s.persona_id || a.mode != s.mode {
                return Err(StoreError::Conflict(format!(
                    "assignment {aid} is for user {}, persona {} in {} mode",
                    a.user_id, a.persona_id, a.mode
                )));
            }
        }
        self.conn.execute(
            "INSERT INTO sessions (user_id, persona_id, persona_toml, model, seed, mode, opening,
                                   assignment_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                s.user_id,
                s.persona_id,
                s.persona_toml,
                s.model,
                s.seed as i64,
                s.mode,
                json(&s.opening),
                s.assignment_id
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Appends turn `index` (0-based) of a session, with its scores, in one
    /// transaction. A turn out of order or on an ended session is refused.
    pub fn append_turn(
        &mut self,
        session_id: i64,
        index: usize,
        turn: &TurnRecord,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let (status, count): (String, i64) = tx
            .query_row(
                "SELECT status, (SELECT COUNT(*) FROM turns WHERE session_id = ?1)
                 FROM sessions WHERE id = ?1",
                [session_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("session {session_id}")))?;
        if status != "open" {
            return Err(StoreError::Conflict(format!(
                "session {session_id} has ended"
            )));
        }
        if count as usize != index {
            return Err(StoreError::Conflict(format!(
                "session {session_id} has {count} turns; turn {index} is out of order"
            )));
        }
        tx.execute(
            "INSERT INTO turns (session_id, idx, reply, record) VALUES (?1, ?2, ?3, ?4)",
            params![session_id, index as i64, turn.reply, json(turn)],
        )?;
        for p in &turn.plugins {
            for s in &p.scores {
                tx.execute(
                    "INSERT INTO scores (session_id, idx, plugin, dimension, skill_code, value, level)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        session_id,
                        index as i64,
                        p.plugin,
                        s.dimension,
                        s.skill_code,
                        s.value as f64,
                        s.level
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The stored turns of a session, in order.
    pub fn turns(&self, session_id: i64) -> Result<Vec<TurnRecord>, StoreError> {
        let rows: Vec<(i64, String)> = self
            .conn
            .prepare("SELECT idx, record FROM turns WHERE session_id = ?1 ORDER BY idx")?
            .query_map([session_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.iter()
            .map(|(i, text)| parse(&format!("session {session_id} turn {i}"), text))
            .collect()
    }

    /// Marks a session ended with its outcome and scorecard.
    pub fn end_session(
        &self,
        session_id: i64,
        outcome: Option<&str>,
        scorecard: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE sessions SET status = 'ended', outcome = ?2, scorecard = ?3,
             ended_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
             WHERE id = ?1 AND status = 'open'",
            params![session_id, outcome, scorecard.to_string()],
        )?;
        if n == 0 {
            return match self.session(session_id)? {
                None => Err(StoreError::NotFound(format!("session {session_id}"))),
                Some(_) => Err(StoreError::Conflict(format!(
                    "session {session_id} has ended"
                ))),
            };
        }
        Ok(())
    }

    pub fn session(&self, session_id: i64) -> Result<Option<SessionRow>, StoreError> {
        Ok(self
            .sessions_where("s.id = ?1", [session_id])?
            .into_iter()
            .next())
    }

    /// A user's sessions, newest first.
    pub fn sessions_of(&self, user_id: i64) -> Result<Vec<SessionRow>, StoreError> {
        self.sessions_where("s.user_id = ?1", [user_id])
    }

    /// Everyone's sessions, newest first (for staff).
    pub fn all_sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        self.sessions_where("1", [])
    }

    fn sessions_where<P: rusqlite::Params>(
        &self,
        clause: &str,
        p: P,
    ) -> Result<Vec<SessionRow>, StoreError> {
        // The closure's inner result carries a corrupt JSON column out as
        // such rather than as an SQL error.
        let rows: Vec<Result<SessionRow, StoreError>> = self
            .conn
            .prepare(&format!(
                "SELECT s.id, s.user_id, u.name, s.persona_id, s.persona_toml, s.model, s.seed,
                        s.mode, s.opening, s.status, s.outcome, s.scorecard,
                        (SELECT COUNT(*) FROM turns t WHERE t.session_id = s.id),
                        s.created_at, s.ended_at, s.assignment_id
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE {clause} ORDER BY s.id DESC"
            ))?
            .query_map(p, |r| {
                let id: i64 = r.get(0)?;
                let opening: String = r.get(8)?;
                let scorecard: Option<String> = r.get(11)?;
                let row = SessionRow {
                    id,
                    user_id: r.get(1)?,
                    user_name: r.get(2)?,
                    persona_id: r.get(3)?,
                    persona_toml: r.get(4)?,
                    model: r.get(5)?,
                    seed: r.get::<_, i64>(6)? as u64,
                    mode: r.get(7)?,
                    opening: match parse(&format!("session {id} opening"), &opening) {
                        Ok(line) => line,
                        Err(e) => return Ok(Err(e)),
                    },
                    status: r.get(9)?,
                    outcome: r.get(10)?,
                    scorecard: match scorecard
                        .map(|t| parse(&format!("session {id} scorecard"), &t))
                        .transpose()
                    {
                        Ok(card) => card,
                        Err(e) => return Ok(Err(e)),
                    },
                    turns: r.get::<_, i64>(12)? as usize,
                    created_at: r.get(13)?,
                    ended_at: r.get(14)?,
                    assignment_id: r.get(15)?,
                };
                Ok(Ok(row))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter().collect()
    }

    /// Overrides the AI's `dimension` score of a turn; the original stays
    /// in the stored turn and in the override row (the audit trail).
    pub fn override_score(&self, o: &NewOverride) -> Result<Override, StoreError> {
        let NewOverride {
            session_id,
            turn,
            ref dimension,
            value,
            ref level,
            ref reason,
            by_user,
        } = *o;
        let (dimension, level, reason) = (dimension.as_str(), level.as_str(), reason.as_str());
        if reason.trim().is_empty() {
            return Err(StoreError::Conflict("an override needs a reason".into()));
        }
        if !(0.0..=100.0).contains(&value) || !["0", "1", "2"].contains(&level) {
            return Err(StoreError::Conflict(format!(
                "value must be 0-100 and level 0, 1 or 2 (got {value}, {level})"
            )));
        }
        let (original_value, original_level): (f64, String) = self
            .conn
            .query_row(
                "SELECT value, level FROM scores WHERE session_id = ?1 AND idx = ?2 AND dimension = ?3",
                params![session_id, turn as i64, dimension],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{dimension} score on turn {turn} of session {session_id}"
                ))
            })?;
        self.conn.execute(
            "INSERT INTO overrides (session_id, idx, dimension, original_value, original_level,
                                    value, level, reason, by_user)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                session_id,
                turn as i64,
                dimension,
                original_value,
                original_level,
                value,
                level,
                reason,
                by_user
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        Ok(self
            .overrides(session_id)?
            .into_iter()
            .find(|o| o.id == id)
            .expect("just inserted"))
    }

    /// Every override of a session, oldest first.
    pub fn overrides(&self, session_id: i64) -> Result<Vec<Override>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT id, session_id, idx, dimension, original_value, original_level, value,
                        level, reason, by_user, at
                 FROM overrides WHERE session_id = ?1 ORDER BY id",
            )?
            .query_map([session_id], |r| {
                Ok(Override {
                    id: r.get(0)?,
                    session_id: r.get(1)?,
                    turn: r.get::<_, i64>(2)? as usize,
                    dimension: r.get(3)?,
                    original_value: r.get(4)?,
                    original_level: r.get(5)?,
                    value: r.get(6)?,
                    level: r.get(7)?,
                    reason: r.get(8)?,
                    by_user: r.get(9)?,
                    at: r.get(10)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }
}
