//! `HOOKD_…` environment overrides, applied to the TOML table before it is deserialized.

use super::{invalid, ConfigError};

/// Applies `HOOKD_SECTION__KEY=value` overrides (double underscore separates levels; names are
/// lower-cased). Values that parse as TOML integers or booleans keep that type; anything else is
/// a string.
pub(super) fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (k, v) in env {
        let Some(rest) = k.strip_prefix("HOOKD_") else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.len() < 2 || path.iter().any(|p| p.is_empty()) {
            continue; // HOOKD_LOG and friends are not config keys
        }
        let value = if let Ok(i) = v.parse::<i64>() {
            toml::Value::Integer(i)
        } else if let Ok(b) = v.parse::<bool>() {
            toml::Value::Boolean(b)
        } else {
            toml::Value::String(v)
        };
        let mut t = &mut *table;
        for seg in &path[..path.len() - 1] {
            let entry = t
                .entry(seg.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            t = entry
                .as_table_mut()
                .ok_or_else(|| invalid(k.clone(), "overrides a value that is not a table"))?;
        }
        // Strings for string fields even when they look numeric (e.g. admin_token = "12345678").
        let key = path.last().unwrap().clone();
        let value = match (t.get(&key), value) {
            (Some(toml::Value::String(_)), toml::Value::Integer(i)) => {
                toml::Value::String(i.to_string())
            }
            (Some(toml::Value::String(_)), toml::Value::Boolean(b)) => {
                toml::Value::String(b.to_string())
            }
            (_, v) => v,
        };
        t.insert(key, value);
    }
    Ok(())
}
