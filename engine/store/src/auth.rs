//! Login sessions: the server hands the browser a random token and stores
//! only its hash here (a stolen database yields no usable cookie), with the
//! CSRF token that goes with it and an expiry checked on every request.

use crate::{Store, StoreError, User, NOW};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Records a login of `user_id` valid for `ttl_secs` seconds from now
    /// (zero or less: already expired). `NotFound` for an unknown user,
    /// `Conflict` when the token hash is already in use.
    pub fn create_login(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf: &str,
        ttl_secs: i64,
    ) -> Result<(), StoreError> {
        if self.user(user_id)?.is_none() {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        // Expired logins (everyone's) go when a new one comes.
        self.conn.execute(
            &format!("DELETE FROM auth_sessions WHERE expires_at <= {NOW}"),
            [],
        )?;
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO auth_sessions (token_hash, user_id, csrf, expires_at)
             VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?4 || ' seconds'))",
            params![token_hash, user_id, csrf, ttl_secs],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict("login token in use".into()));
        }
        Ok(())
    }

    /// The user logged in with `token_hash` and the login's CSRF token;
    /// `None` when missing or expired. A read only: every API call asks.
    pub fn login(&self, token_hash: &str) -> Result<Option<(User, String)>, StoreError> {
        let found: Option<(i64, String)> = self
            .conn
            .query_row(
                &format!(
                    "SELECT user_id, csrf FROM auth_sessions WHERE token_hash = ?1 AND expires_at > {NOW}"
                ),
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((user_id, csrf)) = found else {
            return Ok(None);
        };
        Ok(self.user(user_id)?.map(|u| (u, csrf)))
    }

    /// Ends a login (logout); a missing one is no error.
    pub fn delete_login(&self, token_hash: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM auth_sessions WHERE token_hash = ?1",
            [token_hash],
        )?;
        Ok(())
    }

    /// Ends every login of a user (after a password change).
    pub fn delete_logins_of(&self, user_id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM auth_sessions WHERE user_id = ?1", [user_id])?;
        Ok(())
    }

    /// Replaces a user's password hash.
    pub fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        let n = self.conn.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user_id, password_hash],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        Ok(())
    }
}
