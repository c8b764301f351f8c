//! Serves an axum `Router` over TCP, plain (HTTP/1.1 + h2c) or TLS (ALPN h2/http1.1), with
//! header limits, timeouts from accept, connection caps (per listener and per client address),
//! optional PROXY protocol headers, and graceful draining. What happens on one connection is in
//! `crate::conn`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::client_addr::ClientResolver;
use crate::config::ServerConfig;
use crate::conn::{self, Activity, ClientConns, ConnInfo, Lifetime};
use crate::metrics::CONNECTIONS_CLOSED_TOTAL;
use crate::proxy_protocol::{self, Source};

/// Limits applied to every connection of a listener.
#[derive(Clone, Debug)]
pub struct ConnLimits {
    /// Max request headers.
    pub max_headers: usize,
    /// Max request head bytes.
    pub max_header_bytes: usize,
    /// Time from accept (or the previous response) to a complete request head; bounds the
    /// PROXY header and the TLS handshake too.
    pub header_read_timeout: Duration,
    /// HTTP/2 connection without open streams: closed after this long.
    pub idle_timeout: Duration,
    /// Max concurrent connections.
    pub max_connections: usize,
    /// Max concurrent connections per client address.
    pub max_connections_per_client: usize,
    /// Connections start with a PROXY protocol header.
    pub proxy_protocol: bool,
    /// Drain grace on shutdown.
    pub grace: Duration,
    /// Metrics label (`provider`, `admin`).
    pub listener: &'static str,
}

impl ConnLimits {
    /// The provider-facing listeners', from `[server]`.
    pub fn from_config(s: &ServerConfig) -> Self {
        Self {
            max_headers: s.max_headers,
            max_header_bytes: s.max_header_bytes,
            header_read_timeout: Duration::from_millis(s.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(s.idle_timeout_ms),
            max_connections: s.max_connections,
            max_connections_per_client: s.max_connections_per_client,
            proxy_protocol: s.proxy_protocol,
            grace: Duration::from_millis(s.shutdown_grace_ms),
            listener: "provider",
        }
    }

    /// The admin listener's: its own connection limit, no PROXY protocol.
    pub fn admin(s: &ServerConfig) -> Self {
        Self {
            max_connections: s.admin_max_connections,
            proxy_protocol: false,
            listener: "admin",
            ..Self::from_config(s)
        }
    }
}

fn builder(l: &ConnLimits) -> Builder<TokioExecutor> {
    let mut b = Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(l.header_read_timeout)
        .max_headers(l.max_headers)
        .max_buf_size(l.max_header_bytes.max(8192))
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(l.max_header_bytes as u32)
        .max_concurrent_streams(256)
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    b
}

fn closed(limits: &ConnLimits, reason: &'static str) {
    metrics::counter!(CONNECTIONS_CLOSED_TOTAL, "listener" => limits.listener, "reason" => reason)
        .increment(1);
}

/// Accepts connections on `listener` until `shutdown` turns true, then drains open connections
/// (in-flight requests finish, including their Kafka acknowledgement) for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: ConnLimits,
    proxies: ClientResolver,
    mut shutdown: watch::Receiver<bool>,
) {
    let shared = Arc::new(Shared {
        builder: builder(&limits),
        app,
        tls,
        proxies,
        per_client: ClientConns::new(limits.max_connections_per_client),
        limits,
    });
    let conns = Arc::new(Semaphore::new(shared.limits.max_connections));
    let mut tasks = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let accepted = Instant::now();
        let Ok(permit) = conns.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection limit reached; closing new connection");
            closed(&shared.limits, "max_connections");
            drop(stream);
            continue;
        };
        tasks.spawn(connection(
            shared.clone(),
            stream,
            peer,
            accepted,
            permit,
            shutdown.clone(),
        ));
    }
    drop(listener);
    let drain = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(shared.limits.grace, drain).await.is_err() {
        tracing::warn!("shutdown grace period over; closing remaining connections");
        tasks.abort_all();
    }
}

/// What every connection of a listener shares.
struct Shared {
    builder: Builder<TokioExecutor>,
    app: Router,
    tls: Option<TlsAcceptor>,
    proxies: ClientResolver,
    per_client: Arc<ClientConns>,
    limits: ConnLimits,
}

/// One connection: PROXY header, per-client cap, TLS handshake — all within
/// `header_read_timeout` of accept — then HTTP until it ends.
async fn connection(
    sh: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    accepted: Instant,
    _permit: OwnedSemaphorePermit,
    shutdown: watch::Receiver<bool>,
) {
    let l = &sh.limits;
    let deadline = accepted + l.header_read_timeout;
    let addr = if l.proxy_protocol {
        match tokio::time::timeout_at(deadline, proxy_protocol::read_header(&mut stream)).await {
            Ok(Ok(Source::Proxied(a))) if sh.proxies.trusts_proxy_header(peer.ip()) => a,
            Ok(Ok(_)) => peer,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "closing connection");
                closed(l, "proxy_protocol");
                return;
            }
            Err(_) => {
                closed(l, "idle");
                return;
            }
        }
    } else {
        peer
    };
    // A trusted proxy's connections carry many clients (told apart per request): not capped.
    let _client = if sh.proxies.is_trusted(addr.ip()) {
        None
    } else {
        match sh.per_client.try_acquire(addr.ip()) {
            Some(c) => Some(c),
            None => {
                tracing::debug!(client = %addr.ip(), "per-client connection limit reached; closing");
                closed(l, "max_connections_per_client");
                return;
            }
        }
    };
    let _ = stream.set_nodelay(true);
    let info = ConnInfo::new(addr).with_tls(sh.tls.is_some());
    let activity = Activity::new(accepted);
    let lifetime = Lifetime {
        header_timeout: l.header_read_timeout,
        idle_timeout: l.idle_timeout,
        listener: l.listener,
    };
    let app = sh.app.clone();
    match &sh.tls {
        None => conn::serve(&sh.builder, stream, app, info, activity, lifetime, shutdown).await,
        Some(acc) => {
            let io = match tokio::time::timeout_at(deadline, acc.accept(stream)).await {
                Ok(Ok(io)) => io,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "tls handshake failed");
                    closed(l, "tls_handshake");
                    return;
                }
                Err(_) => {
                    closed(l, "idle");
                    return;
                }
            };
            conn::serve(&sh.builder, io, app, info, activity, lifetime, shutdown).await;
        }
    }
}
