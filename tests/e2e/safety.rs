//! The mask is never a secret, replays publish once, and the admin API's smaller guarantees
//! (createdBy, id syntax, 413 for oversized definitions, no 200 for a write that cannot last).

use std::time::Duration;

use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

async fn admin(
    d: &TestDaemon,
    method: http::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut r = admin_client()
        .request(
            method,
            format!("{}/api/metadata/webhook{path}", d.admin_url()),
        )
        .header("X-Authorization", TOKEN);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}

fn header_based(id: &str, value: &str) -> serde_json::Value {
    json!({"id": id, "name": id, "verifier": "HEADER_BASED", "headers": {"X-Token": value},
        "workflowsToStart": {"wf": 1}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mask_is_never_accepted_as_a_secret() {
    let d = TestDaemon::start("").await;
    let post = http::Method::POST;
    // create with the mask anywhere: 400 naming the field
    let (s, v) = admin(&d, post.clone(), "", Some(header_based("h1", "***"))).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("headers.X-Token"),
        "{v}"
    );
    let slack = json!({"id": "s1", "name": "s", "verifier": "SLACK_BASED", "secretValue": "***",
        "workflowsToStart": {"wf": 1}});
    let (s, v) = admin(&d, post.clone(), "", Some(slack)).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("secretValue"),
        "{v}"
    );
    // nothing was created: a forged request carrying *** finds no webhook
    let r = http1_client()
        .post(format!("{}/webhook/h1", d.http_url()))
        .header("X-Token", "***")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // pasting a GET into a PUT keeps the secret; renaming the header with a masked value is 400
    let (s, _) = admin(&d, post, "", Some(header_based("h2", "real-token"))).await;
    assert_eq!(s, 200);
    let (_, mut got) = admin(&d, http::Method::GET, "/h2", None).await;
    assert_eq!(got["headers"]["X-Token"], "***");
    let (s, v) = admin(&d, http::Method::PUT, "/h2", Some(got.clone())).await;
    assert_eq!(s, 200, "{v}");
    got["headers"] = json!({"X-Renamed": "***"});
    let (s, v) = admin(&d, http::Method::PUT, "/h2", Some(got)).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("headers.X-Renamed"),
        "{v}"
    );
    let send = |name: &'static str, value: &'static str| {
        let url = format!("{}/webhook/h2", d.http_url());
        async move {
            http1_client()
                .post(url)
                .header(name, value)
                .body("{\"n\":1}")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        send("X-Token", "***").await,
        401,
        "the mask is not the secret"
    );
    assert_eq!(send("X-Renamed", "***").await, 401);
    assert_eq!(
        send("X-Token", "real-token").await,
        200,
        "the stored value still works"
    );
    d.stop().await;
}

const SECRET: &str = "replay-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_github_request_is_published_once() {
    let d = TestDaemon::start("").await;
    let id = d
        .create_webhook(json!({"name": "gh", "verifier": "SIGNATURE_BASED",
            "secretValue": SECRET, "workflowsToStart": {"wf": 1}}))
        .await;
    let body = br#"{"action":"opened","number":7}"#.to_vec();
    let sig = sign::github_sha256(SECRET.as_bytes(), &body);
    let c = http1_client();
    let url = format!("{}/webhook/{id}", d.http_url());
    let send = |delivery: Option<String>| {
        let mut r = c
            .post(url.clone())
            .header("X-Hub-Signature-256", sig.clone())
            .body(body.clone());
        if let Some(dl) = delivery {
            r = r.header("X-GitHub-Delivery", dl);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    let original = "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_string();
    assert_eq!(send(Some(original.clone())).await, 200);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(send(Some(original.clone())).await);
    }
    for _ in 0..10 {
        statuses.push(send(Some(uuid::Uuid::new_v4().to_string())).await);
    }
    for _ in 0..10 {
        statuses.push(send(None).await);
    }
    assert!(
        statuses.iter().all(|s| *s == 200),
        "replays are answered 200: {statuses:?}"
    );
    // a different body is a different event
    let other = br#"{"action":"opened","number":8}"#.to_vec();
    let r = c
        .post(url.clone())
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(SECRET.as_bytes(), &other),
        )
        .header("X-GitHub-Delivery", uuid::Uuid::new_v4().to_string())
        .body(other.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let recs = consume_all(&d.bootstrap(), "events", 2, Duration::from_secs(10));
    let firsts = recs.iter().filter(|r| r.value == body).count();
    assert_eq!(
        firsts, 1,
        "31 deliveries of one signed request, published once"
    );
    assert_eq!(recs.len(), 2);
    let m = d.metrics_text().await;
    let replays: f64 = m
        .lines()
        .find(|l| l.starts_with("hookd_replays_total") && l.contains(&format!("\"{id}\"")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(replays >= 30.0, "{replays}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_by_ids_and_oversized_definitions() {
    let d = TestDaemon::start("").await;
    let gh = |id: &str| {
        json!({"id": id, "name": "gh", "verifier": "SIGNATURE_BASED", "secretValue": "s3cret-1",
            "workflowsToStart": {"wf": 1}, "createdBy": "mallory"})
    };
    let (s, v) = admin(&d, http::Method::POST, "", Some(gh("w1"))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["createdBy"], "admin", "the principal, not the body's");
    let (s, v) = admin(&d, http::Method::PUT, "/w1", Some(gh("w1"))).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["createdBy"], "admin", "a PUT cannot choose createdBy");
    for bad in [".", "..", "...", ".hidden", "-x", "a/b"] {
        let (s, v) = admin(&d, http::Method::POST, "", Some(gh(bad))).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    // 1.2 MB of tags: 413, nothing stored
    let mut big = gh("big");
    big["expression"] = json!("x".repeat(1_200_000));
    let (s, v) = admin(&d, http::Method::POST, "", Some(big)).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(admin(&d, http::Method::GET, "/big", None).await.0, 404);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_cannot_be_made_durable_is_503_and_changes_nothing() {
    let d = TestDaemon::start("").await;
    // the snapshot's temporary file cannot be created (a directory in its place; root ignores
    // permission bits, so chmod would not do)
    let blocker = d.state_dir.path().join("webhooks.json.tmp");
    std::fs::create_dir(&blocker).unwrap();
    let gh = json!({"id": "w", "name": "gh", "verifier": "SIGNATURE_BASED",
        "secretValue": "s3cret-1", "workflowsToStart": {"wf": 1}});
    let (s, v) = admin(&d, http::Method::POST, "", Some(gh.clone())).await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["code"], "store_unavailable");
    assert_eq!(
        admin(&d, http::Method::GET, "/w", None).await.0,
        404,
        "nothing changed"
    );
    // once the directory is writable again, the retry succeeds and survives a restart
    std::fs::remove_dir(&blocker).unwrap();
    let (s, v) = admin(&d, http::Method::POST, "", Some(gh)).await;
    assert_eq!(s, 200, "{v}");
    let dir = d.stop().await;
    let d2 = TestDaemon::start_with("embedded", "", Some(dir)).await;
    assert_eq!(d2.get_webhook("w").await.0, 200);
    d2.stop().await;
}
