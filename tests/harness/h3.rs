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
