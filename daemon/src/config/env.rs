//! `HOOKD_…` environment overrides, applied to the TOML table before it is deserialized.

use super::{invalid, ConfigError};

/// Which environment variable set which key: `(dotted key, variable)`, e.g.
/// `("server.max_body_bytes", "HOOKD_SERVER__MAX_BODY_BYTES")`.
pub(super) type Overrides = Vec<(String, String)>;

/// Applies `HOOKD_SECTION__KEY=value` overrides (double underscore separates levels; names are
/// lower-cased). Values that parse as TOML integers or booleans keep that type; anything else is
/// a string. Returns which variable set which key, so errors can name the variable.
pub(super) fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Overrides, ConfigError> {
    let mut applied = Vec::new();
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
        applied.push((path.join("."), k));
    }
    Ok(applied)
}

/// The variable that set `path` (a dotted key as `serde_path_to_error` or a validation error
/// names it), or a table above it.
pub(super) fn variable_for<'a>(applied: &'a Overrides, path: &str) -> Option<&'a str> {
    applied
        .iter()
        .rev()
        .find(|(key, _)| {
            path == key
                || path
                    .strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
        .map(|(_, var)| var.as_str())
}
