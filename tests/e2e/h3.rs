//! HTTP/3 over QUIC with a real quinn + h3 client trusting the generated certificate: same
//! routes, verifiers, limits and status codes as over TCP; Alt-Svc on the TCP listeners;
//! graceful draining; address validation under load.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use hookd_e2e::h3::{h3_connect, h3_post};
use hookd_e2e::hookd::kafka::embedded::EmbeddedKafka;
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

const SECRET: &str = "h3-secret-1";

/// `gh` (default body limit) and `small` (1 KiB body limit), both GitHub-signed.
fn hooks() -> &'static str {
    "#rest
[[webhooks]]
id = \"gh\"
name = \"gh\"
verifier = \"SIGNATURE_BASED\"
secretValue = \"h3-secret-1\"
workflowsToStart = { wf = 1 }
[[webhooks]]
id = \"small\"
name = \"small\"
verifier = \"SIGNATURE_BASED\"
secretValue = \"h3-secret-1\"
maxBodyBytes = 1024
workflowsToStart = { wf = 1 }
"
}

fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![(
        "X-Hub-Signature-256",
        sign::github_sha256(SECRET.as_bytes(), body),
    )]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_signed_webhook_lands_in_kafka_and_rejections_match_tcp() {
    let d = TestDaemon::start(hooks()).await;
    let h3_addr = d.daemon.h3_addr.expect("HTTP/3 is on by default with TLS");
    assert_eq!(
        h3_addr.port(),
        d.daemon.tls_addr.unwrap().port(),
        "HTTP/3 defaults to the TLS port over UDP"
    );
    let c = h3_connect(&d).await;

    let body = br#"{"action":"opened","pull_request":{"title":"caf\u00e9 \xe2\x9c\x93"}}"#;
    let mut headers = signed(body);
    headers.push(("X-GitHub-Delivery", "h3-delivery-1".into()));
    headers.push(("Content-Type", "application/json".into()));
    let r = h3_post(&c, "/webhook/gh?via=h3", &headers, body.to_vec()).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(
        r.headers.get("alt-svc").is_none(),
        "Alt-Svc is for TCP responses"
    );

    let bad = h3_post(
        &c,
        "/webhook/gh",
        &[(
            "X-Hub-Signature-256",
            sign::github_sha256(b"wrong", b"rejected"),
        )],
        &b"rejected"[..],
    )
    .await;
    assert_eq!(bad.status, 401);
    let v: serde_json::Value = serde_json::from_slice(&bad.body).unwrap();
    assert_eq!(v["error"], "bad_signature");
    assert!(!v.to_string().contains(SECRET));
    let unknown = h3_post(&c, "/webhook/nope", &[], &b"x"[..]).await;
    assert_eq!(unknown.status, 404);

    // over the limit with a Content-Length: refused up front
    let big = vec![b'a'; 4096];
    let r = h3_post(&c, "/webhook/small", &signed(&big), big.clone()).await;
    assert_eq!(r.status, 413);
    // over the limit streamed without Content-Length and without end: 413 as soon as the limit
    // is crossed (the body is never buffered whole), and the client is told to stop sending
    let chunk = Bytes::from(vec![b'b'; 16 * 1024]);
    let head = http::Request::post(c.uri("/webhook/small"))
        .header("X-Hub-Signature-256", "sha256=00")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let endless = futures::stream::repeat(chunk);
    let r = tokio::time::timeout(Duration::from_secs(20), c.send_streaming(head, endless))
        .await
        .expect("the server answers and stops the upload without waiting for its end")
        .unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["error"],
        "too_large"
    );
    // the connection is still usable
    let again = h3_post(&c, "/webhook/gh", &signed(b"{}"), &b"{}"[..]).await;
    assert_eq!(again.status, 200);

    let recs = consume_all(&d.bootstrap(), "events", 2, Duration::from_secs(10));
    assert_eq!(recs.len(), 2, "only the accepted events are in Kafka");
    let first = recs
        .iter()
        .find(|r| r.header("hookd-delivery-id") == Some("h3-delivery-1"))
        .expect("the signed event");
    assert_eq!(
        first.value, body,
        "record value is the raw body byte for byte"
    );
    assert_eq!(first.header("hookd-webhook-id"), Some("gh"));
    assert_eq!(first.header("hookd-query"), Some("via=h3"));

    let m = d.metrics_text().await;
    assert!(
        metric(
            &m,
            "hookd_requests_total",
            &[
                ("protocol", "h3"),
                ("outcome", "accepted"),
                ("webhook", "gh")
            ]
        ) >= 1.0,
        "h3 requests are labelled in /metrics:\n{m}"
    );
    c.close().await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_burst_of_concurrent_streams_on_one_connection_all_acked() {
    let d = TestDaemon::start(hooks()).await;
    let c = std::sync::Arc::new(h3_connect(&d).await);
    const N: usize = 150;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let c = c.clone();
        tasks.spawn(async move {
            let body = format!("{{\"burst\":{i}}}").into_bytes();
            let r = h3_post(&c, "/webhook/gh", &signed(&body), body.clone()).await;
            (r.status, body)
        });
    }
    let mut sent = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.unwrap();
        assert_eq!(status, 200);
        sent.insert(body);
    }
    assert_eq!(sent.len(), N);
    let recs = consume_all(&d.bootstrap(), "events", N, Duration::from_secs(20));
    let got: BTreeSet<Vec<u8>> = recs.into_iter().map(|r| r.value).collect();
    assert_eq!(got, sent, "every acknowledged stream is in Kafka");
    std::sync::Arc::into_inner(c).unwrap().close().await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_listeners_advertise_h3_with_alt_svc() {
    let d = TestDaemon::start(hooks()).await;
    let want = format!("h3=\":{}\"; ma=86400", d.daemon.h3_addr.unwrap().port());
    let cert = d.daemon.tls_cert_path.clone().unwrap();
    init_crypto();
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let clients = [
        (
            "h1 plain",
            http1_client(),
            d.http_url(),
            http::Version::HTTP_11,
        ),
        ("h2c plain", h2c, d.http_url(), http::Version::HTTP_2),
        (
            "h1 tls",
            tls_client(&cert, b"http/1.1"),
            d.https_url(),
            http::Version::HTTP_11,
        ),
        (
            "h2 tls",
            tls_client(&cert, b"h2"),
            d.https_url(),
            http::Version::HTTP_2,
        ),
    ];
    for (name, client, base, version) in clients {
        let body = format!("{{\"over\":\"{name}\"}}").into_bytes();
        let ok = client
            .post(format!("{base}/webhook/gh"))
            .header(
                "X-Hub-Signature-256",
                sign::github_sha256(SECRET.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.version(), version, "{name}");
        assert_eq!(ok.status(), 200, "{name}");
        assert_eq!(ok.headers()["alt-svc"], want.as_str(), "{name}");
        let missing = client
            .post(format!("{base}/webhook/nope"))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404, "{name}");
        assert_eq!(missing.headers()["alt-svc"], want.as_str(), "{name}");
    }
    // the admin listener is not provider-facing and does not advertise
    let admin = admin_client()
        .get(format!("{}/healthz", d.admin_url()))
        .send()
        .await
        .unwrap();
    assert!(admin.headers().get("alt-svc").is_none());
    d.stop().await;

    // h3_listen = "" turns HTTP/3 off: no endpoint, no advertisement
    let d = TestDaemon::start(&format!("#server\nh3_listen = \"\"\n{}", hooks())).await;
    assert!(d.daemon.h3_addr.is_none());
    let r = http1_client()
        .post(format!("{}/webhook/nope", d.http_url()))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().get("alt-svc").is_none());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_refuses_0rtt_for_returning_clients() {
    let d = TestDaemon::start(hooks()).await;
    assert!(
        !hookd_e2e::h3::zero_rtt_offered(&d).await,
        "a resumed connection must not be allowed to carry 0-RTT requests"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_address_validation_with_retry_under_load() {
    // threshold 0: every unvalidated client must first complete a QUIC Retry round trip
    let d = TestDaemon::start(&format!("#server\nh3_retry_threshold = 0\n{}", hooks())).await;
    let c = h3_connect(&d).await;
    let r = h3_post(
        &c,
        "/webhook/gh",
        &signed(b"{\"retry\":1}"),
        &b"{\"retry\":1}"[..],
    )
    .await;
    assert_eq!(r.status, 200);
    let m = d.metrics_text().await;
    assert!(
        metric(&m, "hookd_h3_incoming_total", &[("action", "retry")]) >= 1.0,
        "a Retry was sent:\n{m}"
    );
    c.close().await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h3_shutdown_drains_in_flight_requests_after_kafka_acks() {
    // a cluster that outlives the daemon, so the drained event can be read back
    let ek = EmbeddedKafka::start(&[("events".into(), 3), ("events.webhooks".into(), 1)]).unwrap();
    // a generous grace: on a loaded machine the refused-connection probes below take seconds,
    // and the grace period must not end the drain before the in-flight request finishes
    let extra = format!("#server\nshutdown_grace_ms = 60000\n{}", hooks());
    let d = TestDaemon::start_with(ek.bootstrap_servers(), &extra, None).await;
    assert!(d.daemon.wait_ready(Duration::from_secs(20)).await);
    let c = h3_connect(&d).await;
    let h3_port = d.daemon.h3_addr.unwrap().port();
    let cert = d.daemon.tls_cert_path.clone().unwrap();

    let (part1, part2) = (&b"{\"drained\":"[..], &b"true}"[..]);
    let whole = [part1, part2].concat();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    let head = http::Request::post(c.uri("/webhook/gh"))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), &whole),
        )
        .body(())
        .unwrap()
        .into_parts()
        .0;
    // The client pulls the first body chunk only once the request head is written, i.e. once
    // the request's QUIC stream is open; `head_sent` reports that moment.
    let (head_sent, head_written) = tokio::sync::oneshot::channel::<()>();
    let body = futures::stream::unfold(
        (rx, Some(head_sent)),
        |(mut rx, mut head_sent)| async move {
            if let Some(s) = head_sent.take() {
                let _ = s.send(());
            }
            rx.recv().await.map(|b| (b, (rx, head_sent)))
        },
    );
    let c = std::sync::Arc::new(c);
    let c2 = c.clone();
    let in_flight = tokio::spawn(async move { c2.send_streaming(head, body).await });
    // Without this wait the probe below could open the first stream, and shutdown would find
    // nothing in flight and close the connection (a CI failure, reproduced by delaying the
    // spawned task).
    head_written.await.unwrap();
    tx.send(Bytes::from_static(part1)).await.unwrap();
    // A later stream on the same connection answered means the server has accepted the
    // earlier one too (QUIC opens and h3 accepts request streams in order).
    assert_eq!(
        h3_post(&c, "/webhook/nope", &[], &b"x"[..]).await.status,
        404
    );

    let stopping = tokio::spawn(d.stop());
    // while draining, new QUIC connections are refused
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = hookd_e2e::hookd::h3::client::Client::connect(
            (std::net::Ipv4Addr::LOCALHOST, h3_port).into(),
            "localhost",
            hookd_e2e::hookd::h3::client::roots_from_pem(&cert).unwrap(),
        )
        .await;
        match attempt {
            Err(_) => break,
            Ok(other) => other.close().await,
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "new connections are still accepted after shutdown began"
        );
    }
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the in-flight request"
    );

    tx.send(Bytes::from_static(part2)).await.unwrap();
    drop(tx);
    let r = in_flight.await.unwrap().unwrap();
    assert_eq!(
        r.status, 200,
        "the in-flight request completes during the drain"
    );
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("shutdown finishes once drained")
        .unwrap();

    let recs = consume_all(ek.bootstrap_servers(), "events", 1, Duration::from_secs(10));
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0].value, whole,
        "the 200 was given only after Kafka had the event"
    );
    drop(c);
}
