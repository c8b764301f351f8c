//! Application keys and tokens: `POST /api/token`, `X-Authorization` and `Bearer`, the `read`
//! role, expiry, and tokens accepted by every instance that shares the keys.

use std::time::{Duration, Instant};

use hookd_e2e::*;
use sha2::{Digest, Sha256};

const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const ADMIN_SECRET: &str = "ci-admin-key-secret-0123456789abcdef";
const READ_SECRET: &str = "dashboard-key-secret-0123456789abcdef";

fn config(ttl: u64) -> String {
    let h = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
    format!(
        "#server\nsecrets_keys = [\"{K1}\"]\ntoken_ttl_secs = {ttl}\n\
         [[server.application_keys]]\nid = \"ci-admin\"\nsecret_sha256 = \"{}\"\nrole = \"admin\"\n\
         [[server.application_keys]]\nid = \"dashboard\"\nsecret_sha256 = \"{}\"\nrole = \"read\"\n",
        h(ADMIN_SECRET),
        h(READ_SECRET)
    )
}

async fn mint(d: &TestDaemon, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = admin_client()
        .post(format!("{}/api/token", d.admin_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}

async fn token(d: &TestDaemon, id: &str, secret: &str) -> String {
    let (s, v) = mint(d, json!({"keyId": id, "keySecret": secret})).await;
    assert_eq!(s, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// `method` on `path` of the admin API with `X-Authorization: credential`.
async fn call(
    d: &TestDaemon,
    method: http::Method,
    path: &str,
    credential: &str,
    body: Option<serde_json::Value>,
) -> (u16, String) {
    let mut r = admin_client()
        .request(method, format!("{}{path}", d.admin_url()))
        .header("X-Authorization", credential);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn hook(name: &str) -> serde_json::Value {
    json!({"name": name, "verifier": "SIGNATURE_BASED", "secretValue": "token-test-secret",
        "workflowsToStart": {"wf": 1}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_keys_exchange_secrets_for_tokens_with_roles() {
    let d = TestDaemon::start(&config(3600)).await;
    use http::Method;
    const LIST: &str = "/api/metadata/webhook";

    // wrong secret, unknown key: 401 alike; a malformed body: 400
    for body in [
        json!({"keyId": "ci-admin", "keySecret": "wrong"}),
        json!({"keyId": "nobody", "keySecret": ADMIN_SECRET}),
    ] {
        let (s, v) = mint(&d, body).await;
        assert_eq!(s, 401, "{v}");
        assert!(!v.to_string().contains(ADMIN_SECRET));
    }
    assert_eq!(mint(&d, json!({"keyId": "ci-admin"})).await.0, 400);
    let (s, v) = mint(&d, json!({"keyId": "ci-admin", "keySecret": 987654321})).await;
    assert_eq!(s, 400);
    assert!(!v.to_string().contains("987654321"), "{v}");

    // admin key: every call, createdBy is the key
    let admin = token(&d, "ci-admin", ADMIN_SECRET).await;
    let (s, t) = call(&d, Method::POST, LIST, &admin, Some(hook("by-key"))).await;
    assert_eq!(s, 200, "{t}");
    let w: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(w["createdBy"], "ci-admin");
    let id = w["id"].as_str().unwrap().to_string();
    let one = format!("{LIST}/{id}");
    let r = admin_client()
        .get(format!("{}{one}", d.admin_url()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "Authorization: Bearer <token>");

    // read key: GET only
    let read = token(&d, "dashboard", READ_SECRET).await;
    assert_eq!(call(&d, Method::GET, LIST, &read, None).await.0, 200);
    assert_eq!(call(&d, Method::GET, &one, &read, None).await.0, 200);
    assert_eq!(
        call(&d, Method::GET, &format!("{one}/tags"), &read, None)
            .await
            .0,
        200
    );
    let mut upd = w.clone();
    upd["name"] = json!("renamed");
    let (s, t) = call(&d, Method::PUT, &one, &read, Some(upd.clone())).await;
    assert_eq!(s, 403, "{t}");
    assert!(t.contains("forbidden"), "{t}");
    assert_eq!(
        call(&d, Method::POST, LIST, &read, Some(hook("no")))
            .await
            .0,
        403
    );
    assert_eq!(call(&d, Method::DELETE, &one, &read, None).await.0, 403);
    assert_eq!(
        call(
            &d,
            Method::PUT,
            &format!("{one}/tags"),
            &read,
            Some(json!([]))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        d.get_webhook(&id).await.1["name"],
        "by-key",
        "nothing changed"
    );

    // the static admin token keeps working, and is the createdBy of what it creates
    let (s, t) = call(&d, Method::PUT, &one, TOKEN, Some(upd)).await;
    assert_eq!(s, 200, "{t}");
    let (s, t) = call(&d, Method::POST, LIST, TOKEN, Some(hook("static"))).await;
    assert_eq!(
        (
            s,
            serde_json::from_str::<serde_json::Value>(&t).unwrap()["createdBy"].clone()
        ),
        (200, json!("admin"))
    );

    // altered tokens and junk: 401
    let parts: Vec<&str> = admin.split('.').collect();
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        parts[1].replacen('e', "f", 1),
        parts[2]
    );
    for bad in [altered.as_str(), "a.b.c", "Bearer", &format!("{admin}x")] {
        assert_eq!(call(&d, Method::GET, LIST, bad, None).await.0, 401, "{bad}");
    }

    // another instance with the same keys (not even the same cluster) accepts the token
    let other = TestDaemon::start(&config(3600)).await;
    assert_eq!(call(&other, Method::GET, LIST, &admin, None).await.0, 200);
    assert_eq!(
        call(&other, Method::PUT, &one, &read, Some(hook("x")))
            .await
            .0,
        403
    );
    // one with another sealing key does not
    let foreign = TestDaemon::start(
        &config(3600).replace(K1, "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="),
    )
    .await;
    assert_eq!(call(&foreign, Method::GET, LIST, &admin, None).await.0, 401);

    // no token or key secret in the metrics
    let m = d.metrics_text().await;
    assert!(m.contains("hookd_token_requests_total"), "{m}");
    for s in [admin.as_str(), &read, ADMIN_SECRET, READ_SECRET] {
        assert!(!m.contains(s));
    }
    foreign.stop().await;
    other.stop().await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_after_the_configured_ttl() {
    let ttl = 2;
    let d = TestDaemon::start(&config(ttl)).await;
    let minted = Instant::now();
    let t = token(&d, "dashboard", READ_SECRET).await;
    let (s, _) = call(&d, http::Method::GET, "/api/metadata/webhook", &t, None).await;
    // Accepted while fresh (checked only if this machine was quick enough to ask in time).
    if minted.elapsed() < Duration::from_secs(ttl - 1) {
        assert_eq!(s, 200);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (s, _) = call(&d, http::Method::GET, "/api/metadata/webhook", &t, None).await;
        if s == 401 {
            break;
        }
        assert_eq!(s, 200);
        assert!(Instant::now() < deadline, "the token never expired");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        minted.elapsed() >= Duration::from_secs(ttl - 1),
        "expired too early"
    );
    d.stop().await;
}
