//! `[sink]` and `[conductor]` configuration.

use serde::Deserialize;

/// `[sink]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Kafka consumer group shared by every sink instance.
    #[serde(default = "d_group")]
    pub group_id: String,
    /// Dead-letter topic for events with permanent errors; default `<topic>.dlq`.
    #[serde(default)]
    pub dlq_topic: Option<String>,
    /// Execution-history entries kept per webhook (newest first).
    #[serde(default = "d_history")]
    pub history_size: usize,
    /// Enforce `idempotencyKey`/`idempotencyStrategy` in hookd (needed on Conductor OSS, which
    /// ignores them; harmless on Orkes, which enforces them too).
    #[serde(default = "d_true")]
    pub enforce_idempotency: bool,
    /// Task type hookd works as the worker for.
    #[serde(default = "d_task_type")]
    pub wait_task_type: String,
    /// Tasks per batch poll.
    #[serde(default = "d_poll_count")]
    pub wait_poll_count: u32,
    /// Long-poll timeout of a batch poll, ms.
    #[serde(default = "d_poll_timeout")]
    pub wait_poll_timeout_ms: u64,
    /// Keep-alive: waits are updated `IN_PROGRESS` with this `callbackAfterSeconds` and re-polled.
    #[serde(default = "d_callback")]
    pub wait_callback_after_secs: u64,
    /// Worker id sent to Conductor; default `hookd-<hostname or random>`.
    #[serde(default)]
    pub worker_id: Option<String>,
    /// Largest payload (serialized bytes) kept in history; larger ones are replaced by a note.
    #[serde(default = "d_hist_payload")]
    pub history_max_payload_bytes: usize,
    /// De-duplication window, seconds: an event whose delivery id (or `dedupKey`) was handled
    /// within it has no further effect; records older than it expire (and the `<topic>.starts`
    /// topic is created with this retention).
    #[serde(default = "d_dedup_window")]
    pub dedup_window_secs: u64,
    /// De-duplication records kept in memory per assigned partition, and the most a partition
    /// takeover reads back from `<topic>.starts`: the bound on the sink's memory and takeover
    /// time whatever the traffic. Beyond it, starts are looked up in Conductor by correlation id.
    #[serde(default = "d_dedup_entries")]
    pub dedup_index_entries: usize,
    /// Events of one partition processed at once (events sharing a key stay in order).
    #[serde(default = "d_in_flight")]
    pub max_in_flight: usize,
}

/// `[conductor]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConductorConfig {
    /// Base URL including `/api`, e.g. `http://conductor:8080/api`. Unset: dry-run (actions are
    /// logged and recorded in history, nothing is called).
    #[serde(default)]
    pub url: Option<String>,
    /// Orkes application key id (with `key_secret`); unset: no auth.
    #[serde(default)]
    pub key_id: Option<String>,
    /// Orkes application key secret.
    #[serde(default)]
    pub key_secret: Option<super::Sensitive>,
    /// Per-request timeout, ms.
    #[serde(default = "d_timeout")]
    pub timeout_ms: u64,
    /// Attempts per call on timeouts, 429 and 5xx (with exponential backoff and jitter) before the
    /// event is retried as a whole.
    #[serde(default = "d_retries")]
    pub max_attempts: u32,
}

fn d_group() -> String {
    "hookd-sink".into()
}
fn d_history() -> usize {
    10
}
fn d_true() -> bool {
    true
}
fn d_task_type() -> String {
    "WAIT_FOR_WEBHOOK".into()
}
fn d_poll_count() -> u32 {
    50
}
fn d_poll_timeout() -> u64 {
    1000
}
fn d_callback() -> u64 {
    30
}
fn d_hist_payload() -> usize {
    64 * 1024
}
fn d_dedup_window() -> u64 {
    7 * 24 * 3600
}
fn d_dedup_entries() -> usize {
    20_000
}
/// 128 by measurement: `sink-throughput` (one sink process on one core, 20 ms Conductor
/// latency, 6 partitions, external broker) gave 4,236–5,520 starts/s at 64, 6,265–7,663 at 128,
/// 6,106–8,445 at 256 and 7,473 at 512: 128 reaches the plateau with half the concurrent
/// Conductor calls of 256.
fn d_in_flight() -> usize {
    128
}
fn d_timeout() -> u64 {
    10_000
}
fn d_retries() -> u32 {
    4
}

impl Default for ConductorConfig {
    fn default() -> Self {
        toml::from_str("").expect("conductor defaults")
    }
}

impl Default for SinkConfig {
    fn default() -> Self {
        toml::from_str("").expect("sink defaults")
    }
}

impl SinkConfig {
    /// Validates `[sink]` and `[conductor]`; errors are `(field, message)`.
    pub fn validate(&self, c: &ConductorConfig) -> Result<(), (String, String)> {
        let e = |f: &str, m: &str| Err((f.to_string(), m.to_string()));
        if self.group_id.is_empty() {
            return e("sink.group_id", "must not be empty");
        }
        if self.history_size > 1000 {
            return e("sink.history_size", "must be at most 1000");
        }
        if self.wait_task_type.is_empty() {
            return e("sink.wait_task_type", "must not be empty");
        }
        if self.wait_poll_count == 0 || self.wait_poll_count > 1000 {
            return e("sink.wait_poll_count", "must be between 1 and 1000");
        }
        if self.wait_callback_after_secs == 0 {
            return e("sink.wait_callback_after_secs", "must be at least 1");
        }
        if self.dedup_window_secs < 60 || self.dedup_window_secs > 365 * 24 * 3600 {
            return e("sink.dedup_window_secs", "must be between 60 and 31536000");
        }
        if self.dedup_index_entries < 1000 || self.dedup_index_entries > 100_000_000 {
            return e(
                "sink.dedup_index_entries",
                "must be between 1000 and 100000000",
            );
        }
        if self.max_in_flight == 0 || self.max_in_flight > 10_000 {
            return e("sink.max_in_flight", "must be between 1 and 10000");
        }
        if let Some(u) = &c.url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return e("conductor.url", "must start with http:// or https://");
            }
        }
        if c.key_id.is_some() != c.key_secret.is_some() {
            return e("conductor.key_secret", "key_id and key_secret go together");
        }
        if c.timeout_ms < 100 {
            return e("conductor.timeout_ms", "must be at least 100");
        }
        if c.max_attempts == 0 {
            return e("conductor.max_attempts", "must be at least 1");
        }
        Ok(())
    }
}
