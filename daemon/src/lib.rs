//! hookd: verify provider webhooks, publish them durably to Kafka, act on Conductor.
//!
//! The library exposes [`Daemon::start`] (used in-process by the tests on `127.0.0.1:0`) and
//! [`run`] (used by the thin binary). [`app`] is the provider-facing router, identical on every
//! listener.

pub mod admin;
pub mod config;
pub mod error;
pub mod event;
pub mod ingress;
pub mod kafka;
pub mod metrics;
pub mod model;
pub mod payload;
pub mod server;
pub mod store;
pub mod tls;
pub mod verify;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use rdkafka::producer::Producer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::kafka::config_sync::ConfigSync;
use crate::kafka::embedded::EmbeddedKafka;
use crate::kafka::producer::{Budget, EventPublisher};
use crate::store::Registry;

/// Wall clock in epoch milliseconds (injectable for tests with fixed-timestamp vectors).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// Shared state of all handlers.
pub struct AppState {
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
    /// Prometheus handle.
    pub metrics: PrometheusHandle,
    /// Clock.
    pub clock: Clock,
    /// `server.body_read_timeout_ms`.
    pub body_timeout: Duration,
}

impl AppState {
    /// Execution history of a webhook, newest first (filled by the sink stage).
    pub fn history_of(&self, _id: &str) -> Vec<serde_json::Value> {
        Vec::new()
    }
}

/// The provider-facing router: `POST /webhook/{id}`.
pub fn app(state: Arc<AppState>) -> Router {
    ingress::routes().with_state(state)
}

/// Startup failure.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Kafka could not be set up.
    #[error("kafka: {0}")]
    Kafka(String),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// TLS material problem.
    #[error("tls: {0}")]
    Tls(String),
    /// State directory or snapshot problem.
    #[error("state: {0}")]
    State(String),
}

/// Options for starting a daemon in-process.
#[derive(Default, Clone)]
pub struct Options {
    /// Replaces the system clock (tests with fixed-timestamp vectors).
    pub clock: Option<Clock>,
}

/// A running daemon.
pub struct Daemon {
    /// Bound address of `server.listen`.
    pub listen_addr: Option<SocketAddr>,
    /// Bound address of `server.tls_listen`.
    pub tls_addr: Option<SocketAddr>,
    /// Bound address of `server.admin_listen`.
    pub admin_addr: SocketAddr,
    /// `bootstrap.servers` in use (the mock cluster's when embedded).
    pub kafka_bootstrap: String,
    /// The certificate served on `tls_listen` (to trust in clients).
    pub tls_cert_path: Option<PathBuf>,
    /// Shared state.
    pub state: Arc<AppState>,
    shutdown_tx: watch::Sender<bool>,
    servers: JoinSet<()>,
    background: JoinSet<()>,
    embedded: Option<EmbeddedKafka>,
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    let a = config::parse_addr("", addr).map_err(|e| StartError::Bind {
        addr: addr.into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    TcpListener::bind(a)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.into(),
            source,
        })
}

impl Daemon {
    /// Starts every listener and background task; returns once listeners are bound.
    pub async fn start(cfg: Config, opts: Options) -> Result<Daemon, StartError> {
        let cfg = Arc::new(cfg);
        let metrics = metrics::install();
        std::fs::create_dir_all(&cfg.server.state_dir)
            .map_err(|e| StartError::State(format!("{}: {e}", cfg.server.state_dir.display())))?;
        let config_topic = cfg.config_topic();

        let (embedded, bootstrap) = if cfg.kafka.brokers == "embedded" {
            let ek = EmbeddedKafka::start(&[
                (cfg.kafka.topic.clone(), cfg.kafka.partitions),
                (config_topic.clone(), 1),
            ])
            .map_err(StartError::Kafka)?;
            let b = ek.bootstrap_servers().to_string();
            tracing::warn!(bootstrap = %b,
                "kafka: using the EMBEDDED in-memory mock cluster: events are NOT durable and vanish on exit; read them with `kcat -b {b} -t {} -C`", cfg.kafka.topic);
            (Some(ek), b)
        } else {
            (None, cfg.kafka.brokers.clone())
        };

        let mut background = JoinSet::new();
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        if embedded.is_none() {
            let (c, b) = (cfg.clone(), bootstrap.clone());
            background.spawn(async move { kafka::ensure_topics(&c, &b).await });
        }

        let registry = Arc::new(
            Registry::new(
                &cfg.webhooks,
                cfg.verify.clone(),
                Some(cfg.server.state_dir.clone()),
            )
            .map_err(StartError::State)?,
        );
        let producer = kafka::event_producer(&cfg, &bootstrap).map_err(StartError::Kafka)?;
        let publisher = EventPublisher::new(producer, &cfg.kafka.topic, cfg.ack_timeout());
        let sync = Arc::new(ConfigSync::new(
            kafka::config_producer(&cfg, &bootstrap).map_err(StartError::Kafka)?,
            config_topic,
            registry.clone(),
        ));
        let consumer = kafka::config_consumer(&cfg, &bootstrap, &registry.instance)
            .map_err(StartError::Kafka)?;
        let (ready_tx, ready_rx) = watch::channel(false);
        background.spawn(sync.clone().run(consumer, ready_tx, shutdown_rx.clone()));
        {
            let h = metrics.clone();
            let mut s = shutdown_rx.clone();
            background.spawn(async move {
                loop {
                    tokio::select! {
                        _ = s.changed() => break,
                        _ = tokio::time::sleep(Duration::from_secs(5)) => h.run_upkeep(),
                    }
                }
            });
        }

        let state = Arc::new(AppState {
            cfg: cfg.clone(),
            registry,
            sync,
            publisher,
            budget: Budget::new(cfg.kafka.max_inflight_events, cfg.kafka.max_inflight_bytes),
            ready: ready_rx,
            metrics,
            clock: opts.clock.unwrap_or_else(system_clock),
            body_timeout: Duration::from_millis(cfg.server.body_read_timeout_ms),
        });

        let limits = server::ConnLimits::from_config(&cfg.server);
        let mut servers = JoinSet::new();
        let mut listen_addr = None;
        if !cfg.server.listen.is_empty() {
            let l = bind(&cfg.server.listen).await?;
            listen_addr = l.local_addr().ok();
            servers.spawn(server::serve(
                l,
                app(state.clone()),
                None,
                limits.clone(),
                shutdown_rx.clone(),
            ));
        }
        let mut tls_addr = None;
        let mut tls_cert_path = None;
        if let Some(t) = &cfg.server.tls_listen {
            let material = tls::load_or_generate(&cfg.server).map_err(StartError::Tls)?;
            let acceptor = tokio_rustls::TlsAcceptor::from(
                tls::tcp_server_config(&material).map_err(StartError::Tls)?,
            );
            let l = bind(t).await?;
            tls_addr = l.local_addr().ok();
            tls_cert_path = Some(material.cert_path.clone());
            servers.spawn(server::serve(
                l,
                app(state.clone()),
                Some(acceptor),
                limits.clone(),
                shutdown_rx.clone(),
            ));
        }
        let admin = bind(&cfg.server.admin_listen).await?;
        let admin_addr = admin.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.server.admin_listen.clone(),
            source,
        })?;
        servers.spawn(server::serve(
            admin,
            admin::routes(state.clone()),
            None,
            limits,
            shutdown_rx,
        ));
        tracing::info!(listen = ?listen_addr, tls = ?tls_addr, admin = %admin_addr, topic = %cfg.kafka.topic,
            "hookd started");
        Ok(Daemon {
            listen_addr,
            tls_addr,
            admin_addr,
            kafka_bootstrap: bootstrap,
            tls_cert_path,
            state,
            shutdown_tx,
            servers,
            background,
            embedded,
        })
    }

    /// The embedded mock cluster, when `brokers = "embedded"`.
    pub fn embedded_kafka(&self) -> Option<&EmbeddedKafka> {
        self.embedded.as_ref()
    }

    /// Waits until the registry has caught up with the config topic (or `timeout` passes).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut r = self.state.ready.clone();
        tokio::time::timeout(timeout, r.wait_for(|v| *v))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Graceful shutdown: stop accepting, drain requests (each answered only after Kafka acked
    /// or refused it), flush the producer, stop background tasks, stop the embedded cluster.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown_tx.send(true);
        while self.servers.join_next().await.is_some() {}
        let p = self.state.publisher.producer().clone();
        let _ = tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(5))).await;
        while self.background.join_next().await.is_some() {}
        drop(self.embedded.take());
        tracing::info!("hookd stopped");
    }
}

/// Runs the daemon until `shutdown` completes, then shuts down gracefully.
pub async fn run(cfg: Config, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let d = Daemon::start(cfg, Options::default()).await?;
    shutdown.await;
    tracing::info!("shutting down");
    d.shutdown().await;
    Ok(())
}
