//! `[server]`: listeners, limits, timeouts, the admin token, the instance's role.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{invalid, limits, ConfigError, Sensitive};

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
    /// No usable default: validation refuses an empty one.
    #[serde(default)]
    pub admin_token: Sensitive,
    /// Token for `GET /metrics` (`Authorization: Bearer <token>`); unset: `/metrics` is open.
    #[serde(default)]
    pub metrics_token: Option<Sensitive>,
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
    /// On shutdown, how long `/readyz` answers 503 while every listener still serves, before
    /// the listeners close (lets load balancers notice), ms.
    #[serde(default = "d_drain_delay")]
    pub drain_delay_ms: u64,
    /// How often `tls_cert`/`tls_key` are checked for changes (renewals), ms; 0: only on SIGHUP.
    #[serde(default = "d_tls_reload")]
    pub tls_reload_interval_ms: u64,
    /// What this instance runs: `both` (default), `ingest` (listeners only) or `sink` (no
    /// provider-facing listeners). The `--role` flag overrides it.
    #[serde(default)]
    pub role: Role,
    /// Name recorded as `createdBy` for webhooks created through the admin API.
    #[serde(default = "d_admin_principal")]
    pub admin_principal: String,
    /// The base URL providers use to reach this deployment's provider-facing listener (e.g. the
    /// load balancer's `https://hooks.example.com`): the console shows `<public_url>/webhook/{id}`,
    /// and verifier plugins get it as the base of the request's URL (`plugin::origin`).
    /// Unset: the console shows the listener's own address, with a hint to set this.
    #[serde(default)]
    pub public_url: Option<String>,
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
    /// An HTTP/2 or HTTP/3 connection with no open request for this long is closed, even if
    /// it answers PINGs, ms.
    #[serde(default = "limits::d_idle_timeout")]
    pub idle_timeout_ms: u64,
    /// Connections one client address may hold open on one listener.
    #[serde(default = "limits::d_max_conns_per_client")]
    pub max_connections_per_client: usize,
    /// Concurrent connections on the admin listener (its own limit: provider traffic never
    /// locks out `/healthz` or `/metrics`).
    #[serde(default = "limits::d_admin_max_conns")]
    pub admin_max_connections: usize,
    /// Once `min_body_rate_grace_ms` has passed, a request body must keep arriving at this
    /// average rate, bytes/s, or it is cut off with 408 (0: no minimum rate).
    #[serde(default = "limits::d_min_body_rate")]
    pub min_body_rate_bytes_per_sec: u64,
    /// Time a body may take before the minimum rate applies, ms.
    #[serde(default = "limits::d_min_body_rate_grace")]
    pub min_body_rate_grace_ms: u64,
    /// Percent of the in-flight budget (`kafka.max_inflight_events` and `max_inflight_bytes`)
    /// one webhook may hold (at least one maximum-size body).
    #[serde(default = "limits::d_webhook_share")]
    pub webhook_share_percent: u8,
    /// Percent of the in-flight budget one client address may hold.
    #[serde(default = "limits::d_client_share")]
    pub client_share_percent: u8,
    /// Percent of the in-flight budget one connection may hold.
    #[serde(default = "limits::d_connection_share")]
    pub connection_share_percent: u8,
    /// Requests per second one client address may send to the provider listeners (0: no
    /// limit); over it: 429 with `Retry-After`.
    #[serde(default)]
    pub client_rate_limit_per_sec: u32,
    /// Burst of the per-client rate limit (0: equal to `client_rate_limit_per_sec`).
    #[serde(default)]
    pub client_rate_limit_burst: u32,
    /// Most client addresses whose rate-limit state is kept; beyond it, new addresses share
    /// one bucket until idle ones are pruned.
    #[serde(default = "limits::d_max_tracked_clients")]
    pub max_tracked_clients: usize,
    /// Peers (CIDRs or addresses) whose `Forwarded` / `X-Forwarded-For` headers and PROXY
    /// protocol headers are believed; the client address is the right-most untrusted hop.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Every connection to `listen` and `tls_listen` starts with a PROXY protocol v1 or v2
    /// header (HAProxy, AWS NLB); connections without one are closed.
    #[serde(default)]
    pub proxy_protocol: bool,
    /// A verified request identical to one accepted this many seconds ago (same webhook, same
    /// signed content) is answered 200 without being published again (0: off).
    #[serde(default = "limits::d_replay_window")]
    pub replay_window_secs: u64,
    /// Most requests remembered for replay protection (the oldest are forgotten first).
    #[serde(default = "limits::d_replay_max")]
    pub replay_max_entries: usize,
    /// Largest webhook definition the admin API accepts, bytes; larger: 413.
    #[serde(default = "limits::d_max_webhook_config")]
    pub max_webhook_config_bytes: usize,
    /// Keys that seal webhook secrets at rest (base64 of 32 bytes, newest first; also
    /// `HOOKD_SERVER__SECRETS_KEYS`, comma-separated). Empty: secrets are stored in clear.
    #[serde(default, deserialize_with = "super::identity::key_list")]
    pub secrets_keys: Vec<Sensitive>,
    /// Application keys that exchange their secret for a token at `POST /api/token`.
    #[serde(default)]
    pub application_keys: Vec<super::identity::ApplicationKey>,
    /// Lifetime of the tokens issued at `POST /api/token`, seconds.
    #[serde(default = "d_token_ttl")]
    pub token_ttl_secs: u64,
    /// Secret that signs tokens (at least 32 characters); unset: derived from `secrets_keys`.
    #[serde(default)]
    pub token_secret: Option<Sensitive>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        toml::from_str("").expect("server defaults")
    }
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

/// Checks `server.public_url`: an absolute `http(s)://host[:port][/path]` URL without query or
/// fragment.
pub fn check_public_url(url: &str) -> Result<(), ConfigError> {
    let field = "server.public_url";
    let uri: http::Uri = url
        .parse()
        .map_err(|_| invalid(field, format!("`{url}` is not a URL")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none_or(str::is_empty) {
        return Err(invalid(
            field,
            format!("`{url}` must be an absolute http:// or https:// URL with a host"),
        ));
    }
    if uri.query().is_some() || url.contains('#') || url.contains('@') {
        return Err(invalid(
            field,
            "must not have a query, a fragment or user info",
        ));
    }
    Ok(())
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
    /// The name as written in the config (`both`, `ingest`, `sink`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Both => "both",
            Role::Ingest => "ingest",
            Role::Sink => "sink",
        }
    }
    /// Runs the provider-facing listeners.
    pub fn ingest(self) -> bool {
        matches!(self, Role::Both | Role::Ingest)
    }
    /// Runs the sink stage.
    pub fn sink(self) -> bool {
        matches!(self, Role::Both | Role::Sink)
    }
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
fn d_drain_delay() -> u64 {
    5_000
}
fn d_tls_reload() -> u64 {
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
fn d_token_ttl() -> u64 {
    3600
}
