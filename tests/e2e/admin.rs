//! Admin API: CRUD, auth, masking, validation, restart, sharing between instances.

use std::time::Duration;

use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

fn gh(secret: &str) -> serde_json::Value {
    json!({"name": "gh", "sourcePlatform": "Github", "verifier": "SIGNATURE_BASED",
        "headerKey": "X-Hub-Signature-256", "secretValue": secret,
        "workflowsToStart": {"wf": 1, "idempotencyKey": "${workflow.input.id}", "idempotencyStrategy": "RETURN_EXISTING"},
        "tags": [{"key": "team", "value": "a"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_auth_masking_and_validation() {
    let d = TestDaemon::start("").await;
    let c = admin_client();
    let base = format!("{}/api/metadata/webhook", d.admin_url());

    // auth: none, wrong, Bearer, X-Authorization
    assert_eq!(c.get(&base).send().await.unwrap().status(), 401);
    assert_eq!(
        c.get(&base)
            .header("X-Authorization", "wrong-token")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.get(&base)
            .header("Authorization", TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "the token without Bearer in Authorization is refused"
    );
    assert_eq!(
        c.get(&base)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // create: generated id, urlVerified false, secret masked, createdBy set
    let secret = "very-secret-value-42";
    let r = c
        .post(&base)
        .header("X-Authorization", TOKEN)
        .json(&gh(secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(secret), "secret leaked: {text}");
    let w: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = w["id"].as_str().unwrap().to_string();
    assert_eq!(w["urlVerified"], false);
    assert_eq!(w["secretValue"], "***");
    assert_eq!(w["createdBy"], "admin");
    assert_eq!(
        w["workflowsToStart"]["idempotencyStrategy"],
        "RETURN_EXISTING"
    );

    // list and get mask too
    for url in [base.clone(), format!("{base}/{id}")] {
        let t = c
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!t.contains(secret) && t.contains("***"), "{t}");
    }

    // update with "***" keeps the secret; the stored secret still verifies
    let mut upd = w.clone();
    upd["name"] = json!("gh-renamed");
    let r = c
        .put(format!("{base}/{id}"))
        .bearer_auth(TOKEN)
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["name"],
        "gh-renamed"
    );
    let body = b"{}";
    let r = http1_client()
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(secret.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // update keeps urlVerified even when the body says false
    upd["urlVerified"] = json!(false);
    let r = c
        .put(format!("{base}/{id}"))
        .bearer_auth(TOKEN)
        .json(&upd)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["urlVerified"],
        true
    );

    // tags
    let r = c
        .put(format!("{base}/{id}/tags"))
        .bearer_auth(TOKEN)
        .json(&json!([{"key": "env", "value": "prod"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tags: serde_json::Value = c
        .get(format!("{base}/{id}/tags"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tags,
        json!([{"key": "env", "value": "prod"}, {"key": "team", "value": "a"}])
    );
    let r = c
        .delete(format!("{base}/{id}/tags"))
        .bearer_auth(TOKEN)
        .json(&json!([{"key": "team", "value": "a"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        d.get_webhook(&id).await.1["tags"],
        json!([{"key": "env", "value": "prod"}])
    );

    // validation → 400 with a message
    let cases = [
        (
            json!({"name": "x", "verifier": "SIGNATURE_BASED", "secretValue": "s"}),
            "workflowsToStart",
        ),
        (
            json!({"name": "x", "verifier": "HEADER_BASED", "workflowsToStart": {"wf": 1}}),
            "headers",
        ),
        (
            json!({"name": "x", "verifier": "SIGNATURE_BASED", "workflowsToStart": {"wf": 1}}),
            "secretValue",
        ),
        (
            json!({"name": "x", "verifier": "HMAC_BASED", "secretValue": "not base64!", "workflowsToStart": {"wf": 1}}),
            "base64",
        ),
        (
            json!({"name": "x", "verifier": "SENDGRID", "secretKey": "AAAA", "workflowsToStart": {"wf": 1}}),
            "secretKey",
        ),
        (
            json!({"name": "x", "verifier": "NOPE", "workflowsToStart": {"wf": 1}}),
            "verifier",
        ),
        (
            json!({"name": "x", "verifier": "SIGNATURE_BASED", "secretValue": "s", "workflowsToStart": {"wf": "one"}}),
            "workflowsToStart",
        ),
    ];
    for (body, needle) in cases {
        let r = c
            .post(&base)
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: serde_json::Value = r.json().await.unwrap();
        let msg = v["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{needle} not in {msg}");
    }
    let r = c
        .post(&base)
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // client-supplied id that exists → 409; unknown id → 404
    let mut dup = gh("x");
    dup["id"] = json!(id);
    assert_eq!(
        c.post(&base)
            .bearer_auth(TOKEN)
            .json(&dup)
            .send()
            .await
            .unwrap()
            .status(),
        409
    );
    for r in [
        c.get(format!("{base}/nope"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
        c.put(format!("{base}/nope"))
            .bearer_auth(TOKEN)
            .json(&gh("x"))
            .send()
            .await
            .unwrap(),
        c.delete(format!("{base}/nope"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 404);
    }

    // delete
    assert_eq!(
        c.delete(format!("{base}/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(d.get_webhook(&id).await.0, 404);
    let r = http1_client()
        .post(format!("{}/webhook/{id}", d.http_url()))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // health, readiness, metrics; no secret anywhere in metrics
    assert_eq!(
        c.get(format!("{}/healthz", d.admin_url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{}/readyz", d.admin_url()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let m = d.metrics_text().await;
    assert!(m.contains("hookd_requests_total"), "{m}");
    assert!(m.contains("hookd_kafka_delivery_duration_seconds"), "{m}");
    assert!(!m.contains(secret));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_created_webhooks_survive_a_restart_on_the_embedded_broker() {
    let d = TestDaemon::start("").await;
    let secret = "restart-secret";
    let id = d.create_webhook(gh(secret)).await;
    let gone = d.create_webhook(gh("other")).await;
    let body = b"{\"before\":1}";
    let r = http1_client()
        .post(format!("{}/webhook/{id}", d.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(secret.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = admin_client()
        .delete(format!("{}/api/metadata/webhook/{gone}", d.admin_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let dir = d.stop().await;

    // a new process would get a new, empty mock cluster: so does this daemon
    let d2 = TestDaemon::start_with("embedded", "", Some(dir)).await;
    let (s, w) = d2.get_webhook(&id).await;
    assert_eq!(s, 200);
    assert_eq!(w["urlVerified"], true);
    assert_eq!(w["secretValue"], "***");
    assert_eq!(d2.get_webhook(&gone).await.0, 404, "deleted stays deleted");
    let r = http1_client()
        .post(format!("{}/webhook/{id}", d2.http_url()))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(secret.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the stored secret still verifies after restart"
    );
    d2.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_a_cluster_share_webhooks_and_url_verified() {
    let cluster = hookd_e2e::hookd::kafka::embedded::EmbeddedKafka::start(&[
        ("events".to_string(), 3),
        ("events.webhooks".to_string(), 1),
    ])
    .unwrap();
    let b = cluster.bootstrap_servers().to_string();
    let a = TestDaemon::start_with(&b, "", None).await;
    let z = TestDaemon::start_with(&b, "", None).await;
    assert!(a.daemon.wait_ready(Duration::from_secs(20)).await);
    assert!(z.daemon.wait_ready(Duration::from_secs(20)).await);
    let secret = "shared-secret";
    let id = a.create_webhook(gh(secret)).await;

    // created on A, served by B within a couple of seconds
    let body = b"{\"via\":\"b\"}";
    let mut status = 0;
    for _ in 0..50 {
        let r = http1_client()
            .post(format!("{}/webhook/{id}", z.http_url()))
            .header(
                "X-Hub-Signature-256",
                sign::github_sha256(secret.as_bytes(), body),
            )
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        status = r.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "B serves the webhook created on A");
    // verified on B, visible on A
    let mut verified = false;
    for _ in 0..50 {
        if a.get_webhook(&id).await.1["urlVerified"] == true {
            verified = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(verified, "urlVerified set through B shows on A");
    // deleted on B, gone on A
    let r = admin_client()
        .delete(format!("{}/api/metadata/webhook/{id}", z.admin_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut gone = false;
    for _ in 0..50 {
        if a.get_webhook(&id).await.0 == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone);
    a.stop().await;
    z.stop().await;
}
