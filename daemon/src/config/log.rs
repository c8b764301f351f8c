//! `[log]`: format and level of the daemon's log (standard error).

use serde::Deserialize;

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (human-readable; colour only when standard error is a terminal) or `json` (one
    /// object per line, for log shippers).
    #[serde(default)]
    pub format: LogFormat,
    /// Default filter, `tracing` env-filter syntax (`info`, `debug`, `info,hookd::sink=debug`).
    /// `RUST_LOG` (or its alias `HOOKD_LOG`) replaces it. wasmtime and Cranelift stay at `warn`
    /// unless the filter names them.
    #[serde(default = "d_level")]
    pub level: String,
    /// Repeated warnings from one place in the code: how many may be written per
    /// `warn_window_secs` before the rest are counted instead (the count is logged with the next
    /// one that is written). 0 = no limit.
    #[serde(default = "d_burst")]
    pub warn_burst: u32,
    /// The window of `warn_burst`, seconds.
    #[serde(default = "d_window")]
    pub warn_window_secs: u64,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for LogConfig {
    fn default() -> Self {
        toml::from_str("").expect("log defaults")
    }
}

fn d_level() -> String {
    "info".into()
}
fn d_burst() -> u32 {
    5
}
fn d_window() -> u64 {
    10
}
