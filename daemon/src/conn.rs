//! One accepted TCP connection, from accept to close: its client address (peer or PROXY
//! header), the per-client connection cap, and its lifetime limits.
//!
//! Lifetime: a connection with no request in progress is closed once it has been idle for
//! `header_read_timeout_ms` since accept or since its previous response ended (no complete
//! request head in time: silent sockets, slow TLS or PROXY headers, abandoned keep-alives), or —
//! once it has carried an HTTP/2 request — for `idle_timeout_ms` with no open stream, whether
//! or not it answers PINGs. Requests in progress are bounded by the ingress (body timeout and
//! minimum rate, Kafka deadline), not here.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::client_addr::client_key;

/// What a handler learns about the connection a request came on (a request extension set by
/// the listeners).
#[derive(Clone, Debug)]
pub struct ConnInfo {
    /// The connection's client address: the TCP or QUIC peer, or the source of its PROXY
    /// header. (A request's client may differ: see `crate::client_addr::ClientResolver`.)
    pub addr: SocketAddr,
    /// What this connection holds of the in-flight budget (`crate::admission`).
    pub usage: Arc<Usage>,
    /// Whether the connection is TLS (a TLS listener, or QUIC): the request's scheme.
    pub tls: bool,
}

impl ConnInfo {
    /// A plain connection from `addr` holding nothing yet.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            usage: Arc::default(),
            tls: false,
        }
    }

    /// This connection, marked TLS or not.
    pub fn with_tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }
}

/// Events and body bytes held by one holder of in-flight budget (a connection, a webhook, a
/// client address).
#[derive(Debug, Default)]
pub struct Usage {
    /// Events (requests) held.
    pub events: AtomicUsize,
    /// Body bytes held.
    pub bytes: AtomicUsize,
}

impl Usage {
    /// Adds `n` to `counter` unless that would pass `cap`.
    pub fn try_add(counter: &AtomicUsize, n: usize, cap: usize) -> bool {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                cur.checked_add(n).filter(|v| *v <= cap)
            })
            .is_ok()
    }

    /// Whether nothing is held.
    pub fn is_zero(&self) -> bool {
        self.events.load(Ordering::Acquire) == 0 && self.bytes.load(Ordering::Acquire) == 0
    }
}

/// Open connections per client address (IPv6 by /64) on one listener; an entry exists only
/// while its client has a connection open, so the map is bounded by `max_connections`.
pub struct ClientConns {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection counted for its client; uncounted when dropped.
pub struct ClientConn {
    conns: Arc<ClientConns>,
    key: IpAddr,
}

impl ClientConns {
    /// At most `max` connections per client.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a connection from `ip`, or `None` when its client is at the cap.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ClientConn> {
        let key = client_key(ip);
        let mut open = self.open.lock().unwrap();
        let n = open.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ClientConn {
            conns: self.clone(),
            key,
        })
    }
}

impl Drop for ClientConn {
    fn drop(&mut self) {
        let mut open = self.conns.open.lock().unwrap();
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Request activity of one connection, for its idle deadlines.
#[derive(Clone)]
pub struct Activity(Arc<ActivityInner>);

struct ActivityInner {
    active: AtomicUsize,
    h2: AtomicBool,
    last: Mutex<Instant>,
    changed: Notify,
}

/// One request in progress; its end (response body sent or dropped) restarts the idle clock.
pub struct Active(Option<Activity>);

impl Activity {
    /// A connection accepted at `since`.
    pub fn new(since: Instant) -> Self {
        Self(Arc::new(ActivityInner {
            active: AtomicUsize::new(0),
            h2: AtomicBool::new(false),
            last: Mutex::new(since),
            changed: Notify::new(),
        }))
    }

    /// A request (of HTTP version `v`) started.
    pub fn start(&self, v: http::Version) -> Active {
        if v == http::Version::HTTP_2 {
            self.0.h2.store(true, Ordering::Relaxed);
        }
        self.0.active.fetch_add(1, Ordering::AcqRel);
        self.0.changed.notify_waiters();
        Active(Some(self.clone()))
    }

    /// Resolves once the connection has had no request in progress for `header_timeout` (or,
    /// after an HTTP/2 request, `idle_timeout`).
    pub async fn idle_expired(&self, header_timeout: Duration, idle_timeout: Duration) {
        loop {
            let changed = self.0.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.0.active.load(Ordering::Acquire) > 0 {
                changed.await;
                continue;
            }
            let limit = if self.0.h2.load(Ordering::Relaxed) {
                idle_timeout
            } else {
                header_timeout
            };
            let deadline = *self.0.last.lock().unwrap() + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {}
                _ = changed => {}
            }
        }
    }
}

impl Active {
    fn end(&mut self) {
        if let Some(a) = self.0.take() {
            *a.0.last.lock().unwrap() = Instant::now();
            a.0.active.fetch_sub(1, Ordering::AcqRel);
            a.0.changed.notify_waiters();
        }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.end();
    }
}

/// A response body that ends its request's [`Active`] when it is finished or dropped.
struct Tracked {
    inner: Body,
    active: Active,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let r = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(r, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.active.end();
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Limits on a connection's lifetime.
#[derive(Clone, Copy, Debug)]
pub struct Lifetime {
    /// No complete request head this long after accept or the previous response: closed.
    pub header_timeout: Duration,
    /// HTTP/2 connection with no open stream this long: closed.
    pub idle_timeout: Duration,
    /// Metrics label of the listener (`provider`, `admin`).
    pub listener: &'static str,
}

/// Serves `app` on `io` until the peer closes, the connection idles out ([`Lifetime`]), or
/// `shutdown` turns true (then in-flight requests finish; the listener bounds the drain).
/// Every request carries `info` as an extension.
pub async fn serve<I>(
    builder: &Builder<TokioExecutor>,
    io: I,
    app: Router,
    info: ConnInfo,
    activity: Activity,
    lifetime: Lifetime,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let act = activity.clone();
    let svc = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(info.clone());
        let active = act.start(req.version());
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await?;
            Ok::<_, Infallible>(res.map(|inner| Body::new(Tracked { inner, active })))
        }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), svc);
    tokio::pin!(conn);
    // After an idle close is started, the peer gets this long to go (an HTTP/2 GOAWAY needs
    // a round trip), then the socket is dropped.
    let mut close_by: Option<Instant> = None;
    let mut draining = false;
    let res = loop {
        tokio::select! {
            r = conn.as_mut() => break r,
            _ = activity.idle_expired(lifetime.header_timeout, lifetime.idle_timeout),
                if close_by.is_none() && !draining =>
            {
                metrics::counter!(crate::metrics::CONNECTIONS_CLOSED_TOTAL,
                    "listener" => lifetime.listener, "reason" => "idle")
                .increment(1);
                conn.as_mut().graceful_shutdown();
                close_by = Some(Instant::now() + Duration::from_secs(1));
            }
            _ = shutdown.changed(), if !draining => {
                draining = true;
                if close_by.is_none() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tokio::time::sleep_until(close_by.unwrap_or_else(Instant::now)),
                if close_by.is_some() => return,
        }
    };
    if let Err(e) = res {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_caps_count_v6_by_prefix_and_forget_closed_clients() {
        let c = ClientConns::new(2);
        let a = c.try_acquire("2001:db8::1".parse().unwrap()).unwrap();
        let b = c.try_acquire("2001:db8::2".parse().unwrap()).unwrap();
        assert!(c.try_acquire("2001:db8::3".parse().unwrap()).is_none());
        assert!(c.try_acquire("192.0.2.1".parse().unwrap()).is_some());
        drop(a);
        assert!(c.try_acquire("2001:db8::3".parse().unwrap()).is_some());
        drop(b);
        assert!(
            c.open.lock().unwrap().is_empty(),
            "entries go with their last connection"
        );
    }

    #[test]
    fn usage_caps() {
        let u = Usage::default();
        assert!(Usage::try_add(&u.bytes, 10, 10));
        assert!(!Usage::try_add(&u.bytes, 1, 10));
        assert!(!u.is_zero());
    }

    #[tokio::test]
    async fn idle_clock_runs_only_without_requests() {
        let a = Activity::new(Instant::now());
        let (h, i) = (Duration::from_millis(50), Duration::from_millis(150));
        let t0 = Instant::now();
        a.idle_expired(h, i).await;
        assert!(t0.elapsed() >= h, "no request since accept");
        let r = a.start(http::Version::HTTP_2);
        let wait = tokio::spawn({
            let a = a.clone();
            async move { a.idle_expired(h, i).await }
        });
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!wait.is_finished(), "a request in progress holds it open");
        let ended = Instant::now();
        drop(r);
        wait.await.unwrap();
        assert!(
            ended.elapsed() >= i,
            "HTTP/2: the idle timeout after the last stream"
        );
    }
}
