//! A small HTTP/3 client (quinn + h3) for `hookd post --http3` and the end-to-end tests.
//!
//! One [`Client`] is one QUIC connection; [`Client::send`] may be called concurrently, each
//! call on its own request stream.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{Endpoint, TransportConfig};
use rustls::RootCertStore;
use tokio::task::JoinHandle;

type SendRequest = ::h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>;

/// Why a request could not be made (an HTTP error status is a [`Response`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Certificate file or TLS configuration problem.
    #[error("tls: {0}")]
    Tls(String),
    /// The QUIC connection could not be established.
    #[error("connect: {0}")]
    Connect(String),
    /// The HTTP/3 exchange failed.
    #[error("http/3: {0}")]
    Http3(String),
}

/// A complete response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

/// Reads the PEM certificates in `path` into a root store (e.g. hookd's self-signed cert).
pub fn roots_from_pem(path: &Path) -> Result<RootCertStore, ClientError> {
    use rustls::pki_types::pem::PemObject;
    let tls = |e: String| ClientError::Tls(format!("{}: {e}", path.display()));
    let pem = std::fs::read(path).map_err(|e| tls(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots
            .add(cert.map_err(|e| tls(e.to_string()))?)
            .map_err(|e| tls(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(tls("no certificate found".into()));
    }
    Ok(roots)
}

/// One HTTP/3 connection.
pub struct Client {
    endpoint: Endpoint,
    send: SendRequest,
    driver: JoinHandle<()>,
    authority: String,
}

impl Client {
    /// Connects to `addr`, verifying the server's certificate for `server_name` against
    /// `roots`. Offers ALPN `h3` only and never sends 0-RTT data.
    pub async fn connect(
        addr: SocketAddr,
        server_name: &str,
        roots: RootCertStore,
    ) -> Result<Client, ClientError> {
        let tls_err = |e: &dyn std::fmt::Display| ClientError::Tls(e.to_string());
        let mut tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| tls_err(&e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h3".to_vec()];
        let quic = QuicClientConfig::try_from(tls).map_err(|e| tls_err(&e))?;
        let mut transport = TransportConfig::default();
        transport.keep_alive_interval(Some(Duration::from_secs(5)));
        let mut config = quinn::ClientConfig::new(Arc::new(quic));
        config.transport_config(Arc::new(transport));
        let local: SocketAddr = if addr.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let connect_err = |e: &dyn std::fmt::Display| ClientError::Connect(format!("{addr}: {e}"));
        let mut endpoint = Endpoint::client(local).map_err(|e| connect_err(&e))?;
        endpoint.set_default_client_config(config);
        let conn = endpoint
            .connect(addr, server_name)
            .map_err(|e| connect_err(&e))?
            .await
            .map_err(|e| connect_err(&e))?;
        let (mut driver, send) = ::h3::client::new(h3_quinn::Connection::new(conn))
            .await
            .map_err(|e| connect_err(&e))?;
        let driver = tokio::spawn(async move {
            let _ = driver.wait_idle().await;
        });
        Ok(Client {
            endpoint,
            send,
            driver,
            authority: format!("{server_name}:{}", addr.port()),
        })
    }

    /// `https://<server name>:<port><path>`, the URI to put in a request.
    pub fn uri(&self, path_and_query: &str) -> http::Uri {
        format!("https://{}{path_and_query}", self.authority)
            .parse()
            .unwrap_or_else(|_| http::Uri::from_static("/"))
    }

    /// Sends `req` with its body in one DATA frame (and a `content-length` unless the request
    /// has one) and reads the whole response.
    pub async fn send(&self, req: http::Request<Bytes>) -> Result<Response, ClientError> {
        let (mut parts, body) = req.into_parts();
        parts
            .headers
            .entry(http::header::CONTENT_LENGTH)
            .or_insert_with(|| http::HeaderValue::from(body.len()));
        let chunks = if body.is_empty() { vec![] } else { vec![body] };
        self.send_streaming(parts, futures::stream::iter(chunks))
            .await
    }

    /// Sends the request head, then each chunk of `body` as its own DATA frame as it comes,
    /// then reads the whole response. When the server stops reading early (it answered before
    /// the whole body arrived, e.g. 413) the remaining chunks are not sent and its response is
    /// returned.
    pub async fn send_streaming(
        &self,
        head: http::request::Parts,
        body: impl futures::Stream<Item = Bytes>,
    ) -> Result<Response, ClientError> {
        use futures::StreamExt;
        let h3_err = |e: &dyn std::fmt::Display| ClientError::Http3(e.to_string());
        let mut send = self.send.clone();
        let mut stream = send
            .send_request(http::Request::from_parts(head, ()))
            .await
            .map_err(|e| h3_err(&e))?;
        let mut stopped = false;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            if stream.send_data(chunk).await.is_err() {
                stopped = true;
                break;
            }
        }
        if !stopped {
            let _ = stream.finish().await;
        }
        let res = stream.recv_response().await.map_err(|e| h3_err(&e))?;
        let mut body = BytesMut::new();
        while let Some(mut chunk) = stream.recv_data().await.map_err(|e| h3_err(&e))? {
            while chunk.has_remaining() {
                let c = chunk.chunk();
                body.extend_from_slice(c);
                let n = c.len();
                chunk.advance(n);
            }
        }
        let (parts, ()) = res.into_parts();
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body: body.freeze(),
        })
    }

    /// Closes the connection gracefully and waits (briefly) for the server to see it.
    pub async fn close(self) {
        drop(self.send);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.driver).await;
        self.endpoint.close(0u32.into(), b"done");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }
}
