//! Operating behind a load balancer: drain on shutdown, readiness with the broker gone.

use std::time::{Duration, Instant};

use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

const SECRET: &str = "ops-secret";

fn hook(extra: &str) -> String {
    format!(
        "{extra}\n#rest\n[[webhooks]]\nid = \"gh\"\nname = \"gh\"\nverifier = \"SIGNATURE_BASED\"\nsecretValue = \"{SECRET}\"\nworkflowsToStart = {{ wf = 1 }}\n"
    )
}

async fn post(url: &str, body: &[u8]) -> Result<u16, reqwest::Error> {
    // A fresh client: a new connection each time (what a load balancer's new flow does).
    http1_client()
        .post(format!("{url}/webhook/gh"))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .map(|r| r.status().as_u16())
}

async fn readyz(admin: &str) -> Option<(u16, String)> {
    let r = admin_client()
        .get(format!("{admin}/readyz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    let s = r.status().as_u16();
    Some((s, r.text().await.unwrap_or_default()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_answers_503_on_readyz_before_any_connection_is_refused() {
    let d = TestDaemon::start(&hook("#server\ndrain_delay_ms = 4000")).await;
    let (http, admin) = (d.http_url(), d.admin_url());
    let provider = d.daemon.listen_addr.unwrap();
    assert_eq!(readyz(&admin).await.unwrap().0, 200);
    assert_eq!(post(&http, b"{\"before\":1}").await.unwrap(), 200);

    let stop = tokio::spawn(d.stop());
    // The probe turns 503 while the provider listener still accepts new connections.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            tokio::net::TcpStream::connect(provider).await.is_ok(),
            "a connection was refused before /readyz answered 503"
        );
        match readyz(&admin).await {
            Some((503, body)) => {
                assert!(body.contains("draining"), "{body}");
                break;
            }
            Some((200, _)) => {}
            other => panic!("unexpected /readyz answer {other:?}"),
        }
        assert!(Instant::now() < deadline, "/readyz never turned 503");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Draining: new connections are still served, end to end (Kafka acknowledges).
    assert_eq!(post(&http, b"{\"draining\":1}").await.unwrap(), 200);
    // /healthz stays 200: the process is alive, only leaving.
    let h = admin_client()
        .get(format!("{admin}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
    // After the drain delay the listeners close.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(provider).await.is_ok() {
        assert!(Instant::now() < deadline, "listener never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_503_while_the_broker_acknowledges_nothing_and_recovers() {
    let d = TestDaemon::start(&hook("#kafka\nunready_after_ms = 1500")).await;
    let (http, admin) = (d.http_url(), d.admin_url());
    assert_eq!(post(&http, b"{\"n\":0}").await.unwrap(), 200);
    assert_eq!(readyz(&admin).await.unwrap().0, 200);
    let ek = d.daemon.embedded_kafka().unwrap();
    ek.set_brokers_up(false);
    // Traffic keeps arriving (each request waits for an acknowledgement that never comes).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = tokio::task::JoinSet::new();
    for w in 0..4 {
        let (http, stop) = (http.clone(), stop.clone());
        senders.spawn(async move {
            let mut statuses = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                let body = format!("{{\"w\":{w},\"i\":{i}}}");
                if let Ok(s) = post(&http, body.as_bytes()).await {
                    statuses.push(s);
                }
            }
            statuses
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        if let Some((503, body)) = readyz(&admin).await {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed 200 with the broker gone"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(body.contains("kafka"), "{body}");
    ek.set_brokers_up(true);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, _)) = readyz(&admin).await {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut all = Vec::new();
    while let Some(r) = senders.join_next().await {
        all.extend(r.unwrap());
    }
    assert!(
        all.contains(&503),
        "requests were refused while the broker was gone"
    );
    assert!(all.iter().all(|s| *s == 200 || *s == 503), "{all:?}");
    d.stop().await;
}
