//! The shared state every HTTP handler (provider routes and admin API) reads: the configuration
//! and the runtime handles the daemon built. Built once by `crate::daemon`.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;

use crate::admission::Budget;
use crate::body::BodyRules;
use crate::client_addr::ClientResolver;
use crate::clock::Clock;
use crate::config::Config;
use crate::kafka::producer::EventPublisher;
use crate::sink::history::History;
use crate::webhook::{ConfigSync, Registry};

/// Shared state of all handlers.
pub(crate) struct AppState {
    /// The validated configuration.
    pub cfg: Arc<Config>,
    /// Webhook registry.
    pub registry: Arc<Registry>,
    /// Config-topic sync.
    pub sync: Arc<ConfigSync>,
    /// Events producer.
    pub publisher: EventPublisher,
    /// In-flight budget.
    pub budget: Budget,
    /// True once the registry caught up with the config topic.
    pub ready: watch::Receiver<bool>,
    /// Set on shutdown: `/readyz` answers 503 while the listeners still serve.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Prometheus handle.
    pub metrics: PrometheusHandle,
    /// Clock.
    pub clock: Clock,
    /// How a request body must arrive (`server.body_read_timeout_ms`, minimum rate).
    pub body_rules: BodyRules,
    /// Client addresses behind trusted proxies (`server.trusted_proxies`).
    pub clients: ClientResolver,
    /// The per-client rate limit (`server.client_rate_limit_per_sec`; `None`: off).
    pub client_limiter: Option<crate::ratelimit::ClientLimiter>,
    /// Replay protection (`server.replay_window_secs`; `None`: off).
    pub replay: Option<Arc<crate::replay::ReplayGuard>>,
    /// Execution history of every webhook (filled by the sink stage, on every instance).
    pub history: Arc<History>,
    /// The WebAssembly verifier plugin host (`[plugins] dir` set).
    pub plugins: Option<Arc<crate::plugin::PluginHost>>,
    /// Admin API credentials: the static token, application keys and their tokens.
    pub auth: crate::auth::Authenticator,
}
