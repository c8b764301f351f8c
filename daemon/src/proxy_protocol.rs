//! PROXY protocol v1 (text) and v2 (binary) headers, as HAProxy and AWS NLB send them in front
//! of a TCP connection (`server.proxy_protocol = true`), parsed with the `ppp` crate.
//!
//! The header is peeked, parsed, then consumed exactly (`read_exact` of its length), so the bytes
//! after it (an HTTP request or a TLS ClientHello) stay in the socket for the HTTP server. The
//! caller bounds the whole read with `header_read_timeout_ms`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ppp::{v1, v2, HeaderResult, PartialResult};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Largest header accepted: a v1 header is at most 107 bytes; a v2 header is 16 bytes plus its
/// addresses (at most 216 for UNIX sockets) and TLVs (AWS adds its VPC endpoint id).
const MAX_HEADER: usize = 1024;

/// What a PROXY header said about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The original client's address.
    Proxied(SocketAddr),
    /// A `LOCAL` (v2) or `UNKNOWN` (v1) connection, e.g. the balancer's own health check: the
    /// peer address stands.
    Local,
}

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The connection did not start with a PROXY header, or it is malformed.
    #[error("not a valid PROXY protocol header")]
    Invalid,
    /// Longer than any real header.
    #[error("PROXY protocol header too long")]
    TooLong,
    /// The socket failed or closed.
    #[error("reading the PROXY protocol header: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads and consumes the PROXY header at the start of `stream`.
pub async fn read_header(stream: &mut TcpStream) -> Result<Source, ProxyError> {
    let mut buf = vec![0u8; MAX_HEADER];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Err(ProxyError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let parsed = HeaderResult::parse(&buf[..n]);
        if parsed.is_incomplete() {
            if n == MAX_HEADER {
                return Err(ProxyError::TooLong);
            }
            // A text header ends at its first CRLF: one that is there but still "incomplete"
            // is missing fields, and more bytes will not help.
            if buf[..n].starts_with(b"PROXY") && buf[..n].windows(2).any(|w| w == b"\r\n") {
                return Err(ProxyError::Invalid);
            }
            // Balancers send the header in one segment; a split one is rare: wait a little for
            // the rest (peek returns at once while unread bytes are there).
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let (len, source) = match parsed {
            HeaderResult::V1(Ok(h)) => (h.header.len(), v1_source(&h.addresses)),
            HeaderResult::V2(Ok(h)) => (h.len(), v2_source(&h)),
            _ => return Err(ProxyError::Invalid),
        };
        let mut header = vec![0u8; len];
        stream.read_exact(&mut header).await?;
        return Ok(source);
    }
}

fn v1_source(a: &v1::Addresses) -> Source {
    match a {
        v1::Addresses::Tcp4(x) => {
            Source::Proxied(SocketAddr::new(IpAddr::V4(x.source_address), x.source_port))
        }
        v1::Addresses::Tcp6(x) => {
            Source::Proxied(SocketAddr::new(IpAddr::V6(x.source_address), x.source_port))
        }
        v1::Addresses::Unknown => Source::Local,
    }
}

fn v2_source(h: &v2::Header<'_>) -> Source {
    if h.command == v2::Command::Local {
        return Source::Local;
    }
    match h.addresses {
        v2::Addresses::IPv4(x) => {
            Source::Proxied(SocketAddr::new(IpAddr::V4(x.source_address), x.source_port))
        }
        v2::Addresses::IPv6(x) => {
            Source::Proxied(SocketAddr::new(IpAddr::V6(x.source_address), x.source_port))
        }
        v2::Addresses::Unix(_) | v2::Addresses::Unspecified => Source::Local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn roundtrip(prefix: &[u8]) -> (Result<Source, ProxyError>, Vec<u8>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let data = [prefix, b"GET / HTTP/1.1\r\n"].concat();
        let client = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            // in two writes: the parser must wait for the rest
            let (a, b) = data.split_at(data.len().min(7));
            c.write_all(a).await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            c.write_all(b).await.unwrap();
            c
        });
        let (mut s, _) = l.accept().await.unwrap();
        let r = read_header(&mut s).await;
        let _c = client.await.unwrap();
        let mut rest = vec![0u8; 16];
        if r.is_ok() {
            s.read_exact(&mut rest).await.unwrap();
        }
        (r, rest)
    }

    #[tokio::test]
    async fn v1_header_is_consumed_exactly() {
        let (r, rest) = roundtrip(b"PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n").await;
        assert_eq!(
            r.unwrap(),
            Source::Proxied("203.0.113.7:51234".parse().unwrap())
        );
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");
        let (r, _) = roundtrip(b"PROXY UNKNOWN\r\n").await;
        assert_eq!(r.unwrap(), Source::Local);
    }

    #[tokio::test]
    async fn v2_header_is_consumed_exactly() {
        let h = v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Proxy,
            v2::Protocol::Stream,
            (
                "[2001:db8::7]:4000".parse::<SocketAddr>().unwrap(),
                "[2001:db8::1]:443".parse::<SocketAddr>().unwrap(),
            ),
        )
        .write_tlv(v2::Type::NoOp, &[0, 0, 0])
        .unwrap()
        .build()
        .unwrap();
        let (r, rest) = roundtrip(&h).await;
        assert_eq!(
            r.unwrap(),
            Source::Proxied("[2001:db8::7]:4000".parse().unwrap())
        );
        assert_eq!(rest, b"GET / HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn anything_else_is_refused() {
        let (r, _) = roundtrip(b"").await;
        assert!(matches!(r, Err(ProxyError::Invalid)), "{r:?}");
        let (r, _) = roundtrip(b"PROXY TCP4 nonsense\r\n").await;
        assert!(r.is_err());
    }
}
