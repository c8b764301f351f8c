//! HTTPS with a real rustls client over HTTP/1.1 and HTTP/2 (ALPN), self-signed certificate.

use std::time::Duration;

use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_h1_and_h2_with_rustls_client() {
    let d = TestDaemon::start("").await;
    let secret = "tls-secret-123";
    let id = d
        .create_webhook(json!({"name": "gh", "verifier": "SIGNATURE_BASED",
            "secretValue": secret, "workflowsToStart": {"wf": 1}}))
        .await;
    let cert = d
        .daemon
        .tls_cert_path
        .clone()
        .expect("self-signed cert generated");
    assert!(cert.starts_with(d.state_dir.path()));
    let mut sent = Vec::new();
    for (alpn, version) in [
        (&b"http/1.1"[..], http::Version::HTTP_11),
        (&b"h2"[..], http::Version::HTTP_2),
    ] {
        let c = tls_client(&cert, alpn);
        let body = format!("{{\"over\":\"{}\"}}", String::from_utf8_lossy(alpn)).into_bytes();
        let r = c
            .post(format!("{}/webhook/{id}", d.https_url()))
            .header(
                "X-Hub-Signature-256",
                sign::github_sha256(secret.as_bytes(), &body),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.version(), version);
        assert_eq!(r.status(), 200);
        let bad = c
            .post(format!("{}/webhook/{id}", d.https_url()))
            .header("X-Hub-Signature-256", sign::github_sha256(b"nope", &body))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        sent.push(body);
    }
    let recs = consume_all(&d.bootstrap(), "events", 2, Duration::from_secs(10));
    let mut got: Vec<Vec<u8>> = recs.into_iter().map(|r| r.value).collect();
    got.sort();
    sent.sort();
    assert_eq!(got, sent);

    // a client that does not trust the certificate is refused by TLS itself
    init_crypto();
    let untrusting = reqwest::Client::builder()
        .use_preconfigured_tls(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        )
        .build()
        .unwrap();
    assert!(untrusting
        .post(format!("{}/webhook/{id}", d.https_url()))
        .body("x")
        .send()
        .await
        .is_err());
    d.stop().await;
}
