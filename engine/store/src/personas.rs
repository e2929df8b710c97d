//! The persona library in use: instructors edit personas in the web app, so
//! the database (not the personas directory, which only seeds it) holds the
//! current TOML of each, and every version ever put, as an audit trail of
//! who changed what. Sessions keep their own copy (`NewSession::persona_toml`),
//! so edits never change a stored session's rules.

use crate::{Store, StoreError, NOW};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

/// A persona as it is in use now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPersona {
    pub id: String,
    pub toml: String,
    /// Who last put it; `None` when seeded from a file.
    pub updated_by: Option<i64>,
    pub updated_at: String,
}

/// One version of a persona, as put (or seeded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonaVersion {
    pub persona_id: String,
    pub toml: String,
    pub updated_by: Option<i64>,
    pub at: String,
}

impl Store {
    /// Inserts or replaces persona `id` (the caller has checked the TOML)
    /// and appends the version to its history, in one transaction.
    pub fn put_persona(
        &mut self,
        id: &str,
        toml: &str,
        by: Option<i64>,
    ) -> Result<StoredPersona, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO personas (id, toml, updated_by) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET toml = excluded.toml,
                     updated_by = excluded.updated_by, updated_at = {NOW}"
            ),
            params![id, toml, by],
        )?;
        tx.execute(
            "INSERT INTO persona_versions (persona_id, toml, updated_by) VALUES (?1, ?2, ?3)",
            params![id, toml, by],
        )?;
        tx.commit()?;
        Ok(self.persona(id)?.expect("just put"))
    }

    /// Seeds persona `id` unless the library has it already (edits made in
    /// the app win over the files); true when it was inserted.
    pub fn insert_persona_if_absent(&mut self, id: &str, toml: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "INSERT OR IGNORE INTO personas (id, toml) VALUES (?1, ?2)",
            params![id, toml],
        )?;
        if n > 0 {
            tx.execute(
                "INSERT INTO persona_versions (persona_id, toml) VALUES (?1, ?2)",
                params![id, toml],
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    pub fn persona(&self, id: &str) -> Result<Option<StoredPersona>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, toml, updated_by, updated_at FROM personas WHERE id = ?1",
                [id],
                persona_row,
            )
            .optional()?)
    }

    pub fn persona_toml(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.persona(id)?.map(|p| p.toml))
    }

    /// Every persona in use, by id.
    pub fn personas(&self) -> Result<Vec<StoredPersona>, StoreError> {
        Ok(self
            .conn
            .prepare("SELECT id, toml, updated_by, updated_at FROM personas ORDER BY id")?
            .query_map([], persona_row)?
            .collect::<Result<_, _>>()?)
    }

    /// The history of persona `id`, oldest first (empty when unknown).
    pub fn persona_versions(&self, id: &str) -> Result<Vec<PersonaVersion>, StoreError> {
        Ok(self
            .conn
            .prepare(
                "SELECT persona_id, toml, updated_by, at FROM persona_versions
                 WHERE persona_id = ?1 ORDER BY id",
            )?
            .query_map([id], |r| {
                Ok(PersonaVersion {
                    persona_id: r.get(0)?,
                    toml: r.get(1)?,
                    updated_by: r.get(2)?,
                    at: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }
}

fn persona_row(r: &rusqlite::Row) -> rusqlite::Result<StoredPersona> {
    Ok(StoredPersona {
        id: r.get(0)?,
        toml: r.get(1)?,
        updated_by: r.get(2)?,
        updated_at: r.get(3)?,
    })
}
