//! Configuration: embedded defaults → TOML file → `HOOKD_…` environment overrides, then validation.
//!
//! Every field is documented in `config/hookd.toml`. Unknown keys are errors (a typo must not be
//! silently ignored), and every validation error names the offending field.

mod env;
mod identity;
mod kafka;
mod limits;
mod log;
mod sensitive;
mod server;
mod sink;
mod verify;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::model::WebhookConfig;
pub use identity::{ApplicationKey, KeyRole};
pub use kafka::KafkaConfig;
pub use log::{LogConfig, LogFormat};
pub use sensitive::Sensitive;
pub use server::{parse_addr, Role, ServerConfig};
pub use sink::{ConductorConfig, SinkConfig};
pub use verify::{PluginsConfig, VerifyConfig};

/// Every topic hookd uses, by role (see [`Config::topics`]).
#[derive(Clone, Debug)]
pub struct Topics {
    /// Events: one record per verified request.
    pub events: String,
    /// Webhook definitions shared between instances (compacted).
    pub config: String,
    /// The sink's idempotency records (compacted, co-partitioned with `events`).
    pub starts: String,
    /// The sink's wait index (compacted).
    pub waits: String,
    /// Execution history.
    pub history: String,
    /// Dead letters.
    pub dlq: String,
}

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
    /// The TOML does not parse or does not fit the schema (the message names the file, and the
    /// line where TOML knows it).
    #[error("invalid config: {0}")]
    Parse(String),
    /// An environment override does not fit the schema or is invalid.
    #[error("invalid config: environment variable {var}: {message}")]
    Env {
        /// The variable, e.g. `HOOKD_SERVER__MAX_BODY_BYTES`.
        var: String,
        /// What is wrong with its value.
        message: String,
    },
    /// A field has an invalid value.
    #[error("invalid config: {field}: {message}")]
    Invalid {
        /// Dotted path of the field, e.g. `server.tls_key`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
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
    #[serde(default)]
    pub server: ServerConfig,
    /// Log format and level.
    #[serde(default)]
    pub log: LogConfig,
    /// Kafka connection, topics and producer settings.
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Verification defaults.
    #[serde(default)]
    pub verify: VerifyConfig,
    /// The sink stage (consumes the events topic, acts on Conductor).
    #[serde(default)]
    pub sink: SinkConfig,
    /// The Conductor server the sink acts on (no `url`: dry-run).
    #[serde(default)]
    pub conductor: ConductorConfig,
    /// Static webhook definitions (same fields as the admin API's JSON model).
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// WebAssembly verifier plugins (`WASM_PLUGIN` webhooks).
    #[serde(default)]
    pub plugins: PluginsConfig,
}

impl Config {
    /// Loads `path` (if given; without it the built-in defaults), applies `HOOKD_…` overrides
    /// from `env`, and validates.
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
        Self::parse(&text, path, env)
    }

    /// Parses TOML text, applies overrides, validates.
    pub fn from_toml_with_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::parse(text, None, env)
    }

    /// Parses `text` (read from `file`, named in errors), applies overrides, validates. Errors
    /// name the file and line (TOML syntax and schema errors of the file), the environment
    /// variable (errors in an override), or the field (validation).
    fn parse(
        text: &str,
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let origin = match file {
            Some(p) => p.display().to_string(),
            None if text.is_empty() => "built-in defaults (no --config file)".into(),
            None => "config".into(),
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse(format!("{origin}: {e}")))?;
        let applied = env::apply_env(&mut table, env)?;
        let cfg: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(
            |e: serde_path_to_error::Error<toml::de::Error>| {
                let path = e.path().to_string();
                let message = e.inner().message().to_string();
                if let Some(var) = env::variable_for(&applied, &path).or_else(|| {
                    // An unknown key set from the environment: the error is reported on the
                    // table holding it.
                    applied.iter().find_map(|(key, var)| {
                        let (table, last) = key.rsplit_once('.')?;
                        (table == path && message.contains(&format!("`{last}`")))
                            .then_some(var.as_str())
                    })
                }) {
                    return ConfigError::Env {
                        var: var.to_string(),
                        message: format!("{path}: {message}"),
                    };
                }
                // The file's own error, with its line, when the file alone shows it.
                match toml::from_str::<Config>(text) {
                    Err(spanned) if path.is_empty() || path == "." => {
                        ConfigError::Parse(format!("{origin}: {spanned}"))
                    }
                    Err(spanned) => ConfigError::Parse(format!("{origin}: {path}: {spanned}")),
                    Ok(_) => ConfigError::Parse(format!("{origin}: {path}: {message}")),
                }
            },
        )?;
        cfg.validate().map_err(|e| match e {
            ConfigError::Invalid { field, message } => match env::variable_for(&applied, &field) {
                Some(var) => ConfigError::Env {
                    var: var.to_string(),
                    message: format!("{field}: {message}"),
                },
                None => ConfigError::Invalid { field, message },
            },
            other => other,
        })?;
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
        if s.listen.is_empty() && s.tls_listen.is_none() && s.role.ingest() {
            return Err(invalid(
                "server.listen",
                "no provider-facing listener: set listen or tls_listen",
            ));
        }
        parse_addr("server.admin_listen", &s.admin_listen)?;
        if s.admin_token.is_empty() {
            return Err(invalid(
                "server.admin_token",
                "not set: give a config file (--config FILE or HOOKD_CONFIG) with [server] \
                 admin_token, or set HOOKD_SERVER__ADMIN_TOKEN (every other setting has a default)",
            ));
        }
        if let Some(u) = &s.public_url {
            server::check_public_url(u)?;
        }
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
        if s.metrics_token.as_ref().is_some_and(|t| t.trim().len() < 8) {
            return Err(invalid(
                "server.metrics_token",
                "must be at least 8 characters (or unset)",
            ));
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
        identity::validate(s)?;
        if s.h3_max_streams == 0 || s.h3_max_streams > 10_000 {
            return Err(invalid(
                "server.h3_max_streams",
                "must be between 1 and 10000",
            ));
        }
        s.validate_limits()?;
        let k = &self.kafka;
        if k.brokers.trim().is_empty() {
            return Err(invalid(
                "kafka.brokers",
                "must be \"embedded\" or host:port,…",
            ));
        }
        if k.topic.is_empty() || !k.topic.chars().all(kafka::valid_topic_char) {
            return Err(invalid("kafka.topic", "must be a valid Kafka topic name"));
        }
        if let Some(t) = &k.config_topic {
            if t.is_empty() || !t.chars().all(kafka::valid_topic_char) || *t == k.topic {
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
        if k.unready_after_ms < k.ack_timeout_ms {
            return Err(invalid(
                "kafka.unready_after_ms",
                "must be at least kafka.ack_timeout_ms",
            ));
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
        if p.log_lines_per_second > 10_000 {
            return Err(invalid(
                "plugins.log_lines_per_second",
                "must be at most 10000",
            ));
        }
        if tracing_subscriber::EnvFilter::builder()
            .parse(&self.log.level)
            .is_err()
        {
            return Err(invalid(
                "log.level",
                "must be a level (error, warn, info, debug, trace) or a filter like info,hookd::sink=debug",
            ));
        }
        if self.log.warn_burst > 0 && self.log.warn_window_secs == 0 {
            return Err(invalid(
                "log.warn_window_secs",
                "must be at least 1 when log.warn_burst is set",
            ));
        }
        // Static webhooks: their fields here; their verifiers (keys, plugin names) when the
        // daemon builds its registry (`webhook::Registry`), or by `hookd check-config`.
        let mut ids = std::collections::HashSet::new();
        for (i, w) in self.webhooks.iter().enumerate() {
            let field = format!("webhooks[{i}]");
            let Some(id) = w.id.as_deref().filter(|s| !s.is_empty()) else {
                return Err(invalid(format!("{field}.id"), "static webhooks need an id"));
            };
            if !ids.insert(id.to_string()) {
                return Err(invalid(format!("{field}.id"), "duplicate id"));
            }
            w.validate_fields()
                .and_then(|()| w.check_no_masks())
                .map_err(|e| invalid(field.clone(), e.to_string()))?;
        }
        Ok(())
    }

    /// Every topic name hookd uses.
    pub fn topics(&self) -> Topics {
        Topics {
            events: self.kafka.topic.clone(),
            config: self.config_topic(),
            starts: self.derived_topic("starts"),
            waits: self.derived_topic("waits"),
            history: self.derived_topic("history"),
            dlq: self
                .sink
                .dlq_topic
                .clone()
                .unwrap_or_else(|| self.derived_topic("dlq")),
        }
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
    fn public_url_is_checked() {
        let with = |u: &str| {
            Config::from_toml(&MIN.replace(
                "admin_token = \"secret-token\"",
                &format!("admin_token = \"secret-token\"\npublic_url = \"{u}\""),
            ))
        };
        for ok in [
            "https://hooks.example.com",
            "http://10.0.0.1:8080/",
            "https://lb/hooks",
        ] {
            let c = with(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(c.server.public_url.as_deref(), Some(ok));
        }
        for bad in [
            "hooks.example.com",
            "ftp://x",
            "https://x/?a=1",
            "https://u@x",
            "/webhook",
        ] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("server.public_url"), "{bad}: {e}");
        }
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
