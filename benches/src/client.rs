//! The load generator's HTTP clients: HTTP/1.1 keep-alive and HTTP/2 (h2c or TLS with ALPN)
//! on hyper's connection-level client, and HTTP/3 on hookd's own quinn + h3 client
//! ([`hookd::h3::client::Client`], one per QUIC connection, shared by its workers).
//!
//! Connection-level clients (no pool): the load generator decides exactly how many connections
//! exist and which request goes on which, so the figures mean what the command line says.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use clap::ValueEnum;
use hookd::h3::client::{Client as H3Client, ClientError as H3Error};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Protocol to load with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// HTTP/1.1 keep-alive (`http://`, or `https://` with ALPN `http/1.1`).
    H1,
    /// HTTP/2: prior-knowledge h2c on `http://`, ALPN `h2` on `https://`.
    H2,
    /// HTTP/3 over QUIC (always TLS; UDP on the URL's port unless `--h3-port`).
    H3,
}

impl Proto {
    /// Short label (`h1`, `h2`, `h3`).
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::H1 => "h1",
            Proto::H2 => "h2",
            Proto::H3 => "h3",
        }
    }

    /// Whether requests of many workers share one connection (HTTP/2 and HTTP/3 streams).
    pub fn multiplexed(self) -> bool {
        !matches!(self, Proto::H1)
    }
}

/// A client-side failure, labelled for the error counts.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad URL, certificate file or option.
    #[error("{0}")]
    Setup(String),
    /// TCP or UDP connect failed.
    #[error("connect: {0}")]
    Connect(std::io::Error),
    /// TLS or QUIC handshake failed.
    #[error("handshake: {0}")]
    Handshake(String),
    /// The HTTP exchange failed (connection reset, protocol error, …).
    #[error("http: {0}")]
    Http(String),
    /// No response within the request timeout.
    #[error("request timed out")]
    Timeout,
}

impl ClientError {
    /// Label for the error counts of the report.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientError::Setup(_) => "setup",
            ClientError::Connect(_) => "connect",
            ClientError::Handshake(_) => "handshake",
            ClientError::Http(_) => "http",
            ClientError::Timeout => "timeout",
        }
    }
}

/// Where and how to connect.
pub struct Target {
    /// Protocol.
    pub proto: Proto,
    /// Resolved address (TCP; for HTTP/3 the UDP address).
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host:port` as in the URL (the `Host` header / `:authority`).
    pub authority: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    quic: Option<(rustls::RootCertStore, String)>,
}

/// Reads a PEM bundle into a root store (the daemon's self-signed certificate, typically).
pub fn roots(cacert: Option<&Path>) -> Result<rustls::RootCertStore, ClientError> {
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    if let Some(p) = cacert {
        let pem = std::fs::read(p)
            .map_err(|e| ClientError::Setup(format!("--cacert {}: {e}", p.display())))?;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            let c = c.map_err(|e| ClientError::Setup(format!("--cacert {}: {e}", p.display())))?;
            store
                .add(c)
                .map_err(|e| ClientError::Setup(format!("--cacert {}: {e}", p.display())))?;
        }
    }
    Ok(store)
}

/// A rustls client config (ring) trusting `roots`, offering `alpn`.
pub fn tls_config(roots: rustls::RootCertStore, alpn: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut cfg = rustls::ClientConfig::builder_with_provider(hookd::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(cfg)
}

impl Target {
    /// Resolves `url` (`http://host:port` or `https://host:port`) for `proto`; `cacert` is
    /// trusted for TLS; `h3_port` overrides the UDP port of HTTP/3.
    pub async fn new(
        url: &str,
        proto: Proto,
        cacert: Option<&Path>,
        h3_port: Option<u16>,
    ) -> Result<Target, ClientError> {
        let uri: Uri = url
            .parse()
            .map_err(|e| ClientError::Setup(format!("--url {url}: {e}")))?;
        let scheme = match uri.scheme_str() {
            Some("http") => "http",
            Some("https") => "https",
            _ => {
                return Err(ClientError::Setup(format!(
                    "--url {url}: http:// or https://"
                )))
            }
        };
        let host = uri
            .host()
            .ok_or_else(|| ClientError::Setup(format!("--url {url}: no host")))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let authority = uri
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_else(|| host.clone());
        // IPv4 first: `localhost` often resolves to ::1 first while servers bind 127.0.0.1.
        let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(ClientError::Connect)?
            .collect();
        addrs.sort_by_key(|a| a.is_ipv6());
        let mut addr = *addrs
            .first()
            .ok_or_else(|| ClientError::Setup(format!("--url {url}: host does not resolve")))?;
        let server_name = || {
            ServerName::try_from(host.clone())
                .map_err(|e| ClientError::Setup(format!("--url {url}: {e}")))
        };
        let mut tls = None;
        let mut quic = None;
        match proto {
            Proto::H3 => {
                if scheme != "https" {
                    return Err(ClientError::Setup("HTTP/3 needs an https:// URL".into()));
                }
                if let Some(p) = h3_port {
                    addr.set_port(p);
                }
                quic = Some((roots(cacert)?, host.clone()));
            }
            _ if scheme == "https" => {
                let alpn: &[u8] = if proto == Proto::H2 {
                    b"h2"
                } else {
                    b"http/1.1"
                };
                let cfg = tls_config(roots(cacert)?, alpn);
                tls = Some((TlsConnector::from(cfg), server_name()?));
            }
            _ => {}
        }
        Ok(Target {
            proto,
            addr,
            scheme,
            authority,
            tls,
            quic,
        })
    }

    /// Opens one connection.
    pub async fn connect(&self) -> Result<Sender, ClientError> {
        if let Some((roots, name)) = &self.quic {
            return H3Client::connect(self.addr, name, roots.clone())
                .await
                .map(|c| Sender::H3(Arc::new(c)))
                .map_err(|e| match e {
                    H3Error::Connect(e) => ClientError::Handshake(e),
                    H3Error::Tls(e) => ClientError::Setup(e),
                    H3Error::Http3(e) => ClientError::Http(e),
                });
        }
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(ClientError::Connect)?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => self.handshake(TokioIo::new(tcp)).await,
            Some((conn, name)) => {
                let io = conn
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| ClientError::Handshake(e.to_string()))?;
                self.handshake(TokioIo::new(io)).await
            }
        }
    }

    async fn handshake<T>(&self, io: T) -> Result<Sender, ClientError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let http = |e: hyper::Error| ClientError::Http(e.to_string());
        match self.proto {
            Proto::H1 => {
                let (tx, conn) = http1::handshake(io).await.map_err(http)?;
                tokio::spawn(conn);
                Ok(Sender::H1(tx))
            }
            _ => {
                let (tx, conn) = http2::Builder::new(TokioExecutor::new())
                    .initial_stream_window_size(1 << 20)
                    .initial_connection_window_size(4 << 20)
                    .handshake(io)
                    .await
                    .map_err(http)?;
                tokio::spawn(conn);
                Ok(Sender::H2(tx))
            }
        }
    }

    /// The request URI for `path`: origin-form for HTTP/1.1 (with a `Host` header), absolute
    /// for HTTP/2 and HTTP/3 (`:scheme` and `:authority`).
    pub fn uri(&self, path: &str) -> String {
        match self.proto {
            Proto::H1 => path.to_string(),
            _ => format!("{}://{}{path}", self.scheme, self.authority),
        }
    }
}

/// One open connection.
pub enum Sender {
    /// HTTP/1.1: one request at a time.
    H1(http1::SendRequest<Full<Bytes>>),
    /// HTTP/2: clonable, multiplexed.
    H2(http2::SendRequest<Full<Bytes>>),
    /// HTTP/3: shared, multiplexed.
    H3(Arc<H3Client>),
}

impl Sender {
    /// A handle on the same connection for another worker (HTTP/2 and HTTP/3 only).
    pub fn share(&self) -> Option<Sender> {
        match self {
            Sender::H1(_) => None,
            Sender::H2(s) => Some(Sender::H2(s.clone())),
            Sender::H3(s) => Some(Sender::H3(s.clone())),
        }
    }

    /// Whether the connection is known to be gone.
    pub fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s) => s.is_closed(),
            // Known only by a failed request (the worker then reconnects).
            Sender::H3(_) => false,
        }
    }

    /// Sends one request and reads the whole response; returns its status.
    pub async fn send(&mut self, req: Request<Bytes>) -> Result<StatusCode, ClientError> {
        let http = |e: hyper::Error| ClientError::Http(e.to_string());
        match self {
            Sender::H1(s) => {
                s.ready().await.map_err(http)?;
                let resp = s.send_request(req.map(Full::new)).await.map_err(http)?;
                let status = resp.status();
                resp.into_body().collect().await.map_err(http)?;
                Ok(status)
            }
            Sender::H2(s) => {
                s.ready().await.map_err(http)?;
                let resp = s.send_request(req.map(Full::new)).await.map_err(http)?;
                let status = resp.status();
                resp.into_body().collect().await.map_err(http)?;
                Ok(status)
            }
            Sender::H3(c) => c
                .send(req)
                .await
                .map(|r| r.status)
                .map_err(|e| ClientError::Http(e.to_string())),
        }
    }
}
