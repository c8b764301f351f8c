//! Ingress over plain HTTP: verification outcomes, status codes, byte-identical records.

use std::time::Duration;

use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

const SECRET: &str = "gh-test-secret-1";

async fn github_webhook(d: &TestDaemon) -> String {
    d.create_webhook(json!({
        "name": "gh", "sourcePlatform": "Github", "verifier": "SIGNATURE_BASED",
        "headerKey": "X-Hub-Signature-256", "secretValue": SECRET,
        "workflowsToStart": {"wf": 1}
    }))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_github_event_lands_in_kafka_byte_identical() {
    let d = TestDaemon::start("").await;
    let id = github_webhook(&d).await;
    let c = http1_client();
    let body =
        br#"{"action":"opened","number":1,"pull_request":{"title":"caf\u00e9 \xe2\x9c\x93"}}"#;
    let r = c
        .post(format!("{}/webhook/{id}?source=test&x=1", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), body),
        )
        .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());

    // a bad signature, a missing one, and an unknown id
    let bad = c
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(b"wrong", b"rejected-body"),
        )
        .body("rejected-body")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let v: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(v["error"], "bad_signature");
    assert!(!v.to_string().contains(SECRET));
    let missing = c
        .post(format!("{}/webhook/{id}", d.http_url()))
        .body("rejected-body-2")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let unknown = c
        .post(format!("{}/webhook/nope", d.http_url()))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<serde_json::Value>().await.unwrap()["error"],
        "unknown_webhook"
    );

    let recs = consume_all(&d.bootstrap(), "events", 1, Duration::from_secs(10));
    assert_eq!(recs.len(), 1, "only the accepted event is in Kafka");
    let r = &recs[0];
    assert_eq!(r.value, body, "record value is the raw body byte for byte");
    assert_eq!(r.header("hookd-webhook-id"), Some(id.as_str()));
    assert_eq!(
        r.header("hookd-delivery-id"),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(r.header("hookd-query"), Some("source=test&x=1"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("hookd-event-id").is_some_and(|e| e.len() == 36));
    assert!(
        r.header("hookd-received-at")
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 1_600_000_000_000
    );
    assert_eq!(r.key, format!("{id}/72d3162e-cc78-11e3-81ab-4c9367dc0958"));
    for (k, v) in &r.headers {
        assert!(!v.contains(SECRET), "header {k} leaks the secret");
    }

    // urlVerified flipped and shows in the admin API
    let (_, w) = d.get_webhook(&id).await;
    assert_eq!(w["urlVerified"], true);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_and_non_json_bodies() {
    let d = TestDaemon::start("#server\nmax_body_bytes = 1024").await;
    let id = github_webhook(&d).await;
    let small = d
        .create_webhook(json!({
            "name": "small", "verifier": "SIGNATURE_BASED", "secretValue": SECRET,
            "workflowsToStart": {"wf": 1}, "maxBodyBytes": 16
        }))
        .await;
    let c = http1_client();
    let big = vec![b'a'; 1025];
    let r = c
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), &big),
        )
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "too_large"
    );
    // per-webhook limit
    let body = b"seventeen bytes!!".to_vec();
    let r = c
        .post(format!("{}/webhook/{small}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // chunked (no content-length) over the limit is cut off while streaming
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b'x'; 64])).collect();
    let r = c
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header("X-Hub-Signature-256", "sha256=00")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // a verified non-JSON body is accepted and kept raw
    let form = b"payload=%7B%22a%22%3A1%7D&x=\xff".to_vec();
    let r = c
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), &form),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let recs = consume_all(&d.bootstrap(), "events", 1, Duration::from_secs(10));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].value, form);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_senders_all_acked_none_lost() {
    // 400 connections from one address: above the default per-client connection cap (256),
    // which is about one client holding too much, not what this test measures.
    let d = TestDaemon::start("#server\nmax_connections_per_client = 1000").await;
    let id = github_webhook(&d).await;
    let c = http1_client();
    let url = format!("{}/webhook/{id}", d.http_url());
    let n = 400;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (c, url) = (c.clone(), url.clone());
        tasks.spawn(async move {
            let body = format!(r#"{{"seq":{i},"pad":"{}"}}"#, "p".repeat(i % 700));
            let r = c
                .post(url)
                .header(
                    "X-Hub-Signature-256",
                    sign::github_sha256(SECRET.as_bytes(), body.as_bytes()),
                )
                .body(body.clone())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), body)
        });
    }
    let mut acked = std::collections::HashSet::new();
    while let Some(r) = tasks.join_next().await {
        let (status, body) = r.unwrap();
        assert_eq!(status, 200);
        acked.insert(body.into_bytes());
    }
    assert_eq!(acked.len(), n);
    let recs = consume_all(&d.bootstrap(), "events", n, Duration::from_secs(30));
    let got: std::collections::HashSet<Vec<u8>> = recs.iter().map(|r| r.value.clone()).collect();
    assert!(acked.is_subset(&got), "every 2xx'd body is in Kafka");
    let parts: std::collections::HashSet<i32> = recs.iter().map(|r| r.partition).collect();
    assert!(
        parts.len() > 1,
        "one webhook's events spread over partitions"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_challenge_flow() {
    let d = TestDaemon::start("").await;
    // no secret: only the challenge is accepted until the URL is verified
    let open = d
        .create_webhook(json!({"name": "slack-open", "verifier": "SLACK_BASED",
            "sourcePlatform": "Slack", "receiverWorkflowNamesToVersions": {"wf": 1}}))
        .await;
    let c = http1_client();
    let event = br#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#;
    let r = c
        .post(format!("{}/webhook/{open}", d.http_url()))
        .body(event.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        401,
        "before verification only a challenge is accepted"
    );
    let challenge = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let r = c
        .post(format!("{}/webhook/{open}", d.http_url()))
        .header("Content-Type", "application/json")
        .body(challenge.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(
        r.text().await.unwrap(),
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    assert_eq!(d.get_webhook(&open).await.1["urlVerified"], true);
    let r = c
        .post(format!("{}/webhook/{open}", d.http_url()))
        .body(event.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "after verification events flow");

    // with a signing secret every request, the challenge included, must be signed
    let secret = "e6b19c573432dcc6b075501d51b51bb8";
    let signed = d
        .create_webhook(json!({"name": "slack-signed", "verifier": "SLACK_BASED",
            "secretValue": secret, "receiverWorkflowNamesToVersions": {"wf": 1}}))
        .await;
    let unsigned = c
        .post(format!("{}/webhook/{signed}", d.http_url()))
        .body(challenge.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // until the challenge verified the URL, even a correctly signed event is refused
    let r = c
        .post(format!("{}/webhook/{signed}", d.http_url()))
        .header("X-Slack-Request-Timestamp", now.to_string())
        .header(
            "X-Slack-Signature",
            sign::slack(secret.as_bytes(), now, event),
        )
        .body(event.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "challenge_required"
    );
    assert_eq!(d.get_webhook(&signed).await.1["urlVerified"], false);
    let r = c
        .post(format!("{}/webhook/{signed}", d.http_url()))
        .header("X-Slack-Request-Timestamp", now.to_string())
        .header(
            "X-Slack-Signature",
            sign::slack(secret.as_bytes(), now, challenge),
        )
        .header("Accept", "application/json")
        .body(challenge.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let stale = now - 301;
    let r = c
        .post(format!("{}/webhook/{signed}", d.http_url()))
        .header("X-Slack-Request-Timestamp", stale.to_string())
        .header(
            "X-Slack-Signature",
            sign::slack(secret.as_bytes(), stale, event),
        )
        .body(event.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "stale_timestamp"
    );

    // challenges are answered, never published; the one event went to Kafka
    let recs = consume_all(&d.bootstrap(), "events", 1, Duration::from_secs(10));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].value, event);
    assert_eq!(recs[0].header("hookd-delivery-id"), Some("Ev1"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_on_the_plain_listener() {
    let d = TestDaemon::start("").await;
    let id = github_webhook(&d).await;
    init_crypto();
    let c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let body = b"{\"h2c\":true}";
    let r = c
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), http::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    let m = d.metrics_text().await;
    assert!(
        metric(&m, "hookd_requests_total", &[("protocol", "h2")]) >= 1.0,
        "{m}"
    );
    d.stop().await;
}
