//! Assignments: an instructor asks a trainee to play a persona (in practice
//! or exam mode, maybe by a date). Sessions started for one carry its id,
//! and its status is derived from them, never stored: done once such a
//! session has ended, overdue when not done and the due date (UTC) has
//! passed, open otherwise.

use crate::{Role, Store, StoreError};
use rusqlite::params;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAssignment {
    pub user_id: i64,
    pub persona_id: String,
    /// "practice" or "exam".
    pub mode: String,
    /// YYYY-MM-DD (the last day, UTC), if any.
    #[serde(default)]
    pub due: Option<String>,
    pub assigned_by: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub persona_id: String,
    pub mode: String,
    pub due: Option<String>,
    pub assigned_by: i64,
    pub created_at: String,
    /// The latest session started for it.
    pub session_id: Option<i64>,
    /// "open", "done" or "overdue".
    pub status: String,
}

/// Whether `s` reads YYYY-MM-DD (the calendar check is SQLite's `date`).
fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

impl Store {
    /// Stores an assignment. `Conflict` unless the mode is practice or exam,
    /// the due date a real YYYY-MM-DD, the user an existing trainee and the
    /// persona in the library.
    pub fn add_assignment(&self, a: &NewAssignment) -> Result<Assignment, StoreError> {
        if !["practice", "exam"].contains(&a.mode.as_str()) {
            return Err(StoreError::Conflict(format!(
                "mode must be practice or exam (got {})",
                a.mode
            )));
        }
        if let Some(due) = &a.due {
            let real: bool = looks_like_date(due)
                && self
                    .conn
                    .query_row("SELECT date(?1) IS ?1", [due], |r| r.get(0))?;
            if !real {
                return Err(StoreError::Conflict(format!(
                    "due must be a date YYYY-MM-DD (got {due})"
                )));
            }
        }
        match self.user(a.user_id)? {
            Some(u) if u.role == Role::Trainee => {}
            Some(u) => {
                return Err(StoreError::Conflict(format!(
                    "user {} is {}, not a trainee",
                    u.name,
                    u.role.as_str()
                )))
            }
            None => return Err(StoreError::Conflict(format!("no user {}", a.user_id))),
        }
        if self.persona(&a.persona_id)?.is_none() {
            return Err(StoreError::Conflict(format!("no persona {}", a.persona_id)));
        }
        self.conn.execute(
            "INSERT INTO assignments (user_id, persona_id, mode, due, assigned_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.user_id, a.persona_id, a.mode, a.due, a.assigned_by],
        )?;
        Ok(self
            .assignment(self.conn.last_insert_rowid())?
            .expect("just inserted"))
    }

    /// One user's assignments, or everyone's (`None`), oldest first.
    pub fn assignments(&self, user: Option<i64>) -> Result<Vec<Assignment>, StoreError> {
        match user {
            Some(u) => self.assignments_where("a.user_id = ?1", [u]),
            None => self.assignments_where("1", []),
        }
    }

    pub fn assignment(&self, id: i64) -> Result<Option<Assignment>, StoreError> {
        Ok(self
            .assignments_where("a.id = ?1", [id])?
            .into_iter()
            .next())
    }

    /// Deletes an assignment; sessions started for it stay, unlinked.
    /// `NotFound` when there is none.
    pub fn delete_assignment(&mut self, id: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE sessions SET assignment_id = NULL WHERE assignment_id = ?1",
            [id],
        )?;
        let n = tx.execute("DELETE FROM assignments WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("assignment {id}")));
        }
        tx.commit()?;
        Ok(())
    }

    fn assignments_where<P: rusqlite::Params>(
        &self,
        clause: &str,
        p: P,
    ) -> Result<Vec<Assignment>, StoreError> {
        Ok(self
            .conn
            .prepare(&format!(
                "SELECT a.id, a.user_id, u.name, a.persona_id, a.mode, a.due, a.assigned_by,
                        a.created_at,
                        (SELECT MAX(s.id) FROM sessions s WHERE s.assignment_id = a.id),
                        CASE
                          WHEN EXISTS (SELECT 1 FROM sessions s
                                       WHERE s.assignment_id = a.id AND s.status = 'ended')
                            THEN 'done'
                          WHEN a.due IS NOT NULL AND a.due < date('now') THEN 'overdue'
                          ELSE 'open'
                        END
                 FROM assignments a JOIN users u ON u.id = a.user_id
                 WHERE {clause} ORDER BY a.id"
            ))?
            .query_map(p, |r| {
                Ok(Assignment {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    user_name: r.get(2)?,
                    persona_id: r.get(3)?,
                    mode: r.get(4)?,
                    due: r.get(5)?,
                    assigned_by: r.get(6)?,
                    created_at: r.get(7)?,
                    session_id: r.get(8)?,
                    status: r.get(9)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_look_like_dates() {
        assert!(super::looks_like_date("2025-03-01"));
        for bad in [
            "2025-3-01",
            "2025/03/01",
            "20250301",
            "2025-03-01T00:00",
            "２025-03-01",
        ] {
            assert!(!super::looks_like_date(bad), "{bad}");
        }
    }
}
