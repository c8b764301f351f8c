//! `[verify]` (verifier defaults) and `[plugins]` (the WebAssembly plugin host).

use std::path::PathBuf;

use serde::Deserialize;

/// `[verify]`: defaults for verifiers (a webhook's `toleranceSeconds` overrides the window).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyConfig {
    /// Stripe timestamp tolerance, seconds (0 disables the check).
    #[serde(default = "d_300")]
    pub stripe_tolerance_secs: u64,
    /// Slack timestamp window (both directions), seconds.
    #[serde(default = "d_300")]
    pub slack_tolerance_secs: u64,
    /// SendGrid timestamp window, seconds; 0 = no check (SendGrid documents none).
    #[serde(default)]
    pub sendgrid_tolerance_secs: u64,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        toml::from_str("").expect("verify defaults")
    }
}

fn d_300() -> u64 {
    300
}

/// `[plugins]`: sandboxed WebAssembly verifier plugins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// Directory of plugin components (`<name>.wasm`), loaded at start and on reload
    /// (`SIGHUP`, `POST /api/admin/plugins/reload`). Unset: no plugins.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Linear memory a plugin instance may use, bytes (default 16 MiB).
    #[serde(default = "d_plugin_memory")]
    pub memory_limit_bytes: u64,
    /// Wall-clock time a plugin call may run, ms (default 5): then a call that keeps its CPU
    /// busy is stopped within 1 ms; one a busy machine did not schedule gets up to 4 × this.
    #[serde(default = "d_plugin_deadline")]
    pub deadline_ms: u64,
    /// Idle instances kept per plugin for reuse (default 8; 0 = a fresh instance per call).
    #[serde(default = "d_plugin_pool")]
    pub pool_size: usize,
    /// Calls of one plugin running at once (default 8); further requests wait up to 1 s for a
    /// slot, then get 503 `plugin_busy`. With `pool_size` it bounds a plugin's memory.
    #[serde(default = "d_plugin_pool")]
    pub max_concurrent_calls: usize,
    /// Largest handshake body a plugin may return, bytes (default 64 KiB).
    #[serde(default = "d_plugin_output")]
    pub max_output_bytes: usize,
    /// Log lines one plugin may write per second (its `log` calls and its standard output and
    /// error lines, default 20, as a burst too); further lines are counted and reported in one
    /// line once it may log again. 0 silences plugins.
    #[serde(default = "d_plugin_log_lines")]
    pub log_lines_per_second: u32,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        toml::from_str("").expect("plugins defaults")
    }
}

fn d_plugin_memory() -> u64 {
    16 * 1024 * 1024
}
fn d_plugin_deadline() -> u64 {
    5
}
fn d_plugin_pool() -> usize {
    8
}
fn d_plugin_log_lines() -> u32 {
    20
}
fn d_plugin_output() -> usize {
    64 * 1024
}
