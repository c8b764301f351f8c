//! Broker failures: never a 2xx without an acknowledgement; 503 with Retry-After instead.

use std::time::{Duration, Instant};

use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

const SECRET: &str = "failure-secret";

fn static_hook() -> &'static str {
    "#rest\n[[webhooks]]\nid = \"gh\"\nname = \"gh\"\nverifier = \"SIGNATURE_BASED\"\nsecretValue = \"failure-secret\"\nworkflowsToStart = { wf = 1 }\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_answers_503_never_2xx() {
    // nothing listens on port 1: the producer can never deliver
    let d = TestDaemon::start_with("127.0.0.1:1", static_hook(), None).await;
    let c = http1_client();
    let body = b"{\"x\":1}";
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let c = c.clone();
        let url = format!("{}/webhook/gh", d.http_url());
        tasks.spawn(async move {
            let start = Instant::now();
            let r = c
                .post(url)
                .header(
                    "X-Hub-Signature-256",
                    sign::github_sha256(SECRET.as_bytes(), body),
                )
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                r.headers().get("retry-after").is_some(),
                start.elapsed(),
            )
        });
    }
    while let Some(r) = tasks.join_next().await {
        let (status, retry_after, took) = r.unwrap();
        assert_eq!(status, 503);
        assert!(retry_after);
        assert!(took < Duration::from_secs(5), "bounded wait, took {took:?}");
    }
    // a bad signature is still a 401 (verification happens before Kafka)
    let r = c
        .post(format!("{}/webhook/gh", d.http_url()))
        .header("X-Hub-Signature-256", "sha256=00")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_going_down_turn_acks_into_503_and_back() {
    let d = TestDaemon::start(static_hook()).await;
    let c = http1_client();
    let send = |body: Vec<u8>| {
        let c = c.clone();
        let url = format!("{}/webhook/gh", d.http_url());
        async move {
            c.post(url)
                .header(
                    "X-Hub-Signature-256",
                    sign::github_sha256(SECRET.as_bytes(), &body),
                )
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send(b"{\"n\":1}".to_vec()).await, 200);
    let ek = d.daemon.embedded_kafka().unwrap();
    ek.set_brokers_up(false);
    let mut acked = vec![b"{\"n\":1}".to_vec()];
    for i in 2..6 {
        let body = format!("{{\"n\":{i}}}").into_bytes();
        let s = send(body.clone()).await;
        assert!(s == 503 || s == 200, "{s}");
        if s == 200 {
            acked.push(body);
        }
    }
    ek.set_brokers_up(true);
    let mut ok = false;
    for i in 100..200 {
        let body = format!("{{\"n\":{i}}}").into_bytes();
        if send(body.clone()).await == 200 {
            acked.push(body);
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "acks resume once the brokers are back");
    let recs = consume_all(
        &d.bootstrap(),
        "events",
        acked.len(),
        Duration::from_secs(20),
    );
    let got: Vec<Vec<u8>> = recs.into_iter().map(|r| r.value).collect();
    for a in &acked {
        assert!(got.contains(a), "acked body missing from Kafka");
    }
    d.stop().await;
}

/// A fatal error of the events producer (an idempotent producer that got an out-of-order
/// sequence produces nothing more) does not stop ingestion: the producer is replaced and
/// signed events are accepted again, each only after Kafka acknowledged it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fatal_producer_error_replaces_the_events_producer() {
    let d = TestDaemon::start(static_hook()).await;
    let c = http1_client();
    let post = |n: u32| {
        let body = format!("{{\"n\":{n}}}");
        c.post(format!("{}/webhook/gh", d.http_url()))
            .header(
                "X-Hub-Signature-256",
                sign::github_sha256(SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
    };
    assert_eq!(post(0).await.unwrap().status(), 200);
    d.daemon.inject_events_producer_fatal_error();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 1;
    let mut refused = 0;
    loop {
        match post(n).await.unwrap().status().as_u16() {
            200 => break,
            503 => refused += 1,
            s => panic!("unexpected {s}"),
        }
        assert!(Instant::now() < deadline, "ingestion never recovered");
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = d.metrics_text().await;
    assert_eq!(
        metric(
            &m,
            "hookd_kafka_producer_rebuilds_total",
            &[("producer", "events")]
        ),
        1.0
    );
    // the accepted events are in the topic: the first and the one after the replacement
    let recs = consume_all(&d.bootstrap(), "events", 2, Duration::from_secs(20));
    let bodies: Vec<String> = recs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.value).into_owned())
        .collect();
    assert!(bodies.contains(&"{\"n\":0}".to_string()), "{bodies:?}");
    assert!(bodies.contains(&format!("{{\"n\":{n}}}")), "{bodies:?}");
    assert_eq!(
        recs.len(),
        2,
        "the {refused} refused requests published nothing"
    );
    d.stop().await;
}
