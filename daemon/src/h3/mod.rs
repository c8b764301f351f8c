//! HTTP/3 ingress over QUIC (quinn + h3): the same [`crate::app`] router as on TCP.
//!
//! Each request stream becomes an `http::Request<axum::body::Body>` whose body streams from the
//! QUIC stream (so the ingress body limit answers 413 without buffering the whole body), and is
//! handed to the router with `tower::ServiceExt::oneshot`. There is no second request path.
//!
//! Limits: `max_connections` per listener and `max_connections_per_client` per validated client
//! address (further connections are refused), `h3_max_streams` concurrent request streams per
//! connection, `header_read_timeout_ms` as the QUIC idle timeout, the handshake timeout, the time
//! to a first request, the time to receive a request's headers and the time to write a
//! response; `idle_timeout_ms` without a request in progress closes a connection even if it
//! answers PINGs; the body timeout and the Kafka wait are the ingress's own. Address validation:
//! while `h3_retry_threshold` or more handshakes are in progress, unvalidated clients get a QUIC
//! Retry first. No 0-RTT (the TLS config refuses early data) and no 0.5-RTT (a connection is
//! used only once its handshake completed).

mod body;
pub mod client;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Endpoint, Incoming, TransportConfig, VarInt};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::Config;
use crate::conn::{ClientConn, ClientConns, ConnInfo};
use crate::tls::CertStore;
use crate::error::StartError;

use crate::metrics::H3_INCOMING_TOTAL as INCOMING_TOTAL;

/// HTTP/3 error code H3_NO_ERROR, used to close connections gracefully.
const H3_NO_ERROR: VarInt = VarInt::from_u32(0x100);

/// Limits of the HTTP/3 listener, from `[server]` (and `kafka.ack_timeout_ms`).
#[derive(Clone, Debug)]
pub struct H3Limits {
    /// Concurrent connections (`max_connections`).
    pub max_connections: usize,
    /// Concurrent request streams per connection (`h3_max_streams`).
    pub max_streams: u32,
    /// Handshakes in progress at or above which unvalidated clients get a Retry.
    pub retry_threshold: usize,
    /// QUIC idle timeout, handshake timeout, header and response-write timeout
    /// (`header_read_timeout_ms`).
    pub idle_timeout: Duration,
    /// Bound on the router's work for one request: body read + Kafka wait + slack.
    pub request_timeout: Duration,
    /// Maximum request headers (`max_headers`; more: 431).
    pub max_headers: usize,
    /// Maximum encoded header section, bytes (`max_header_bytes`; more: 431).
    pub max_header_bytes: usize,
    /// Drain grace on shutdown (`shutdown_grace_ms`).
    pub grace: Duration,
    /// A connection with no request in progress this long is closed, even if it answers
    /// PINGs (`idle_timeout_ms`).
    pub idle_close: Duration,
    /// Connections per client address (`max_connections_per_client`).
    pub max_per_client: usize,
}

impl H3Limits {
    /// From the configuration.
    pub fn from_config(cfg: &Config) -> Self {
        let s = &cfg.server;
        let idle = Duration::from_millis(s.header_read_timeout_ms);
        Self {
            max_connections: s.max_connections,
            max_streams: s.h3_max_streams,
            retry_threshold: s.h3_retry_threshold,
            idle_timeout: idle,
            request_timeout: Duration::from_millis(s.body_read_timeout_ms)
                + cfg.ack_timeout()
                + idle,
            max_headers: s.max_headers,
            max_header_bytes: s.max_header_bytes,
            grace: Duration::from_millis(s.shutdown_grace_ms),
            idle_close: Duration::from_millis(s.idle_timeout_ms),
            max_per_client: s.max_connections_per_client,
        }
    }
}

/// Binds the QUIC endpoint on `addr` with `tls` (see [`crate::tls::h3_server_config`]).
pub fn bind(
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    limits: &H3Limits,
) -> Result<Endpoint, std::io::Error> {
    let crypto = QuicServerConfig::try_from(tls).map_err(std::io::Error::other)?;
    let mut transport = TransportConfig::default();
    transport
        .max_idle_timeout(Some(
            limits
                .idle_timeout
                .try_into()
                .map_err(std::io::Error::other)?,
        ))
        .max_concurrent_bidi_streams(limits.max_streams.into())
        // the peer's control stream, QPACK encoder and decoder streams, and one spare (grease)
        .max_concurrent_uni_streams(4u32.into())
        .datagram_receive_buffer_size(None);
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(Arc::new(transport));
    Endpoint::server(server, addr)
}

/// Binds the HTTP/3 endpoint when HTTP/3 is on (see
/// [`ServerConfig::h3_address`](crate::config::ServerConfig::h3_address)): on `h3_listen`, or by
/// default on the TLS listener's bound address over UDP. When `tls_listen` asked for an
/// ephemeral port (`:0`) and the same UDP port is taken, another ephemeral port is used.
pub fn listen(
    cfg: &Config,
    tls_addr: SocketAddr,
    certs: Arc<CertStore>,
) -> Result<Option<Endpoint>, StartError> {
    let Some(configured) = cfg.server.h3_address() else {
        return Ok(None);
    };
    let tls = crate::tls::h3_server_config(certs).map_err(StartError::Tls)?;
    let limits = H3Limits::from_config(cfg);
    let bind_err = |addr: String, source| StartError::Bind {
        addr: format!("udp {addr}"),
        source,
    };
    let endpoint = match configured {
        Some(a) => {
            let addr = crate::config::parse_addr("server.h3_listen", a)
                .map_err(|e| bind_err(a.into(), std::io::Error::other(e.to_string())))?;
            bind(addr, tls, &limits).map_err(|e| bind_err(a.into(), e))?
        }
        None => {
            let ephemeral = cfg
                .server
                .tls_listen
                .as_deref()
                .and_then(|t| crate::config::parse_addr("", t).ok())
                .is_some_and(|a| a.port() == 0);
            match bind(tls_addr, tls.clone(), &limits) {
                Ok(e) => e,
                Err(e) if ephemeral && e.kind() == std::io::ErrorKind::AddrInUse => {
                    let any = SocketAddr::new(tls_addr.ip(), 0);
                    bind(any, tls, &limits).map_err(|e| bind_err(any.to_string(), e))?
                }
                Err(e) => return Err(bind_err(tls_addr.to_string(), e)),
            }
        }
    };
    Ok(Some(endpoint))
}

/// A layer for the TCP routers: every response advertises HTTP/3 on `port` with `Alt-Svc`.
pub fn advertise(router: Router, port: u16) -> Router {
    let value = HeaderValue::from_str(&format!("h3=\":{port}\"; ma=86400"))
        .expect("an Alt-Svc value of ASCII digits is a valid header value");
    router.layer(axum::middleware::map_response(move |mut res: Response| {
        let value = value.clone();
        async move {
            res.headers_mut().insert(http::header::ALT_SVC, value);
            res
        }
    }))
}

/// Counts handshakes in progress; decrements when dropped.
struct Handshaking(Arc<AtomicUsize>);

impl Handshaking {
    fn start(n: &Arc<AtomicUsize>) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Self(n.clone())
    }
}

impl Drop for Handshaking {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn count(action: &'static str) {
    metrics::counter!(INCOMING_TOTAL, "action" => action).increment(1);
}

/// Accepts QUIC connections until `shutdown` turns true, then drains: open connections get a
/// GOAWAY, in-flight requests finish (each 2xx only after Kafka acknowledged its event), new
/// connection attempts are refused, all within `limits.grace`; finally waits for the endpoint
/// to be idle so the peers see the connection close.
pub async fn serve(
    endpoint: Endpoint,
    app: Router,
    limits: H3Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let conns = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = ClientConns::new(limits.max_per_client);
    let handshaking = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    loop {
        let incoming = tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            i = endpoint.accept() => match i {
                Some(i) => i,
                None => break,
            },
        };
        if !incoming.remote_address_validated()
            && handshaking.load(Ordering::Relaxed) >= limits.retry_threshold
        {
            count("retry");
            if let Err(e) = incoming.retry() {
                e.into_incoming().refuse();
            }
            continue;
        }
        let Ok(permit) = conns.clone().try_acquire_owned() else {
            tracing::warn!("http/3 connection limit reached; refusing a new connection");
            count("refused");
            incoming.refuse();
            continue;
        };
        // Validated (or below the Retry threshold): a per-client cap on a spoofable source
        // address would let a forger lock a victim out, so only validated addresses count.
        let client = if incoming.remote_address_validated() {
            match per_client.try_acquire(incoming.remote_address().ip()) {
                Some(c) => Some(c),
                None => {
                    count("refused");
                    incoming.refuse();
                    continue;
                }
            }
        } else {
            None
        };
        count("accepted");
        let hs = Handshaking::start(&handshaking);
        tasks.spawn(connection(
            incoming,
            app.clone(),
            limits.clone(),
            (permit, client),
            hs,
            shutdown.clone(),
        ));
    }
    let drain = async {
        loop {
            tokio::select! {
                r = tasks.join_next() => if r.is_none() { break },
                Some(i) = endpoint.accept() => {
                    count("refused");
                    i.refuse();
                }
            }
        }
    };
    let start = tokio::time::Instant::now();
    if tokio::time::timeout(limits.grace, drain).await.is_err() {
        tracing::warn!("shutdown grace period over; closing remaining http/3 connections");
        tasks.abort_all();
        endpoint.close(H3_NO_ERROR, b"shutting down");
    }
    let left = limits
        .grace
        .saturating_sub(start.elapsed())
        .max(Duration::from_secs(1));
    let _ = tokio::time::timeout(left, endpoint.wait_idle()).await;
}

/// One QUIC connection: handshake, then one task per request stream until the peer closes,
/// the connection idles out, or shutdown drains it.
async fn connection(
    incoming: Incoming,
    app: Router,
    limits: H3Limits,
    _permits: (OwnedSemaphorePermit, Option<ClientConn>),
    hs: Handshaking,
    mut shutdown: watch::Receiver<bool>,
) {
    let peer = incoming.remote_address();
    let connecting = match incoming.accept() {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "quic connection failed");
            return;
        }
    };
    // Awaiting the whole handshake: nothing is read before it completed (no 0.5-RTT).
    let conn = match tokio::time::timeout(limits.idle_timeout, connecting).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "quic handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "quic handshake timed out");
            return;
        }
    };
    drop(hs);
    let quic = conn.clone();
    let mut h3 = match ::h3::server::builder()
        .max_field_section_size(limits.max_header_bytes as u64)
        .build::<_, Bytes>(h3_quinn::Connection::new(conn))
        .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "http/3 connection setup failed");
            return;
        }
    };
    let info = ConnInfo::new(peer).with_tls(true);
    let mut requests = JoinSet::new();
    let mut draining = false;
    // No request yet: `header_read_timeout_ms` (the QUIC idle timeout) also bounds the time to
    // a first request; between requests, `idle_timeout_ms`. QUIC PINGs keep the transport's
    // idle timer alive, so requests alone count here.
    let mut idle_since = tokio::time::Instant::now();
    let mut idle_limit = limits.idle_timeout;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(idle_since + idle_limit),
                if requests.is_empty() && !draining =>
            {
                tracing::debug!(%peer, "http/3 connection idle; closing");
                let _ = h3.shutdown(0).await;
                break;
            }
            _ = shutdown.changed(), if !draining => {
                draining = true;
                // GOAWAY: requests already accepted finish, new ones are rejected
                let _ = h3.shutdown(0).await;
                if requests.is_empty() {
                    break;
                }
            }
            Some(_) = requests.join_next(), if !requests.is_empty() => {
                if requests.is_empty() {
                    if draining {
                        break;
                    }
                    idle_since = tokio::time::Instant::now();
                }
            }
            r = h3.accept() => match r {
                Ok(Some(resolver)) => {
                    idle_limit = limits.idle_close;
                    requests.spawn(request(resolver, app.clone(), limits.clone(), info.clone()));
                }
                Ok(None) => break,
                Err(e) => {
                    if !e.is_h3_no_error() {
                        tracing::debug!(%peer, error = %e, "http/3 connection closed");
                    }
                    break;
                }
            }
        }
    }
    while requests.join_next().await.is_some() {}
    // Only the peer knows when it has received the last response; closing right away could
    // discard response data still in flight (a 200 the client would never see). Give it a few
    // round trips to close the connection itself before dropping `h3` closes it.
    let linger = (quic.rtt() * 4).clamp(Duration::from_millis(200), Duration::from_secs(2));
    let _ = tokio::time::timeout(linger, quic.closed()).await;
}

type Resolver = ::h3::server::RequestResolver<h3_quinn::Connection, Bytes>;
type SendHalf = ::h3::server::RequestStream<h3_quinn::SendStream<Bytes>, Bytes>;

/// One request stream: headers, then the shared router, then the response.
async fn request(resolver: Resolver, app: Router, limits: H3Limits, info: ConnInfo) {
    let (req, stream) =
        match tokio::time::timeout(limits.idle_timeout, resolver.resolve_request()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                // h3 already answered (431 for an oversized header section) or reset the stream
                tracing::debug!(error = %e, "http/3 request headers rejected");
                return;
            }
            Err(_) => {
                tracing::debug!("http/3 request headers not received in time");
                return;
            }
        };
    let (mut send, recv) = stream.split();
    if req.headers().len() > limits.max_headers {
        let head = http::Response::builder()
            .status(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
            .body(())
            .expect("static response");
        if send.send_response(head).await.is_ok() {
            let _ = send.finish().await;
        }
        return;
    }
    let (mut parts, ()) = req.into_parts();
    parts.extensions.insert(info);
    let req = http::Request::from_parts(parts, Body::new(body::RequestBody::new(recv)));
    let res = match tokio::time::timeout(limits.request_timeout, app.oneshot(req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(never)) => match never {},
        Err(_) => {
            tracing::warn!("http/3 request not answered in time; cancelling the stream");
            send.stop_stream(::h3::error::Code::H3_REQUEST_CANCELLED);
            return;
        }
    };
    match tokio::time::timeout(limits.idle_timeout, body::write_response(&mut send, res)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "http/3 response not delivered"),
        Err(_) => {
            tracing::debug!("http/3 response not read in time; cancelling the stream");
            send.stop_stream(::h3::error::Code::H3_REQUEST_CANCELLED);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const BASE: &str = r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
admin_token = "secret-token"
"#;

    fn cfg(extra: &str) -> Result<Config, crate::config::ConfigError> {
        Config::from_toml(&BASE.replace("[server]\n", &format!("[server]\n{extra}\n")))
    }

    #[test]
    fn h3_follows_tls_listen_by_default() {
        let c = cfg("tls_listen = \"127.0.0.1:8443\"").unwrap();
        assert_eq!(c.server.h3_address(), Some(None));
        assert_eq!(c.server.h3_max_streams, 256);
        assert_eq!(c.server.h3_retry_threshold, 128);
        let c = cfg("").unwrap();
        assert_eq!(c.server.h3_address(), None, "no TLS, no HTTP/3");
    }

    #[test]
    fn h3_can_be_disabled_or_moved() {
        let c = cfg("tls_listen = \"127.0.0.1:8443\"\nh3_listen = \"\"").unwrap();
        assert_eq!(c.server.h3_address(), None);
        let c = cfg("tls_listen = \"127.0.0.1:8443\"\nh3_listen = \"127.0.0.1:9443\"").unwrap();
        assert_eq!(c.server.h3_address(), Some(Some("127.0.0.1:9443")));
    }

    #[test]
    fn h3_config_errors_name_the_field() {
        let e = cfg("h3_listen = \"127.0.0.1:9443\"").unwrap_err();
        assert!(e.to_string().contains("server.h3_listen"), "{e}");
        let e = cfg("tls_listen = \"127.0.0.1:8443\"\nh3_listen = \"nope\"").unwrap_err();
        assert!(e.to_string().contains("server.h3_listen"), "{e}");
        let e = cfg("h3_max_streams = 0").unwrap_err();
        assert!(e.to_string().contains("server.h3_max_streams"), "{e}");
    }
}
