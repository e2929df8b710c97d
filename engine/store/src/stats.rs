//! Statistics over the stored scores, in SQL: a trainee's growth curve
//! (standard skill 1.2.5, tracking one's own progress) and the class
//! overview for instructors. Both use the effective score of a turn: the
//! latest override where an instructor corrected the AI, the AI's value
//! otherwise; a turn's score for a dimension is the mean of its plugins'
//! scores for it, and a mean over turns weighs every turn alike.

use crate::{Role, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

/// `turn_scores(session_id, idx, dimension, value)`: one row per scored
/// turn and dimension, overrides applied.
const TURN_SCORES: &str = "
    WITH turn_scores AS (
        SELECT sc.session_id, sc.idx, sc.dimension,
               AVG(COALESCE(
                   (SELECT o.value FROM overrides o
                    WHERE o.session_id = sc.session_id AND o.idx = sc.idx
                      AND o.dimension = sc.dimension
                    ORDER BY o.id DESC LIMIT 1),
                   sc.value)) AS value
        FROM scores sc
        GROUP BY sc.session_id, sc.idx, sc.dimension
    )";

/// One ended session's mean score on one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProgressPoint {
    pub session_id: i64,
    /// When the session ended.
    pub at: String,
    pub persona_id: String,
    pub dimension: String,
    /// The mean over the session's turns, overrides applied.
    pub value: f64,
}

/// One trainee in the class overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverviewRow {
    pub user_id: i64,
    pub name: String,
    pub sessions: usize,
    pub ended: usize,
    /// The mean scorecard total of the ended sessions; `None` without any.
    pub mean_total: Option<f64>,
    /// The mean per dimension over all the trainee's scored turns,
    /// overrides applied.
    pub dimensions: BTreeMap<String, f64>,
}

impl Store {
    /// A user's growth curve: one point per ended session and dimension,
    /// oldest first.
    pub fn progress(&self, user_id: i64) -> Result<Vec<ProgressPoint>, StoreError> {
        Ok(self
            .conn
            .prepare(&format!(
                "{TURN_SCORES}
                 SELECT s.id, COALESCE(s.ended_at, s.created_at) AS at, s.persona_id,
                        t.dimension, AVG(t.value)
                 FROM sessions s JOIN turn_scores t ON t.session_id = s.id
                 WHERE s.user_id = ?1 AND s.status = 'ended'
                 GROUP BY s.id, t.dimension
                 ORDER BY at, s.id, t.dimension"
            ))?
            .query_map([user_id], |r| {
                Ok(ProgressPoint {
                    session_id: r.get(0)?,
                    at: r.get(1)?,
                    persona_id: r.get(2)?,
                    dimension: r.get(3)?,
                    value: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?)
    }

    /// Every trainee (with or without sessions), by id.
    pub fn overview(&self) -> Result<Vec<OverviewRow>, StoreError> {
        let mut rows: Vec<OverviewRow> = self
            .conn
            .prepare(
                "SELECT u.id, u.name, COUNT(s.id), COUNT(CASE WHEN s.status = 'ended' THEN 1 END),
                        AVG(CASE WHEN s.status = 'ended'
                                 THEN json_extract(s.scorecard, '$.total') END)
                 FROM users u LEFT JOIN sessions s ON s.user_id = u.id
                 WHERE u.role = ?1
                 GROUP BY u.id ORDER BY u.id",
            )?
            .query_map([Role::Trainee.as_str()], |r| {
                Ok(OverviewRow {
                    user_id: r.get(0)?,
                    name: r.get(1)?,
                    sessions: r.get::<_, i64>(2)? as usize,
                    ended: r.get::<_, i64>(3)? as usize,
                    mean_total: r.get(4)?,
                    dimensions: BTreeMap::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let means: Vec<(i64, String, f64)> = self
            .conn
            .prepare(&format!(
                "{TURN_SCORES}
                 SELECT s.user_id, t.dimension, AVG(t.value)
                 FROM sessions s JOIN turn_scores t ON t.session_id = s.id
                 JOIN users u ON u.id = s.user_id
                 WHERE u.role = ?1
                 GROUP BY s.user_id, t.dimension"
            ))?
            .query_map([Role::Trainee.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (user_id, dimension, mean) in means {
            if let Some(row) = rows.iter_mut().find(|r| r.user_id == user_id) {
                row.dimensions.insert(dimension, mean);
            }
        }
        Ok(rows)
    }
}
