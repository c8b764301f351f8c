//! Wiring: builds every part of a running daemon from the configuration and the runtime handles
//! (Kafka clients, plugin host, registry), starts listeners and background tasks, and shuts
//! them down in order.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::admission::Budget;
use crate::client_addr::ClientResolver;
use crate::clock::{self, system_clock, Clock};
use crate::config::Config;
pub use crate::error::StartError;
use crate::kafka::embedded::EmbeddedKafka;
use crate::kafka::producer::EventPublisher;
use crate::plugin::PluginLink;
use crate::reload::{Reloaded, Reloader};
pub(crate) use crate::state::AppState;
use crate::webhook::{ConfigSync, Registry, SpecBuilder};
use crate::{admin, admission, body, console, h3, ingress, kafka, metrics, plugin};
use crate::{ratelimit, replay, seal, server, sink, tls};

/// The provider-facing router: `POST /webhook/{id}`.
pub fn app(state: Arc<AppState>) -> Router {
    ingress::routes().with_state(state)
}

/// Options for starting a daemon in-process.
#[derive(Default, Clone)]
pub struct Options {
    /// Replaces the system clock (tests with fixed-timestamp vectors).
    pub clock: Option<Clock>,
    /// The config file `cfg` was loaded from: reloads re-read its `[[webhooks]]`.
    pub config_path: Option<PathBuf>,
}

/// A running daemon.
pub struct Daemon {
    /// Bound address of `server.listen`.
    pub listen_addr: Option<SocketAddr>,
    /// Bound address of `server.tls_listen`.
    pub tls_addr: Option<SocketAddr>,
    /// Bound UDP address of the HTTP/3 listener (`server.h3_listen`, default the TLS port).
    pub h3_addr: Option<SocketAddr>,
    /// Bound address of `server.admin_listen`.
    pub admin_addr: SocketAddr,
    /// `bootstrap.servers` in use (the mock cluster's when embedded).
    pub kafka_bootstrap: String,
    /// The certificate served on `tls_listen` (to trust in clients).
    pub tls_cert_path: Option<PathBuf>,
    /// Shared state.
    pub(crate) state: Arc<AppState>,
    shutdown_tx: watch::Sender<bool>,
    servers: JoinSet<()>,
    background: JoinSet<()>,
    sink_stop: Arc<std::sync::atomic::AtomicBool>,
    sink_thread: Option<std::thread::JoinHandle<()>>,
    embedded: Option<EmbeddedKafka>,
    reloader: Arc<Reloader>,
}

async fn bind(addr: &str) -> Result<TcpListener, StartError> {
    let a = crate::config::parse_addr("", addr).map_err(|e| StartError::Bind {
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
            let ek = EmbeddedKafka::start(&kafka::topic_plan(&cfg)).map_err(StartError::Kafka)?;
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
            let (c, b, stop) = (cfg.clone(), bootstrap.clone(), shutdown_rx.clone());
            background.spawn(async move { kafka::ensure_topics(&c, &b, stop).await });
        }

        let plugins = match cfg.plugins.dir {
            Some(_) => {
                let c = cfg.plugins.clone();
                let host = tokio::task::spawn_blocking(move || plugin::PluginHost::start(&c))
                    .await
                    .map_err(|e| StartError::State(format!("plugin host: {e}")))??;
                Some(host)
            }
            None => None,
        };
        let builder = SpecBuilder {
            defaults: cfg.verify.clone(),
            plugins: match &plugins {
                Some(h) => PluginLink::Host(h.clone()),
                None => PluginLink::Off,
            },
        };
        let keyring =
            Arc::new(seal::Keyring::new(&cfg.server.secrets_keys).map_err(StartError::State)?);
        if keyring.is_empty() {
            tracing::warn!(topic = %config_topic, state_file = %cfg.server.state_dir.join("webhooks.json").display(),
                "NO server.secrets_keys (HOOKD_SERVER__SECRETS_KEYS): webhook secrets are stored IN CLEAR in the config topic and the state file; anyone who can read either can forge every webhook");
        } else {
            tracing::info!(keys = ?keyring.ids(), "webhook secrets are sealed at rest (newest key first)");
        }
        let auth = crate::auth::Authenticator::new(&cfg.server, &keyring);
        let registry = Arc::new(
            Registry::new(
                &cfg.webhooks,
                builder,
                keyring,
                Some(cfg.server.state_dir.clone()),
            )
            .map_err(StartError::State)?,
        );
        if let Some(h) = &plugins {
            // A plugin file removed while webhooks use it stays loaded (plugin/mod.rs).
            let reg = Arc::downgrade(&registry);
            h.set_users(Box::new(move |name| {
                reg.upgrade()
                    .map(|r| crate::webhook::webhooks_using_plugin(&r, name))
                    .unwrap_or_default()
            }));
        }
        let producer = kafka::event_producer(&cfg, &bootstrap).map_err(StartError::Kafka)?;
        let publisher = EventPublisher::new(producer, &cfg.kafka.topic, cfg.ack_timeout());
        let sync = Arc::new(ConfigSync::new(
            kafka::config_writer(&cfg, &bootstrap).map_err(StartError::Kafka)?,
            config_topic,
            registry.clone(),
        ));
        let consumer =
            kafka::tail::consumer(&cfg, &bootstrap, "config").map_err(StartError::Kafka)?;
        let (ready_tx, ready_rx) = watch::channel(false);
        let history = Arc::new(sink::history::History::new(cfg.sink.history_size));
        let (removed_tx, removed_rx) = tokio::sync::mpsc::channel(1024);
        {
            // A deleted webhook's history goes with it, on every instance (each applies the
            // delete from the config topic).
            // The sink (when this instance runs one) also tombstones its records and marks the
            // history topic (`sink::runtime`).
            let h = history.clone();
            registry.on_removed(Box::new(move |id| {
                let generation = h.forget(id);
                let _ = removed_tx.try_send((id.to_string(), generation));
            }));
        }
        {
            let consumer =
                kafka::tail::consumer(&cfg, &bootstrap, "history").map_err(StartError::Kafka)?;
            let (h, topic, stop) = (
                history.clone(),
                cfg.derived_topic("history"),
                shutdown_rx.clone(),
            );
            let (caught, _) = watch::channel(false);
            background.spawn(async move {
                kafka::tail::run(consumer, &topic, h.as_ref(), caught, stop).await;
            });
        }
        background.spawn(sync.clone().run(consumer, ready_tx, shutdown_rx.clone()));
        {
            // a producer that failed fatally is replaced (`EventPublisher::replace_if_fatal`)
            let (publisher, cfg, bootstrap) = (publisher.clone(), cfg.clone(), bootstrap.clone());
            background.spawn(clock::every(
                Duration::from_secs(1),
                shutdown_rx.clone(),
                move || {
                    publisher.replace_if_fatal(|| kafka::event_producer(&cfg, &bootstrap));
                },
            ));
        }
        {
            let h = metrics.clone();
            background.spawn(clock::every(
                Duration::from_secs(5),
                shutdown_rx.clone(),
                move || {
                    h.run_upkeep();
                    metrics::collect_process();
                },
            ));
        }

        let state = Arc::new(AppState {
            cfg: cfg.clone(),
            registry,
            sync,
            publisher,
            budget: Budget::new(admission::Sizes::from_config(&cfg)),
            ready: ready_rx,
            draining: Arc::default(),
            metrics,
            clock: opts.clock.unwrap_or_else(system_clock),
            body_rules: body::BodyRules::from_config(&cfg.server),
            clients: ClientResolver::new(cfg.server.trusted_proxy_nets()),
            client_limiter: ratelimit::ClientLimiter::new(
                cfg.server.client_rate_limit_per_sec,
                cfg.server.client_rate_limit_burst,
                cfg.server.max_tracked_clients,
            ),
            replay: replay::ReplayGuard::new(
                Duration::from_secs(cfg.server.replay_window_secs),
                cfg.server.replay_max_entries,
            ),
            history: history.clone(),
            plugins,
            auth,
        });
        let sink_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut sink_thread = None;
        if cfg.server.role.sink() {
            sink_thread = Some(
                sink::runtime::start(
                    &cfg,
                    &bootstrap,
                    sink::runtime::Handles {
                        registry: state.registry.clone(),
                        history: history.clone(),
                        removed: removed_rx,
                        clock: state.clock.clone(),
                        ready: state.ready.clone(),
                    },
                    sink_stop.clone(),
                    &mut background,
                    shutdown_rx.clone(),
                )
                .map_err(StartError::Kafka)?,
            );
        }

        metrics::init_series(&metrics::Series {
            ingest: cfg.server.role.ingest(),
            sink: cfg.server.role.sink(),
            protocols: match (cfg.server.tls_listen.is_some(), cfg.server.h3_address()) {
                (true, Some(_)) => vec!["h1", "h2", "h3"],
                _ => vec!["h1", "h2"],
            },
            webhooks: state
                .registry
                .list()
                .iter()
                .map(|e| (e.id().to_string(), e.spec.verifier.kind()))
                .collect(),
            plugins: state
                .plugins
                .as_ref()
                .map(|h| h.names())
                .unwrap_or_default(),
            sink_actions: sink::process::ACTIONS,
            conductor_ops: sink::conductor::OPS,
        });
        let limits = server::ConnLimits::from_config(&cfg.server);
        let mut servers = JoinSet::new();
        // TLS first: HTTP/3 binds next to it (by default the same port over UDP), and the TCP
        // listeners advertise the HTTP/3 port with Alt-Svc.
        let mut tls_addr = None;
        let mut tls_cert_path = None;
        let mut h3_addr = None;
        let mut tls_listener = None;
        let mut certs = None;
        if let Some(t) = cfg
            .server
            .tls_listen
            .as_ref()
            .filter(|_| cfg.server.role.ingest())
        {
            let material = tls::load_or_generate(&cfg.server).map_err(StartError::Tls)?;
            let store = tls::CertStore::new(&material).map_err(StartError::Tls)?;
            let acceptor = tokio_rustls::TlsAcceptor::from(
                tls::tcp_server_config(store.clone()).map_err(StartError::Tls)?,
            );
            if cfg.server.tls_reload_interval_ms > 0 {
                background.spawn(tls::watch(
                    store.clone(),
                    Duration::from_millis(cfg.server.tls_reload_interval_ms),
                    shutdown_rx.clone(),
                ));
            }
            certs = Some(store.clone());
            let l = bind(t).await?;
            let bound = l.local_addr().map_err(|source| StartError::Bind {
                addr: t.clone(),
                source,
            })?;
            tls_addr = Some(bound);
            tls_cert_path = Some(material.cert_path.clone());
            if let Some(endpoint) = h3::listen(&cfg, bound, store)? {
                h3_addr = endpoint.local_addr().ok();
                servers.spawn(h3::serve(
                    endpoint,
                    app(state.clone()),
                    h3::H3Limits::from_config(&cfg),
                    shutdown_rx.clone(),
                ));
            }
            tls_listener = Some((l, acceptor));
        }
        let tcp_app = || match h3_addr {
            Some(a) => h3::advertise(app(state.clone()), a.port()),
            None => app(state.clone()),
        };
        let mut listen_addr = None;
        if !cfg.server.listen.is_empty() && cfg.server.role.ingest() {
            let l = bind(&cfg.server.listen).await?;
            listen_addr = l.local_addr().ok();
            servers.spawn(server::serve(
                l,
                tcp_app(),
                None,
                limits.clone(),
                state.clients.clone(),
                shutdown_rx.clone(),
            ));
        }
        if let Some((l, acceptor)) = tls_listener {
            servers.spawn(server::serve(
                l,
                tcp_app(),
                Some(acceptor),
                limits.clone(),
                state.clients.clone(),
                shutdown_rx.clone(),
            ));
        }
        let admin = bind(&cfg.server.admin_listen).await?;
        let admin_addr = admin.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.server.admin_listen.clone(),
            source,
        })?;
        let listeners = console::Listeners {
            plain: listen_addr,
            tls: tls_addr,
        };
        servers.spawn(server::serve(
            admin,
            admin::routes(state.clone()).merge(console::routes(state.clone(), listeners)),
            None,
            server::ConnLimits::admin(&cfg.server),
            ClientResolver::default(),
            shutdown_rx.clone(),
        ));
        let reloader = Arc::new(Reloader {
            plugins: state.plugins.clone(),
            registry: state.registry.clone(),
            certs,
            config_path: opts.config_path.clone(),
        });
        if let Some(task) = crate::reload::on_sighup(reloader.clone(), shutdown_rx) {
            background.spawn(task);
        }
        let shown = |a: Option<SocketAddr>| a.map_or_else(|| "off".to_string(), |a| a.to_string());
        tracing::info!(listen = %shown(listen_addr), tls = %shown(tls_addr), h3 = %shown(h3_addr),
            admin = %admin_addr, topic = %cfg.kafka.topic, role = cfg.server.role.as_str(),
            version = env!("CARGO_PKG_VERSION"), commit = env!("HOOKD_COMMIT"), "hookd started");
        Ok(Daemon {
            listen_addr,
            tls_addr,
            h3_addr,
            admin_addr,
            kafka_bootstrap: bootstrap,
            tls_cert_path,
            state,
            shutdown_tx,
            servers,
            background,
            sink_stop,
            sink_thread,
            embedded,
            reloader,
        })
    }

    /// The embedded mock cluster, when `brokers = "embedded"`.
    pub fn embedded_kafka(&self) -> Option<&EmbeddedKafka> {
        self.embedded.as_ref()
    }

    /// Does what `SIGHUP` does: reloads plugins, the config file's `[[webhooks]]` and the TLS
    /// certificate (see `reload.rs`).
    pub async fn reload(&self) -> Reloaded {
        let r = self.reloader.clone();
        tokio::task::spawn_blocking(move || r.reload("reload"))
            .await
            .unwrap_or_default()
    }

    /// Makes librdkafka fail the events producer fatally, as a broker's out-of-order sequence
    /// would (tests only).
    #[cfg(feature = "testing")]
    pub fn inject_events_producer_fatal_error(&self) {
        self.state.publisher.producer().inject_fatal_error();
    }

    /// Waits until the registry has caught up with the config topic (or `timeout` passes).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut r = self.state.ready.clone();
        tokio::time::timeout(timeout, r.wait_for(|v| *v))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Graceful shutdown: `/readyz` answers 503 at once while every listener keeps serving for
    /// `server.drain_delay_ms` (load balancers take the instance out), then stop accepting,
    /// drain requests (each answered only after Kafka acked or refused it), flush the producer,
    /// stop background tasks, stop the embedded cluster.
    pub async fn shutdown(mut self) {
        self.state
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let delay = Duration::from_millis(self.state.cfg.server.drain_delay_ms);
        if !delay.is_zero() {
            tracing::info!(
                drain_delay_ms = self.state.cfg.server.drain_delay_ms,
                "draining: /readyz answers 503; listeners close after the drain delay"
            );
            tokio::time::sleep(delay).await;
        }
        let _ = self.shutdown_tx.send(true);
        while self.servers.join_next().await.is_some() {}
        self.sink_stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.sink_thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        let p = self.state.publisher.producer();
        let _ = tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(5))).await;
        while self.background.join_next().await.is_some() {}
        drop(self.embedded.take());
        tracing::info!("hookd stopped");
    }
}

/// Runs the daemon until `shutdown` completes, then shuts down gracefully.
pub async fn run(
    cfg: Config,
    opts: Options,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let d = Daemon::start(cfg, opts).await?;
    shutdown.await;
    tracing::info!("shutting down");
    d.shutdown().await;
    Ok(())
}
