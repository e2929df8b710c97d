//! Instructor configuration over built-in defaults.
//!
//! A plugin ships its defaults as JSON (phrase lists, exemplars, weights,
//! thresholds); the instructor's JSON is merged over them, so changing one
//! phrase list or threshold needs neither code nor a copy of everything else.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Merge `overrides` into `base`: objects key by key (recursively), anything
/// else replaced whole. A `null` override removes nothing; it is ignored.
pub fn merge(base: &mut Value, overrides: Value) {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (key, value) in overrides {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (_, Value::Null) => {}
        (base, value) => *base = value,
    }
}

/// Parse `overrides` (JSON, may be empty) merged over `defaults` into `T`.
/// Errors name the offending field, so instructors can fix their file.
pub fn parse<T: DeserializeOwned>(defaults: &str, overrides: &str) -> Result<T, String> {
    let mut base: Value =
        serde_json::from_str(defaults).map_err(|e| format!("built-in defaults: {e}"))?;
    let overrides = overrides.trim();
    if !overrides.is_empty() {
        let value: Value =
            serde_json::from_str(overrides).map_err(|e| format!("configuration: {e}"))?;
        if !value.is_object() {
            return Err("configuration: expected a JSON object".into());
        }
        merge(&mut base, value);
    }
    serde_json::from_value(base).map_err(|e| format!("configuration: {e}"))
}
