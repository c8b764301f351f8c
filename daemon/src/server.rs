//! Serves an axum `Router` over TCP, plain (HTTP/1.1 + h2c) or TLS (ALPN h2/http1.1), with
//! header limits, timeouts, a connection cap and graceful draining.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::config::ServerConfig;

/// Limits applied to every connection of a listener.
#[derive(Clone, Debug)]
pub struct ConnLimits {
    /// Max request headers.
    pub max_headers: usize,
    /// Max request head bytes.
    pub max_header_bytes: usize,
    /// Header read (and keep-alive idle) timeout.
    pub header_read_timeout: Duration,
    /// Max concurrent connections.
    pub max_connections: usize,
    /// Drain grace on shutdown.
    pub grace: Duration,
}

impl ConnLimits {
    /// From `[server]`.
    pub fn from_config(s: &ServerConfig) -> Self {
        Self {
            max_headers: s.max_headers,
            max_header_bytes: s.max_header_bytes,
            header_read_timeout: Duration::from_millis(s.header_read_timeout_ms),
            max_connections: s.max_connections,
            grace: Duration::from_millis(s.shutdown_grace_ms),
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

/// Accepts connections on `listener` until `shutdown` turns true, then drains open connections
/// (in-flight requests finish, including their Kafka acknowledgement) for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: ConnLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(builder(&limits));
    let graceful = GracefulShutdown::new();
    let conns = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.changed() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = conns.clone().try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing new connection");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // The peer's address reaches handlers as `ConnectInfo` (logged as `client`).
        let svc = TowerToHyperService::new(tower::ServiceExt::map_request(
            app.clone(),
            move |mut r: http::Request<hyper::body::Incoming>| {
                r.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                r
            },
        ));
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let handshake_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let res = match tls {
                None => {
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                        .into_owned();
                    watcher.watch(conn).await
                }
                Some(acc) => {
                    let io = match tokio::time::timeout(handshake_timeout, acc.accept(stream)).await
                    {
                        Ok(Ok(io)) => io,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(io), svc)
                        .into_owned();
                    watcher.watch(conn).await
                }
            };
            if let Err(e) = res {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
}
