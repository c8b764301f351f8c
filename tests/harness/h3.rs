//! HTTP/3 helpers: a real quinn + h3 client (`hookd::h3::client`, shared with `hookd post`)
//! connected to a test daemon and trusting its generated certificate.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use hookd::h3::client::{roots_from_pem, Client};

pub use hookd::h3::client::Response;

use crate::TestDaemon;

/// Opens one HTTP/3 connection to the daemon's QUIC listener (server name `localhost`).
pub async fn h3_connect(d: &TestDaemon) -> Client {
    let port = d.daemon.h3_addr.expect("HTTP/3 listener is on").port();
    let cert = d.daemon.tls_cert_path.as_ref().expect("TLS is on");
    let roots = roots_from_pem(cert).expect("daemon certificate");
    Client::connect(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        "localhost",
        roots,
    )
    .await
    .expect("HTTP/3 connection")
}

/// POSTs `body` with `headers` to `path` over `client`.
pub async fn h3_post(
    client: &Client,
    path: &str,
    headers: &[(&str, String)],
    body: impl Into<Bytes>,
) -> Response {
    let mut b = http::Request::post(client.uri(path));
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    client
        .send(b.body(body.into()).unwrap())
        .await
        .expect("HTTP/3 exchange")
}

/// Whether the daemon lets a returning client send 0-RTT data: connects once with a raw quinn
/// client that has early data enabled, waits until it holds one of the server's session
/// tickets, then tries to resume with 0-RTT on a second connection.
pub async fn zero_rtt_offered(d: &TestDaemon) -> bool {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let port = d.daemon.h3_addr.expect("HTTP/3 listener is on").port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let roots = roots_from_pem(d.daemon.tls_cert_path.as_ref().unwrap()).unwrap();
    let tickets = Arc::new(TicketCounter::default());
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    tls.enable_early_data = true;
    tls.resumption = rustls::client::Resumption::store(tickets.clone());
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut endpoint = quinn::Endpoint::client((Ipv4Addr::UNSPECIFIED, 0).into()).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));

    let first = endpoint
        .connect(addr, "localhost")
        .unwrap()
        .await
        .expect("full handshake");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tickets.received() == 0 {
        assert!(
            Instant::now() < deadline,
            "no session ticket from the server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.close(0u32.into(), b"");

    let second = endpoint.connect(addr, "localhost").unwrap();
    let offered = match second.into_0rtt() {
        Ok((conn, _accepted)) => {
            conn.close(0u32.into(), b"");
            true
        }
        Err(connecting) => {
            connecting
                .await
                .expect("resumed handshake")
                .close(0u32.into(), b"");
            false
        }
    };
    endpoint.wait_idle().await;
    offered
}

/// rustls' in-memory session store, counting the TLS 1.3 tickets it receives.
#[derive(Debug)]
struct TicketCounter {
    inner: rustls::client::ClientSessionMemoryCache,
    received: std::sync::atomic::AtomicUsize,
}

impl Default for TicketCounter {
    fn default() -> Self {
        Self {
            inner: rustls::client::ClientSessionMemoryCache::new(16),
            received: Default::default(),
        }
    }
}

impl TicketCounter {
    fn received(&self) -> usize {
        self.received.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl rustls::client::ClientSessionStore for TicketCounter {
    fn set_kx_hint(
        &self,
        server_name: rustls::pki_types::ServerName<'static>,
        group: rustls::NamedGroup,
    ) {
        self.inner.set_kx_hint(server_name, group)
    }
    fn kx_hint(
        &self,
        server_name: &rustls::pki_types::ServerName<'_>,
    ) -> Option<rustls::NamedGroup> {
        self.inner.kx_hint(server_name)
    }
    fn set_tls12_session(
        &self,
        server_name: rustls::pki_types::ServerName<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        self.inner.set_tls12_session(server_name, value)
    }
    fn tls12_session(
        &self,
        server_name: &rustls::pki_types::ServerName<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.inner.tls12_session(server_name)
    }
    fn remove_tls12_session(&self, server_name: &rustls::pki_types::ServerName<'static>) {
        self.inner.remove_tls12_session(server_name)
    }
    fn insert_tls13_ticket(
        &self,
        server_name: rustls::pki_types::ServerName<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.received
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.insert_tls13_ticket(server_name, value)
    }
    fn take_tls13_ticket(
        &self,
        server_name: &rustls::pki_types::ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        self.inner.take_tls13_ticket(server_name)
    }
}
