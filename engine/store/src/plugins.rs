//! Plugin settings chosen by instructors: whether a scorer plugin is used
//! by new sessions and the JSON configuration it gets. A plugin with no row
//! here runs with its defaults (the server decides what those are).

use crate::{parse, Store, StoreError, NOW};
use rusqlite::params;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginSetting {
    pub plugin_id: String,
    pub enabled: bool,
    /// A JSON object.
    pub config: serde_json::Value,
    pub updated_by: Option<i64>,
    pub updated_at: String,
}

impl Store {
    /// Every stored setting, by plugin id.
    pub fn plugin_settings(&self) -> Result<Vec<PluginSetting>, StoreError> {
        self.plugin_settings_where("1", [])
    }

    pub fn plugin_setting(&self, plugin_id: &str) -> Result<Option<PluginSetting>, StoreError> {
        Ok(self
            .plugin_settings_where("plugin_id = ?1", [plugin_id])?
            .into_iter()
            .next())
    }

    /// Stores a plugin's setting (replacing any); `Conflict` when `config`
    /// is not a JSON object.
    pub fn set_plugin_setting(
        &self,
        plugin_id: &str,
        enabled: bool,
        config: &serde_json::Value,
        by: i64,
    ) -> Result<PluginSetting, StoreError> {
        if !config.is_object() {
            return Err(StoreError::Conflict(format!(
                "the config of plugin {plugin_id} must be a JSON object"
            )));
        }
        self.conn.execute(
            &format!(
                "INSERT INTO plugin_settings (plugin_id, enabled, config, updated_by)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (plugin_id) DO UPDATE SET enabled = excluded.enabled,
                     config = excluded.config, updated_by = excluded.updated_by,
                     updated_at = {NOW}"
            ),
            params![plugin_id, enabled, config.to_string(), by],
        )?;
        Ok(self.plugin_setting(plugin_id)?.expect("just set"))
    }

    fn plugin_settings_where<P: rusqlite::Params>(
        &self,
        clause: &str,
        p: P,
    ) -> Result<Vec<PluginSetting>, StoreError> {
        let rows: Vec<(String, bool, String, Option<i64>, String)> = self
            .conn
            .prepare(&format!(
                "SELECT plugin_id, enabled, config, updated_by, updated_at FROM plugin_settings
                 WHERE {clause} ORDER BY plugin_id"
            ))?
            .query_map(p, |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(plugin_id, enabled, config, updated_by, updated_at)| {
                Ok(PluginSetting {
                    config: parse(&format!("plugin {plugin_id} config"), &config)?,
                    plugin_id,
                    enabled,
                    updated_by,
                    updated_at,
                })
            })
            .collect()
    }
}
