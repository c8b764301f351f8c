//! Configuration: embedded defaults → TOML file → `HOOKD_…` environment overrides, then validation.
//!
//! Every field is documented in `config/hookd.toml`. Unknown keys are errors (a typo must not be
//! silently ignored), and every validation error names the offending field.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::model::WebhookConfig;

/// A configuration problem; the message always names the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not fit the schema.
    #[error("invalid config: {0}")]
    Parse(String),
    /// A field has an invalid value.
    #[error("invalid config: {field}: {message}")]
    Invalid {
        /// Dotted path of the field, e.g. `server.tls_key`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The whole daemon configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listeners, limits and the admin API.
    pub server: ServerConfig,
    /// Kafka connection, topics and producer settings.
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Verification defaults.
    #[serde(default)]
    pub verify: VerifyConfig,
    /// The sink stage (consumes the events topic, acts on Conductor).
    #[serde(default)]
    pub sink: crate::sink::config::SinkConfig,
    /// The Conductor server the sink acts on (no `url`: dry-run).
    #[serde(default)]
    pub conductor: crate::sink::config::ConductorConfig,
    /// Static webhook definitions (same fields as the admin API's JSON model).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// WebAssembly verifier plugins (`WASM_PLUGIN` webhooks).
    #[serde(default)]
    pub plugins: PluginsConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Plain HTTP/1.1 + h2c listener (TLS terminated at the load balancer). Empty string disables it.
    #[serde(default = "d_listen")]
    pub listen: String,
    /// HTTPS listener (HTTP/1.1 and HTTP/2 by ALPN). Unset: no TLS listener.
    #[serde(default)]
    pub tls_listen: Option<String>,
    /// PEM certificate chain for `tls_listen`; unset: a self-signed localhost certificate is generated.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Admin API, health and metrics listener (plain HTTP; keep it on a private network).
    #[serde(default = "d_admin_listen")]
    pub admin_listen: String,
    /// Token for the admin API: `X-Authorization: <token>` or `Authorization: Bearer <token>`.
    pub admin_token: String,
    /// Directory for persistent local state (webhook snapshot, generated certificate).
    #[serde(default = "d_state_dir")]
    pub state_dir: PathBuf,
    /// Default body limit per request, bytes (per-webhook `maxBodyBytes` overrides it).
    #[serde(default = "d_max_body")]
    pub max_body_bytes: u64,
    /// Maximum number of request headers.
    #[serde(default = "d_max_headers")]
    pub max_headers: usize,
    /// Maximum total size of the request head (request line + headers), bytes.
    #[serde(default = "d_max_header_bytes")]
    pub max_header_bytes: usize,
    /// Time allowed to receive a request's headers; also the keep-alive idle timeout, ms.
    #[serde(default = "d_header_timeout")]
    pub header_read_timeout_ms: u64,
    /// Time allowed to receive a whole request body, ms.
    #[serde(default = "d_body_timeout")]
    pub body_read_timeout_ms: u64,
    /// Maximum concurrent connections per listener.
    #[serde(default = "d_max_conns")]
    pub max_connections: usize,
    /// Grace period for draining connections on shutdown, ms.
    #[serde(default = "d_drain")]
    pub shutdown_grace_ms: u64,
    /// What this instance runs: `both` (default), `ingest` (listeners only) or `sink` (no
    /// provider-facing listeners). The `--role` flag overrides it.
    #[serde(default)]
    pub role: Role,
    /// Name recorded as `createdBy` for webhooks created through the admin API.
    #[serde(default = "d_admin_principal")]
    pub admin_principal: String,
    /// HTTP/3 (QUIC, UDP) listener using the `tls_listen` certificate. Unset: on whenever
    /// `tls_listen` is set, on the same port over UDP; `""` disables HTTP/3.
    #[serde(default)]
    pub h3_listen: Option<String>,
    /// Maximum concurrent request streams per HTTP/3 connection.
    #[serde(default = "d_h3_max_streams")]
    pub h3_max_streams: u32,
    /// QUIC handshakes in progress at or above which new, unvalidated clients must first
    /// prove their address with a Retry round trip (0: always).
    #[serde(default = "d_h3_retry_threshold")]
    pub h3_retry_threshold: usize,
}

impl ServerConfig {
    /// The configured HTTP/3 address: `None` when HTTP/3 is off, `Some(None)` for "the
    /// `tls_listen` port over UDP" (the default), `Some(Some(addr))` when set explicitly.
    pub fn h3_address(&self) -> Option<Option<&str>> {
        self.tls_listen.as_ref()?;
        match self.h3_listen.as_deref() {
            None => Some(None),
            Some("") => None,
            Some(a) => Some(Some(a)),
        }
    }
}

/// `[kafka]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `"embedded"` (librdkafka's in-process mock cluster, in memory, not durable) or `host:port,…`.
    #[serde(default = "d_brokers")]
    pub brokers: String,
    /// Topic that receives one record per verified event.
    #[serde(default = "d_topic")]
    pub topic: String,
    /// Compacted topic that shares webhook definitions between instances; default `<topic>.webhooks`.
    #[serde(default)]
    pub config_topic: Option<String>,
    /// Partitions for topics hookd creates (existing topics are left alone).
    #[serde(default = "d_partitions")]
    pub partitions: i32,
    /// Replication factor for topics hookd creates.
    #[serde(default = "d_replication")]
    pub replication_factor: i32,
    /// How long a request may wait for the broker's acknowledgement before answering 503, ms.
    #[serde(default = "d_ack_timeout")]
    pub ack_timeout_ms: u64,
    /// librdkafka `linger.ms`: how long to wait to fill a batch.
    #[serde(default = "d_linger")]
    pub linger_ms: u64,
    /// librdkafka `batch.num.messages`.
    #[serde(default = "d_batch_num")]
    pub batch_num_messages: u32,
    /// librdkafka `batch.size`, bytes.
    #[serde(default = "d_batch_size")]
    pub batch_size: u32,
    /// librdkafka `compression.codec`: none, gzip, lz4 (snappy/zstd are not built in).
    #[serde(default = "d_compression")]
    pub compression: String,
    /// Maximum events waiting for a broker acknowledgement; beyond it requests get 503.
    #[serde(default = "d_inflight")]
    pub max_inflight_events: usize,
    /// Maximum request-body bytes held in memory (being read or waiting for Kafka); beyond: 503.
    #[serde(default = "d_inflight_bytes")]
    pub max_inflight_bytes: usize,
    /// `Retry-After` seconds on 503 answers.
    #[serde(default = "d_retry_after")]
    pub retry_after_secs: u64,
    /// Extra librdkafka producer properties, passed through verbatim (e.g. security settings).
    #[serde(default)]
    pub producer: BTreeMap<String, String>,
    /// Extra librdkafka consumer properties, passed through verbatim.
    #[serde(default)]
    pub consumer: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        toml::from_str("").expect("kafka defaults")
    }
}

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
    /// Runtime, not a key: how `WASM_PLUGIN` webhooks find their plugin (set by the daemon).
    #[serde(skip)]
    pub plugins: crate::plugin::PluginLink,
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
fn d_plugin_output() -> usize {
    64 * 1024
}

impl Default for VerifyConfig {
    fn default() -> Self {
        toml::from_str("").expect("verify defaults")
    }
}

fn d_listen() -> String {
    "127.0.0.1:8080".into()
}
fn d_admin_listen() -> String {
    "127.0.0.1:9090".into()
}
fn d_state_dir() -> PathBuf {
    PathBuf::from("./hookd-state")
}
fn d_max_body() -> u64 {
    25 * 1024 * 1024
}
fn d_max_headers() -> usize {
    100
}
fn d_max_header_bytes() -> usize {
    64 * 1024
}
fn d_header_timeout() -> u64 {
    10_000
}
fn d_body_timeout() -> u64 {
    30_000
}
fn d_max_conns() -> usize {
    10_000
}
fn d_drain() -> u64 {
    10_000
}
fn d_admin_principal() -> String {
    "admin".into()
}
fn d_h3_max_streams() -> u32 {
    256
}
fn d_h3_retry_threshold() -> usize {
    128
}
fn d_brokers() -> String {
    "embedded".into()
}
fn d_topic() -> String {
    "hookd.events".into()
}
fn d_partitions() -> i32 {
    6
}
fn d_replication() -> i32 {
    1
}
fn d_ack_timeout() -> u64 {
    2_000
}
fn d_linger() -> u64 {
    2
}
fn d_batch_num() -> u32 {
    10_000
}
fn d_batch_size() -> u32 {
    1_000_000
}
fn d_compression() -> String {
    "lz4".into()
}
fn d_inflight() -> usize {
    10_000
}
fn d_inflight_bytes() -> usize {
    256 * 1024 * 1024
}
fn d_retry_after() -> u64 {
    1
}
fn d_300() -> u64 {
    300
}

impl Config {
    /// Loads `path` (if given), applies `HOOKD_…` overrides from `env`, and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.to_path_buf(),
                source,
            })?,
            None => String::new(),
        };
        Self::from_toml_with_env(&text, env)
    }

    /// Parses TOML text, applies overrides, validates.
    pub fn from_toml_with_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        apply_env(&mut table, env)?;
        let cfg: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses TOML text without environment overrides (tests, embedded configs).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::from_toml_with_env(text, std::iter::empty())
    }

    /// The config topic name (`kafka.config_topic`, default `<topic>.webhooks`).
    pub fn config_topic(&self) -> String {
        self.kafka
            .config_topic
            .clone()
            .unwrap_or_else(|| format!("{}.webhooks", self.kafka.topic))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if !s.listen.is_empty() {
            parse_addr("server.listen", &s.listen)?;
        }
        if let Some(t) = &s.tls_listen {
            parse_addr("server.tls_listen", t)?;
        }
        if s.listen.is_empty() && s.tls_listen.is_none() {
            return Err(invalid(
                "server.listen",
                "no provider-facing listener: set listen or tls_listen",
            ));
        }
        parse_addr("server.admin_listen", &s.admin_listen)?;
        if s.admin_token.trim().len() < 8 {
            return Err(invalid(
                "server.admin_token",
                "must be at least 8 characters",
            ));
        }
        match (&s.tls_cert, &s.tls_key) {
            (Some(_), None) => return Err(invalid("server.tls_key", "set together with tls_cert")),
            (None, Some(_)) => return Err(invalid("server.tls_cert", "set together with tls_key")),
            _ => {}
        }
        if s.max_body_bytes == 0 {
            return Err(invalid("server.max_body_bytes", "must be greater than 0"));
        }
        if s.max_headers == 0 {
            return Err(invalid("server.max_headers", "must be greater than 0"));
        }
        if s.max_header_bytes < 8192 {
            return Err(invalid("server.max_header_bytes", "must be at least 8192"));
        }
        if s.max_connections == 0 {
            return Err(invalid("server.max_connections", "must be greater than 0"));
        }
        if let Some(h) = s.h3_listen.as_deref().filter(|h| !h.is_empty()) {
            parse_addr("server.h3_listen", h)?;
            if s.tls_listen.is_none() {
                return Err(invalid(
                    "server.h3_listen",
                    "HTTP/3 needs tls_listen (it serves the same certificate)",
                ));
            }
        }
        if s.h3_max_streams == 0 || s.h3_max_streams > 10_000 {
            return Err(invalid(
                "server.h3_max_streams",
                "must be between 1 and 10000",
            ));
        }
        let k = &self.kafka;
        if k.brokers.trim().is_empty() {
            return Err(invalid(
                "kafka.brokers",
                "must be \"embedded\" or host:port,…",
            ));
        }
        if k.topic.is_empty() || !k.topic.chars().all(valid_topic_char) {
            return Err(invalid("kafka.topic", "must be a valid Kafka topic name"));
        }
        if let Some(t) = &k.config_topic {
            if t.is_empty() || !t.chars().all(valid_topic_char) || *t == k.topic {
                return Err(invalid(
                    "kafka.config_topic",
                    "must be a valid Kafka topic name different from kafka.topic",
                ));
            }
        }
        if k.partitions < 1 {
            return Err(invalid("kafka.partitions", "must be at least 1"));
        }
        if k.ack_timeout_ms < 100 || k.ack_timeout_ms > 60_000 {
            return Err(invalid(
                "kafka.ack_timeout_ms",
                "must be between 100 and 60000",
            ));
        }
        if k.linger_ms >= k.ack_timeout_ms {
            return Err(invalid(
                "kafka.linger_ms",
                "must be below kafka.ack_timeout_ms",
            ));
        }
        if !matches!(k.compression.as_str(), "none" | "gzip" | "lz4") {
            return Err(invalid("kafka.compression", "must be none, gzip or lz4"));
        }
        if k.max_inflight_events == 0 {
            return Err(invalid(
                "kafka.max_inflight_events",
                "must be greater than 0",
            ));
        }
        if (k.max_inflight_bytes as u64) < s.max_body_bytes {
            return Err(invalid(
                "kafka.max_inflight_bytes",
                "must be at least server.max_body_bytes",
            ));
        }
        self.sink
            .validate(&self.conductor)
            .map_err(|(field, message)| invalid(field, message))?;
        let p = &self.plugins;
        if p.dir.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return Err(invalid(
                "plugins.dir",
                "must not be empty (leave it unset for no plugins)",
            ));
        }
        if !(1024 * 1024..=4 * 1024 * 1024 * 1024).contains(&p.memory_limit_bytes) {
            return Err(invalid(
                "plugins.memory_limit_bytes",
                "must be between 1 MiB and 4 GiB",
            ));
        }
        if !(1..=60_000).contains(&p.deadline_ms) {
            return Err(invalid(
                "plugins.deadline_ms",
                "must be between 1 and 60000",
            ));
        }
        if p.pool_size > 4096 {
            return Err(invalid("plugins.pool_size", "must be at most 4096"));
        }
        if !(1..=4096).contains(&p.max_concurrent_calls) {
            return Err(invalid(
                "plugins.max_concurrent_calls",
                "must be between 1 and 4096",
            ));
        }
        if !(1..=16 * 1024 * 1024).contains(&p.max_output_bytes) {
            return Err(invalid(
                "plugins.max_output_bytes",
                "must be between 1 and 16 MiB",
            ));
        }
        // Plugin names of static webhooks are checked when the daemon has loaded the plugins.
        let mut verify = self.verify.clone();
        if p.dir.is_some() {
            verify.plugins = crate::plugin::PluginLink::Deferred;
        }
        let mut ids = std::collections::HashSet::new();
        for (i, w) in self.webhooks.iter().enumerate() {
            let field = format!("webhooks[{i}]");
            let Some(id) = w.id.as_deref().filter(|s| !s.is_empty()) else {
                return Err(invalid(format!("{field}.id"), "static webhooks need an id"));
            };
            if !ids.insert(id.to_string()) {
                return Err(invalid(format!("{field}.id"), "duplicate id"));
            }
            w.validate(&verify)
                .map_err(|e| invalid(field.clone(), e.to_string()))?;
        }
        Ok(())
    }

    /// A derived topic name: `<topic>.<suffix>`.
    pub fn derived_topic(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.kafka.topic)
    }

    /// `kafka.ack_timeout_ms` as a duration.
    pub fn ack_timeout(&self) -> Duration {
        Duration::from_millis(self.kafka.ack_timeout_ms)
    }
}

/// What an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Ingest and sink.
    #[default]
    Both,
    /// Provider-facing listeners and publishing only.
    Ingest,
    /// Consume the events topic and act on Conductor only.
    Sink,
}

impl Role {
    /// Runs the provider-facing listeners.
    pub fn ingest(self) -> bool {
        matches!(self, Role::Both | Role::Ingest)
    }
    /// Runs the sink stage.
    pub fn sink(self) -> bool {
        matches!(self, Role::Both | Role::Sink)
    }
}

fn valid_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Parses a listen address (`host:port`; `localhost` allowed).
pub fn parse_addr(field: &str, s: &str) -> Result<SocketAddr, ConfigError> {
    let s2 = s.replace("localhost:", "127.0.0.1:");
    s2.parse().map_err(|_| {
        invalid(
            field,
            format!("`{s}` is not an address like 127.0.0.1:8080"),
        )
    })
}

/// Applies `HOOKD_SECTION__KEY=value` overrides (double underscore separates levels; names are
/// lower-cased). Values that parse as TOML integers or booleans keep that type; anything else is
/// a string.
fn apply_env(
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

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
admin_token = "secret-token"
[kafka]
brokers = "embedded"
topic = "events"
"#;

    #[test]
    fn minimal_file_is_enough() {
        let c = Config::from_toml(MIN).unwrap();
        assert_eq!(c.kafka.topic, "events");
        assert_eq!(c.config_topic(), "events.webhooks");
        assert_eq!(c.server.max_body_bytes, 25 * 1024 * 1024);
        assert_eq!(c.kafka.ack_timeout_ms, 2000);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml(&format!("{MIN}\nlisenn = 1")).unwrap_err();
        assert!(e.to_string().contains("lisenn"), "{e}");
    }

    #[test]
    fn missing_token_is_named() {
        let e = Config::from_toml("[server]\nlisten = \"127.0.0.1:1\"").unwrap_err();
        assert!(e.to_string().contains("admin_token"), "{e}");
    }

    #[test]
    fn bad_address_is_named() {
        let e = Config::from_toml(&MIN.replace("listen = \"127.0.0.1:0\"", "listen = \"nope\""))
            .unwrap_err();
        assert!(e.to_string().contains("server.listen"), "{e}");
    }

    #[test]
    fn env_overrides_file() {
        let env = vec![
            ("HOOKD_KAFKA__TOPIC".to_string(), "other".to_string()),
            (
                "HOOKD_SERVER__ADMIN_TOKEN".to_string(),
                "12345678".to_string(),
            ),
            ("HOOKD_KAFKA__LINGER_MS".to_string(), "7".to_string()),
            ("HOOKD_LOG".to_string(), "debug".to_string()),
        ];
        let c = Config::from_toml_with_env(MIN, env).unwrap();
        assert_eq!(c.kafka.topic, "other");
        assert_eq!(c.server.admin_token, "12345678");
        assert_eq!(c.kafka.linger_ms, 7);
    }

    #[test]
    fn cert_without_key_is_rejected() {
        let e = Config::from_toml(&MIN.replace(
            "admin_token",
            "tls_listen = \"127.0.0.1:0\"\ntls_cert = \"/x.pem\"\nadmin_token",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("server.tls_key"), "{e}");
    }

    #[test]
    fn shipped_configs_parse() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/hookd.toml");
        let c = Config::load(Some(&p), std::iter::empty()).unwrap();
        assert_eq!(c.kafka.brokers, "embedded");
        assert_eq!(c.webhooks.len(), 1);
    }
}
