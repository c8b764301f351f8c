//! WebAssembly verifier plugins, built from source (`plugins/`): through the real host, and
//! through the real HTTP path of a daemon with `[plugins] dir` — the shared vectors accept and
//! reject, handshakes answer and mark the URL verified, hostile plugins are contained while other
//! webhooks keep answering, and a reload picks up new plugins without lifting a plugin's
//! concurrency limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::Signer;
use hmac::{Hmac, Mac};
use hookd_e2e::hookd::model::WebhookConfig;
use hookd_e2e::hookd::plugin::sandbox::bindings::hookd::verifier::types::{
    Request, Scheme, Settings,
};
use hookd_e2e::hookd::plugin::{Failure, Limits, Origin, PluginHost, PluginLink, PluginVerifier};
use hookd_e2e::hookd::verify::{sign, Outcome, Reject, Reply, RequestParts, VerifyContext};
use hookd_e2e::*;
use serde_json::Value;
use sha2::Sha256;

const FIRST_PARTY: [&str; 5] = ["standard-webhooks", "shopify", "discord", "zoom", "meta"];
const HOSTILE: [&str; 4] = ["loop", "memory-bomb", "trap", "oversized-output"];

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_string()
}

fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(data);
    hex::encode(m.finalize().into_bytes())
}

fn plus_one(b: &[u8]) -> Vec<u8> {
    let mut b = b.to_vec();
    b.push(b' ');
    b
}

/// Creates a `WASM_PLUGIN` webhook; `extra` adds fields.
async fn plugin_hook(d: &TestDaemon, plugin: &str, extra: Value) -> String {
    let mut cfg = json!({"name": format!("{plugin}-hook"), "verifier": "WASM_PLUGIN",
        "plugin": plugin, "workflowsToStart": {"wf": 1}});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    d.create_webhook(cfg).await
}

struct Answer {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn error(&self) -> String {
        serde_json::from_slice::<Value>(&self.body).map_or(String::new(), |v| s(&v, "error"))
    }
}

async fn send(
    d: &TestDaemon,
    method: http::Method,
    path_and_query: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Answer {
    let mut rb = http1_client().request(method, format!("{}{path_and_query}", d.http_url()));
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    let r = rb.body(body.to_vec()).send().await.unwrap();
    Answer {
        status: r.status().as_u16(),
        content_type: r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: r.bytes().await.unwrap().to_vec(),
    }
}

async fn post(d: &TestDaemon, id: &str, headers: &[(&str, String)], body: &[u8]) -> Answer {
    send(
        d,
        http::Method::POST,
        &format!("/webhook/{id}"),
        headers,
        body,
    )
    .await
}

async fn admin(
    d: &TestDaemon,
    method: http::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = admin_client()
        .request(method, format!("{}{path}", d.admin_url()))
        .header("X-Authorization", TOKEN);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn sw_headers(v: &Value, family: &str, sig: String) -> Vec<(&'static str, String)> {
    let names: [&'static str; 3] = if family == "svix" {
        ["svix-id", "svix-timestamp", "svix-signature"]
    } else {
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
    };
    vec![
        (names[0], s(v, "webhook-id")),
        (names[1], s(v, "webhook-timestamp")),
        (names[2], sig),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_party_plugins_accept_and_reject_the_shared_vectors() {
    let dir = plugins::dir_with(&FIRST_PARTY);
    // Vectors resend identical signed requests on purpose; replay protection has its own tests.
    let d = TestDaemon::start(&format!(
        "#server\nreplay_window_secs = 0\n{}",
        plugins::config(dir.path(), 200)
    ))
    .await;
    let v = vectors();
    let mut accepted: Vec<(String, Vec<u8>, Option<String>)> = Vec::new();

    // Standard Webhooks: SW-1, SW-2; both header families; stale, body+1, wrong secret, missing.
    for sw in v["standardwebhooks"].as_array().unwrap() {
        let (body, ts) = (b64(&s(sw, "body_b64")), s(sw, "webhook-timestamp"));
        let ts: i64 = ts.parse().unwrap();
        let id = plugin_hook(
            &d,
            "standard-webhooks",
            json!({"secretValue": s(sw, "secret")}),
        )
        .await;
        let wrong = plugin_hook(
            &d,
            "standard-webhooks",
            json!({"secretValue": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSX"}),
        )
        .await;
        let sig = s(sw, "webhook-signature");
        d.set_now(ts + 299);
        for family in ["webhook", "svix"] {
            let r = post(&d, &id, &sw_headers(sw, family, sig.clone()), &body).await;
            assert_eq!(r.status, 200, "{} {family}", sw["name"]);
        }
        accepted.push((id.clone(), body.clone(), Some(s(sw, "webhook-id"))));
        accepted.push((id.clone(), body.clone(), Some(s(sw, "webhook-id"))));
        let hs = sw_headers(sw, "webhook", sig.clone());
        assert_eq!(
            post(&d, &id, &hs, &plus_one(&body)).await.error(),
            "bad_signature"
        );
        assert_eq!(post(&d, &wrong, &hs, &body).await.error(), "bad_signature");
        assert_eq!(
            post(&d, &id, &hs[..2], &body).await.error(),
            "missing_signature"
        );
        d.set_now(ts + 301);
        let stale = post(&d, &id, &hs, &body).await;
        assert_eq!(
            (stale.status, stale.error()),
            (401, "stale_timestamp".into())
        );
        d.set_now(ts - 301);
        assert_eq!(post(&d, &id, &hs, &body).await.error(), "stale_timestamp");
    }

    // Rotation: the sender lists an old and a new signature; the webhook has a wrong
    // `secretValue` and the right key in `pluginSecrets`. Unknown versions (v1a) are ignored.
    let sw = &v["standardwebhooks"][0];
    let body = b64(&s(sw, "body_b64"));
    d.set_now(s(sw, "webhook-timestamp").parse().unwrap());
    let rot = plugin_hook(
        &d,
        "standard-webhooks",
        json!({"secretValue": "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
               "pluginSecrets": [s(sw, "secret")], "toleranceSeconds": 60}),
    )
    .await;
    let multi = format!(
        "v1a,AAAA v1,Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg= {}",
        s(sw, "webhook-signature")
    );
    assert_eq!(
        post(&d, &rot, &sw_headers(sw, "webhook", multi), &body)
            .await
            .status,
        200
    );
    accepted.push((rot.clone(), body.clone(), Some(s(sw, "webhook-id"))));
    let only_bad = "v1,Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg=".to_string();
    assert_eq!(
        post(&d, &rot, &sw_headers(sw, "webhook", only_bad), &body)
            .await
            .error(),
        "bad_signature"
    );
    // pluginSecrets are masked, and "***" on update keeps them
    let (_, shown) = d.get_webhook(&rot).await;
    assert_eq!(shown["pluginSecrets"], json!(["***"]));
    assert_eq!(shown["secretValue"], "***");
    assert!(!shown.to_string().contains(&s(sw, "secret")));
    let (st, _) = admin(
        &d,
        http::Method::PUT,
        &format!("/api/metadata/webhook/{rot}"),
        Some(shown),
    )
    .await;
    assert_eq!(st, 200);
    let sig = s(sw, "webhook-signature");
    assert_eq!(
        post(&d, &rot, &sw_headers(sw, "webhook", sig), &body)
            .await
            .status,
        200
    );
    accepted.push((rot.clone(), body.clone(), Some(s(sw, "webhook-id"))));

    // Shopify
    let sh = &v["misc"]["shopify"];
    let body = b64(&s(sh, "body_b64"));
    let shop = plugin_hook(&d, "shopify", json!({"secretValue": s(sh, "secret")})).await;
    let shop_wrong = plugin_hook(&d, "shopify", json!({"secretValue": "shpss_other"})).await;
    let hs = vec![
        ("X-Shopify-Hmac-Sha256", s(sh, "X-Shopify-Hmac-Sha256")),
        (
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".to_string(),
        ),
    ];
    assert_eq!(post(&d, &shop, &hs, &body).await.status, 200);
    accepted.push((shop.clone(), body.clone(), Some(hs[1].1.clone())));
    assert_eq!(
        post(&d, &shop, &hs, &plus_one(&body)).await.error(),
        "bad_signature"
    );
    assert_eq!(
        post(&d, &shop_wrong, &hs, &body).await.error(),
        "bad_signature"
    );
    assert_eq!(
        post(&d, &shop, &[], &body).await.error(),
        "missing_signature"
    );

    // Discord: the PING is a handshake (200 {"type":1}, URL verified, nothing published); a
    // signed interaction is accepted; Discord's deliberately bad signatures get 401.
    let dc = &v["discord"][0];
    let body = b64(&s(dc, "body_b64"));
    let disc = plugin_hook(
        &d,
        "discord",
        json!({"pluginParams": {"publicKey": s(dc, "public_key_hex")}}),
    )
    .await;
    let hs = vec![
        ("X-Signature-Ed25519", s(dc, "X-Signature-Ed25519")),
        ("X-Signature-Timestamp", s(dc, "X-Signature-Timestamp")),
    ];
    assert_eq!(d.get_webhook(&disc).await.1["urlVerified"], false);
    let pong = post(&d, &disc, &hs, &body).await;
    assert_eq!(pong.status, 200);
    assert_eq!(pong.content_type.as_deref(), Some("application/json"));
    assert_eq!(pong.body, s(dc, "expected_response").as_bytes());
    assert_eq!(d.get_webhook(&disc).await.1["urlVerified"], true);
    assert_eq!(post(&d, &disc, &hs, &plus_one(&body)).await.status, 401);
    let seed: [u8; 32] = hex::decode(s(dc, "ed25519_seed_hex"))
        .unwrap()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let cmd = br#"{"id":"1122334455","type":2,"data":{"name":"hello"}}"#.to_vec();
    let ts = "1700000100";
    let sig = hex::encode(key.sign(&[ts.as_bytes(), &cmd].concat()).to_bytes());
    let hs2 = vec![
        ("X-Signature-Ed25519", sig),
        ("X-Signature-Timestamp", ts.to_string()),
    ];
    assert_eq!(post(&d, &disc, &hs2, &cmd).await.status, 200);
    accepted.push((disc.clone(), cmd.clone(), Some("1122334455".into())));

    // Zoom: ZM-1, and endpoint.url_validation — answered only when signed.
    let zm = &v["zoom"][0];
    let body = b64(&s(zm, "body_b64"));
    let zoom = plugin_hook(&d, "zoom", json!({"secretValue": s(zm, "secret_token")})).await;
    let hs = vec![
        ("x-zm-signature", s(zm, "x-zm-signature")),
        ("x-zm-request-timestamp", s(zm, "x-zm-request-timestamp")),
    ];
    assert_eq!(post(&d, &zoom, &hs, &body).await.status, 200);
    accepted.push((zoom.clone(), body.clone(), None));
    assert_eq!(
        post(&d, &zoom, &hs, &plus_one(&body)).await.error(),
        "bad_signature"
    );
    let uv = serde_json::to_vec(&zm["url_validation"]["request_body"]).unwrap();
    assert_eq!(post(&d, &zoom, &[], &uv).await.error(), "missing_signature");
    let ts = "1700000200";
    let secret = s(zm, "secret_token");
    let signed = [b"v0:".as_slice(), ts.as_bytes(), b":", &uv].concat();
    let hs = vec![
        (
            "x-zm-signature",
            format!("v0={}", hmac_hex(secret.as_bytes(), &signed)),
        ),
        ("x-zm-request-timestamp", ts.to_string()),
    ];
    let r = post(&d, &zoom, &hs, &uv).await;
    assert_eq!(
        (r.status, r.content_type.as_deref()),
        (200, Some("application/json"))
    );
    let got: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(got, zm["url_validation"]["response_body"]);

    // Meta: GET hub.challenge (only plugins answer GET), then a signed POST.
    let mt = &v["misc"]["meta"];
    let body = b64(&s(mt, "body_b64"));
    let meta = plugin_hook(
        &d,
        "meta",
        json!({"secretValue": s(mt, "app_secret"), "pluginParams": {"verifyToken": "tok en&1"}}),
    )
    .await;
    let q = |tok: &str| {
        format!(
            "/webhook/{meta}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={tok}"
        )
    };
    let bad = send(&d, http::Method::GET, &q("nope"), &[], b"").await;
    assert_eq!(bad.status, 401);
    assert_eq!(d.get_webhook(&meta).await.1["urlVerified"], false);
    let ok = send(&d, http::Method::GET, &q("tok+en%261"), &[], b"").await;
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (200, b"1158201444".as_slice())
    );
    assert_eq!(ok.content_type.as_deref(), Some("text/plain"));
    assert_eq!(d.get_webhook(&meta).await.1["urlVerified"], true);
    let hs = vec![("X-Hub-Signature-256", s(mt, "X-Hub-Signature-256"))];
    assert_eq!(post(&d, &meta, &hs, &body).await.status, 200);
    accepted.push((meta.clone(), body.clone(), None));
    assert_eq!(
        post(&d, &meta, &hs, &plus_one(&body)).await.error(),
        "bad_signature"
    );

    // Every accepted request is in Kafka byte for byte, keyed by its delivery id; nothing else.
    let recs = consume_all(
        &d.bootstrap(),
        "events",
        accepted.len(),
        Duration::from_secs(15),
    );
    assert_eq!(
        recs.len(),
        accepted.len(),
        "exactly the accepted requests are in Kafka"
    );
    for (id, body, delivery) in &accepted {
        let r = recs
            .iter()
            .find(|r| r.header("hookd-webhook-id") == Some(id) && r.value == *body)
            .unwrap_or_else(|| panic!("record of {id} missing"));
        if let Some(dlv) = delivery {
            assert_eq!(r.key, format!("{id}/{dlv}"));
        }
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_validation_and_get_routing() {
    let dir = plugins::dir_with(&["shopify"]);
    let d = TestDaemon::start(&plugins::config(dir.path(), 200)).await;
    let create = |body: Value| admin(&d, http::Method::POST, "/api/metadata/webhook", Some(body));
    let (st, v) = create(
        json!({"name": "x", "verifier": "WASM_PLUGIN", "plugin": "no-such-plugin",
        "workflowsToStart": {"wf": 1}}),
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        v["message"].as_str().unwrap().contains("no-such-plugin"),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains("shopify"),
        "lists what is loaded: {v}"
    );
    let (st, v) =
        create(json!({"name": "x", "verifier": "WASM_PLUGIN", "workflowsToStart": {"wf": 1}}))
            .await;
    assert_eq!(st, 400);
    assert!(v["message"].as_str().unwrap().contains("plugin"), "{v}");

    // GET reaches only plugin webhooks; built-in verifiers refuse it (405, Allow: POST).
    let gh = d
        .create_webhook(
            json!({"name": "gh", "verifier": "SIGNATURE_BASED", "secretValue": "s3cret",
            "workflowsToStart": {"wf": 1}}),
        )
        .await;
    let r = send(&d, http::Method::GET, &format!("/webhook/{gh}"), &[], b"").await;
    assert_eq!((r.status, r.error()), (405, "method_not_allowed".into()));
    let shop = plugin_hook(&d, "shopify", json!({"secretValue": "k"})).await;
    let r = send(&d, http::Method::GET, &format!("/webhook/{shop}"), &[], b"").await;
    assert_eq!(
        (r.status, r.error()),
        (401, "missing_signature".into()),
        "the plugin decided"
    );
    d.stop().await;

    // A static webhook naming a plugin that is not loaded stops the start, naming it.
    let state = tempfile::tempdir().unwrap();
    let text = base_config(
        state.path(),
        "embedded",
        &format!(
            "{}[[webhooks]]\nid = \"s\"\nname = \"s\"\nverifier = \"WASM_PLUGIN\"\n\
             plugin = \"zoom\"\nworkflowsToStart = {{ wf = 1 }}\n",
            plugins::config(dir.path(), 200)
        ),
    );
    let cfg = hookd_e2e::hookd::config::Config::from_toml(&text).unwrap();
    let err = match hookd_e2e::hookd::Daemon::start(cfg, Default::default()).await {
        Ok(_) => panic!("started with an unknown plugin"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("`zoom` is not loaded"), "{err}");

    // A daemon without [plugins] refuses WASM_PLUGIN webhooks.
    let d = TestDaemon::start("").await;
    let (st, v) = admin(
        &d,
        http::Method::POST,
        "/api/metadata/webhook",
        Some(json!({"name": "x",
        "verifier": "WASM_PLUGIN", "plugin": "shopify", "workflowsToStart": {"wf": 1}})),
    )
    .await;
    assert_eq!(st, 400);
    assert!(
        v["message"].as_str().unwrap().contains("[plugins] dir"),
        "{v}"
    );
    let (st, _) = admin(&d, http::Method::POST, "/api/admin/plugins/reload", None).await;
    assert_eq!(st, 404);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_are_contained_while_other_webhooks_answer() {
    let all: Vec<&str> = HOSTILE.iter().chain(&["shopify"]).copied().collect();
    let dir = plugins::dir_with(&all);
    // The memory bomb must reach the memory limit before its deadline even on a busy machine:
    // filling the default 16 MiB takes about 20 ms of CPU here, so with a 20 ms deadline and
    // two other CPU-bound processes it was stopped by the deadline instead. 4 MiB and 100 ms.
    let cfg = format!(
        "{}memory_limit_bytes = 4194304\n",
        plugins::config(dir.path(), 100)
    );
    let d = TestDaemon::start(&cfg).await;
    let gh_secret = "gh-secret";
    let gh = d
        .create_webhook(
            json!({"name": "gh", "verifier": "SIGNATURE_BASED", "secretValue": gh_secret,
            "workflowsToStart": {"wf": 1}}),
        )
        .await;
    let shop = plugin_hook(&d, "shopify", json!({"secretValue": "shop-secret"})).await;
    let lp = plugin_hook(&d, "loop", json!({})).await;
    let bomb = plugin_hook(&d, "memory-bomb", json!({})).await;
    let trap = plugin_hook(&d, "trap", json!({})).await;
    let mut garbage = Vec::new();
    for mode in ["body", "delivery-id", "status", "content-type"] {
        garbage.push(
            plugin_hook(
                &d,
                "oversized-output",
                json!({"pluginParams": {"mode": mode}}),
            )
            .await,
        );
    }

    // The loop plugin is hammered while the GitHub and Shopify webhooks keep answering.
    let body = br#"{"ok":true}"#;
    let shop_sig = {
        let mut m = Hmac::<Sha256>::new_from_slice(b"shop-secret").unwrap();
        m.update(body);
        base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
    };
    let mut hostile = Vec::new();
    for _ in 0..12 {
        let (d, lp) = (&d, &lp);
        hostile.push(async move { post(d, lp, &[], body).await });
    }
    // Distinct bodies: identical signed requests would be replays, published once.
    let mut good = Vec::new();
    for i in 0..12 {
        let (d, gh, shop) = (&d, &gh, &shop);
        let body = format!(r#"{{"ok":true,"n":{i}}}"#).into_bytes();
        good.push(async move {
            if i % 2 == 0 {
                let sig = sign::github_sha256(gh_secret.as_bytes(), &body);
                post(d, gh, &[("X-Hub-Signature-256", sig)], &body).await
            } else {
                let mut m = Hmac::<Sha256>::new_from_slice(b"shop-secret").unwrap();
                m.update(&body);
                let sig =
                    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
                post(d, shop, &[("X-Shopify-Hmac-Sha256", sig)], &body).await
            }
        });
    }
    let (hostile, good) = tokio::join!(
        futures::future::join_all(hostile),
        futures::future::join_all(good)
    );
    for r in &hostile {
        assert_eq!((r.status, r.error()), (500, "plugin_error".into()));
    }
    for r in &good {
        assert_eq!(r.status, 200, "other webhooks keep answering");
    }

    for id in [&bomb, &trap].into_iter().chain(&garbage) {
        let r = post(&d, id, &[], body).await;
        assert_eq!(
            (r.status, r.error()),
            (500, "plugin_error".into()),
            "webhook {id}"
        );
        assert!(!String::from_utf8_lossy(&r.body).contains("xxxx"));
    }
    // Still healthy afterwards, nothing hostile published.
    assert_eq!(
        post(
            &d,
            &shop,
            &[("X-Shopify-Hmac-Sha256", shop_sig.clone())],
            body
        )
        .await
        .status,
        200
    );
    let recs = consume_all(
        &d.bootstrap(),
        "events",
        good.len() + 1,
        Duration::from_secs(15),
    );
    assert_eq!(recs.len(), good.len() + 1);
    let m = d.metrics_text().await;
    for (plugin, kind) in [
        ("loop", "deadline"),
        ("memory-bomb", "memory"),
        ("trap", "trap"),
        ("oversized-output", "output"),
    ] {
        assert!(
            metric(
                &m,
                "hookd_plugin_errors_total",
                &[("plugin", plugin), ("kind", kind)]
            ) >= 1.0,
            "{plugin}/{kind} counted:\n{m}"
        );
    }
    assert!(m.contains("reason=\"plugin_error\""));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_at_its_concurrency_limit_answers_503() {
    // One call at a time, each loop call held for at least 650 ms: of three concurrent
    // requests the last in line waits at least 1.3 s for the slot, past the 1 s admission wait,
    // while the second gets it once the first call ends, with 350 ms to spare for a loaded
    // machine.
    let dir = plugins::dir_with(&["loop"]);
    let cfg = format!(
        "{}max_concurrent_calls = 1\n",
        plugins::config(dir.path(), 650)
    );
    let d = TestDaemon::start(&cfg).await;
    let lp = plugin_hook(&d, "loop", json!({})).await;
    let calls = (0..3).map(|_| post(&d, &lp, &[], b"{}"));
    let mut got: Vec<(u16, String)> = futures::future::join_all(calls)
        .await
        .iter()
        .map(|r| (r.status, r.error()))
        .collect();
    got.sort();
    assert_eq!(
        got[..2],
        [
            (500, "plugin_error".to_string()),
            (500, "plugin_error".to_string())
        ]
    );
    assert_eq!(got[2], (503, "plugin_busy".to_string()));
    assert!(
        metric(
            &d.metrics_text().await,
            "hookd_plugin_errors_total",
            &[("plugin", "loop"), ("kind", "busy")]
        ) >= 1.0
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_picks_up_new_plugins_and_keeps_the_rest() {
    let dir = plugins::dir_with(&["shopify"]);
    let d = TestDaemon::start(&plugins::config(dir.path(), 200)).await;
    let shop = plugin_hook(&d, "shopify", json!({"secretValue": "k"})).await;
    let (st, _) = admin(
        &d,
        http::Method::POST,
        "/api/metadata/webhook",
        Some(json!({"name": "z",
        "verifier": "WASM_PLUGIN", "plugin": "zoom", "workflowsToStart": {"wf": 1}})),
    )
    .await;
    assert_eq!(st, 400, "zoom is not loaded yet");

    // Unauthenticated reload is refused.
    let r = admin_client()
        .post(format!("{}/api/admin/plugins/reload", d.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A new plugin and a broken file: the new one loads, the broken one is reported.
    plugins::install(dir.path(), "zoom");
    std::fs::write(dir.path().join("broken.wasm"), b"\0asm not really").unwrap();
    let (st, rep) = admin(&d, http::Method::POST, "/api/admin/plugins/reload", None).await;
    assert_eq!(st, 200);
    assert_eq!(rep["loaded"], json!(["shopify", "zoom"]), "{rep}");
    assert!(rep["failed"]["broken"].as_str().is_some(), "{rep}");
    let zm = &vectors()["zoom"][0];
    let zoom = plugin_hook(&d, "zoom", json!({"secretValue": s(zm, "secret_token")})).await;
    let hs = vec![
        ("x-zm-signature", s(zm, "x-zm-signature")),
        ("x-zm-request-timestamp", s(zm, "x-zm-request-timestamp")),
    ];
    assert_eq!(
        post(&d, &zoom, &hs, &b64(&s(zm, "body_b64"))).await.status,
        200
    );

    // SIGHUP reloads too (the daemon's handler is installed by the time start returns).
    plugins::install(dir.path(), "discord");
    let st = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut names = Value::Null;
    for _ in 0..100 {
        names = admin(&d, http::Method::GET, "/api/admin/plugins", None)
            .await
            .1["loaded"]
            .clone();
        if names
            .as_array()
            .is_some_and(|a| a.contains(&json!("discord")))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(names, json!(["discord", "shopify", "zoom"]));

    // Removing the file of a plugin a webhook uses: it stays loaded, reported with the webhook.
    std::fs::remove_file(dir.path().join("shopify.wasm")).unwrap();
    let (_, rep) = admin(&d, http::Method::POST, "/api/admin/plugins/reload", None).await;
    assert_eq!(rep["loaded"], json!(["discord", "shopify", "zoom"]));
    assert!(
        rep["failed"]["shopify"].as_str().unwrap().contains(&shop),
        "{rep}"
    );
    let r = post(
        &d,
        &shop,
        &[("X-Shopify-Hmac-Sha256", "AAAA".into())],
        b"{}",
    )
    .await;
    assert_eq!((r.status, r.error()), (401, "bad_signature".into()));
    // Once no webhook uses it, a reload unloads it.
    let (st, _) = admin(
        &d,
        http::Method::DELETE,
        &format!("/api/metadata/webhook/{shop}"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    let (_, rep) = admin(&d, http::Method::POST, "/api/admin/plugins/reload", None).await;
    assert_eq!(rep["loaded"], json!(["discord", "zoom"]), "{rep}");
    assert!(rep["failed"].get("shopify").is_none(), "{rep}");
    d.stop().await;
}

/// `component` with a custom section appended: the same plugin in a different file, which a
/// reload compiles as a new version (an unchanged file keeps the loaded one).
fn with_custom_section(component: &[u8], payload: &[u8]) -> Vec<u8> {
    let name = b"hookd-test";
    let mut section = vec![name.len() as u8];
    section.extend_from_slice(name);
    section.extend_from_slice(payload);
    assert!(
        section.len() < 128,
        "the size is written as one LEB128 byte"
    );
    let mut out = component.to_vec();
    out.push(0); // custom section id
    out.push(section.len() as u8);
    out.extend(section);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_while_a_call_is_in_flight_keeps_the_concurrency_limit() {
    // One call at a time; a loop call holds its slot for at least its 6 s deadline (wall clock).
    // The first call is admitted, then the plugin file changes and is reloaded (a new version,
    // as a new build would be), then a second call comes in. The new version must not run it
    // beside the first call: the second waits for the one slot and is answered 503 plugin_busy
    // after the 1 s admission wait — or, should the reload have taken so long that the first
    // call ended within that second, it gets the slot then and ends at its own deadline, at
    // least two deadlines after the first request was sent. Were the new version given slots of
    // its own, the second call would run at once, beside the first, and end in 500 plugin_error
    // a deadline after the reload.
    const DEADLINE: Duration = Duration::from_secs(6);
    let dir = plugins::dir_with(&["loop"]);
    let cfg = format!(
        "{}max_concurrent_calls = 1\n",
        plugins::config(dir.path(), DEADLINE.as_millis() as u64)
    );
    let d = TestDaemon::start(&cfg).await;
    let lp = plugin_hook(&d, "loop", json!({})).await;
    let sent = Instant::now();
    let first = async {
        let r = post(&d, &lp, &[], b"{}").await;
        (r, sent.elapsed())
    };
    let reload_then_second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let v2 = with_custom_section(&std::fs::read(plugins::wasm("loop")).unwrap(), b"v2");
        std::fs::write(dir.path().join("loop.wasm"), v2).unwrap();
        let (st, rep) = admin(&d, http::Method::POST, "/api/admin/plugins/reload", None).await;
        let reloaded = sent.elapsed();
        assert_eq!(st, 200, "{rep}");
        assert_eq!(rep["loaded"], json!(["loop"]), "{rep}");
        assert_eq!(rep["failed"], json!({}), "{rep}");
        let r = post(&d, &lp, &[], b"{}").await;
        (r, reloaded, sent.elapsed())
    };
    let ((first, first_done), (second, reloaded, second_done)) =
        tokio::join!(first, reload_then_second);
    let times = format!(
        "after the first request: reloaded at {reloaded:?}, first answered at {first_done:?}, \
         second at {second_done:?}"
    );
    assert!(
        reloaded < first_done,
        "the reload did not happen while the first call was in flight (test premise); {times}"
    );
    assert_eq!(
        (first.status, first.error()),
        (500, "plugin_error".into()),
        "the first call ends at its deadline; {times}"
    );
    match (second.status, second.error().as_str()) {
        (503, "plugin_busy") => {}
        // A tick of slack: deadlines are counted in 1 ms epoch ticks.
        (500, "plugin_error") => assert!(
            second_done >= 2 * DEADLINE - Duration::from_millis(100),
            "the reloaded plugin ran a call beside the one still in flight; {times}"
        ),
        other => panic!("second call: {other:?}; {times}"),
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admitted_call_runs_on_the_plugin_version_it_was_admitted_with() {
    // Version 1 of plugin `p` is noop (rejects with missing-signature), version 2 is trap
    // (every call fails); one call at a time. No timing: the test holds the slot itself.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.wasm");
    std::fs::copy(plugins::wasm("noop"), &file).unwrap();
    let limits = Limits {
        memory_bytes: 16 << 20,
        deadline_ticks: 1000,
        pool_size: 4,
        max_concurrent_calls: 1,
        max_output_bytes: 64 << 10,
        log_lines_per_second: 20,
    };
    let host = Arc::new(PluginHost::new(dir.path().to_path_buf(), limits).unwrap());
    assert!(host.reload().failed.is_empty());
    let cfg: WebhookConfig = serde_json::from_value(json!({"id": "w", "name": "p",
        "verifier": "WASM_PLUGIN", "plugin": "p", "workflowsToStart": {"wf": 1}}))
    .unwrap();
    let pv = PluginVerifier::new(&PluginLink::Host(host.clone()), &cfg).unwrap();
    let (method, headers) = (http::Method::POST, http::HeaderMap::new());
    let parts = RequestParts {
        method: &method,
        headers: &headers,
        query: None,
        body: b"{}",
    };
    let ctx = VerifyContext {
        now_unix: 0,
        url_verified: false,
    };

    let slot = pv.admit().await.expect("a free slot");
    std::fs::copy(plugins::wasm("trap"), &file).unwrap();
    let rep = host.reload();
    assert!(rep.failed.is_empty(), "{rep:?}");
    assert_eq!(
        pv.verify(&parts, &ctx),
        Err(Reject::PluginError),
        "the table holds version 2 now"
    );
    // The call admitted before the reload runs on version 1, whose slot it holds.
    assert_eq!(
        pv.verify_in(&slot, &parts, &ctx, &Origin::default()),
        Err(Reject::MissingSignature)
    );
    // Version 2 took over version 1's slots: while that call is admitted, another one waits
    // (1 s) and is refused.
    assert!(pv.admit().await.is_err(), "a second call was admitted");
    drop(slot);
    let slot = pv.admit().await.expect("the slot is free again");
    assert_eq!(
        pv.verify_in(&slot, &parts, &ctx, &Origin::default()),
        Err(Reject::PluginError),
        "new calls run on version 2"
    );
}

/// A hostile plugin, its params, and the failure it must produce.
type HostileCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Failure,
);

fn host_with(names: &[&str], deadline_ms: u64) -> (tempfile::TempDir, PluginHost) {
    let dir = plugins::dir_with(names);
    let limits = Limits {
        // small, so the memory bomb reaches it long before its deadline on a busy machine
        memory_bytes: 4 << 20,
        deadline_ticks: deadline_ms,
        pool_size: 4,
        max_concurrent_calls: 4,
        max_output_bytes: 64 << 10,
        log_lines_per_second: 20,
    };
    let host = PluginHost::new(dir.path().to_path_buf(), limits).unwrap();
    let rep = host.reload();
    assert!(rep.failed.is_empty(), "{rep:?}");
    (dir, host)
}

/// A request for [`PluginHost::call`], owning what the WIT request borrows.
#[derive(Clone)]
struct TestRequest {
    headers: String,
    body: Vec<u8>,
    now: i64,
    secrets: Vec<String>,
    params: Vec<(String, String)>,
}

impl TestRequest {
    fn wit(&self) -> (Vec<&str>, Vec<(&str, &str)>) {
        (
            self.secrets.iter().map(String::as_str).collect(),
            self.params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        )
    }

    fn call(&self, host: &PluginHost, plugin: &str, fresh: bool) -> Result<Checked, Failure> {
        let (secrets, params) = self.wit();
        let req = Request {
            method: "POST",
            target: "/webhook/test",
            headers: &self.headers,
            body: &self.body,
            now_unix_seconds: self.now,
            url_verified: false,
            settings: Settings {
                secrets: &secrets,
                params: &params,
                tolerance_seconds: None,
            },
            scheme: Scheme::Https,
            authority: "hooks.example.com",
            url: "https://hooks.example.com/webhook/test",
        };
        if fresh {
            host.call_fresh(plugin, req)
        } else {
            host.call(plugin, req)
        }
    }
}

type Checked = Result<Outcome, Reject>;

fn request(
    params: &[(&str, &str)],
    secrets: &[&str],
    headers: &[(&str, &str)],
    body: &[u8],
    now: i64,
) -> TestRequest {
    TestRequest {
        headers: headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        body: body.to_vec(),
        now,
        secrets: secrets.iter().map(|s| s.to_string()).collect(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn host_classifies_each_hostile_plugin_and_keeps_serving() {
    let names: Vec<&str> = HOSTILE
        .iter()
        .chain(&["standard-webhooks"])
        .copied()
        .collect();
    let (_dir, host) = host_with(&names, 100);
    let v = vectors();
    let sw = &v["standardwebhooks"][1];
    let body = b64(&s(sw, "body_b64"));
    let (id, ts, sig) = (
        s(sw, "webhook-id"),
        s(sw, "webhook-timestamp"),
        s(sw, "webhook-signature"),
    );
    let good = request(
        &[],
        &[&s(sw, "secret")],
        &[
            ("webhook-id", &id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &sig),
        ],
        &body,
        ts.parse().unwrap(),
    );
    let accept = Ok(Ok(Outcome::Accept {
        delivery_id: Some(id.clone()),
    }));
    let cases: [HostileCase; 7] = [
        ("loop", &[], Failure::Deadline),
        ("memory-bomb", &[], Failure::Memory),
        ("trap", &[], Failure::Trap),
        ("oversized-output", &[("mode", "body")], Failure::Output),
        (
            "oversized-output",
            &[("mode", "delivery-id")],
            Failure::Output,
        ),
        ("oversized-output", &[("mode", "status")], Failure::Output),
        (
            "oversized-output",
            &[("mode", "content-type")],
            Failure::Output,
        ),
    ];
    for (plugin, params, want) in cases {
        for _ in 0..2 {
            let got = request(params, &[], &[], b"x", 0).call(&host, plugin, false);
            assert_eq!(got, Err(want), "{plugin} {params:?}");
            assert_eq!(
                good.call(&host, "standard-webhooks", false),
                accept,
                "after {plugin}"
            );
        }
    }
    assert_eq!(good.call(&host, "nope", false), Err(Failure::Missing));
    // The same plugin with a valid verdict: it runs (its HashMap seeds through wasi:random).
    let ok = request(&[("mode", "ok")], &[], &[], b"x", 0).call(&host, "oversized-output", false);
    let Ok(Ok(Outcome::Reply(Reply { status, body, .. }))) = ok else {
        panic!("{ok:?}");
    };
    assert_eq!((status.as_u16(), &body[..]), (200, &b"fine"[..]));
    // Rejections and fresh instances.
    let mut stale = good.clone();
    stale.now += 301;
    assert_eq!(
        stale.call(&host, "standard-webhooks", false),
        Ok(Err(Reject::StaleTimestamp))
    );
    assert_eq!(good.call(&host, "standard-webhooks", true), accept);
}

/// `bytes` with every `from` replaced by `to` (same length).
fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> (Vec<u8>, usize) {
    assert_eq!(from.len(), to.len());
    let (mut out, mut n, mut i) = (Vec::with_capacity(bytes.len()), 0, 0);
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
            n += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    (out, n)
}

#[test]
fn a_plugin_built_for_another_contract_version_is_refused_by_name() {
    let (dir, host) = host_with(&["standard-webhooks"], 100);
    // The same component, claiming the contract version before this one (the names have the
    // same length, so the binary stays valid).
    let mut wasm = std::fs::read(dir.path().join("standard-webhooks.wasm")).unwrap();
    let mut renamed = 0;
    for iface in ["types", "crypto", "log"] {
        let from = format!("hookd:verifier/{iface}@0.3.0");
        let to = format!("hookd:verifier/{iface}@0.1.0");
        let (w, n) = replace_all(&wasm, from.as_bytes(), to.as_bytes());
        wasm = w;
        renamed += n;
    }
    assert!(renamed > 0, "the component names its imports");
    std::fs::write(dir.path().join("old-sdk.wasm"), wasm).unwrap();
    let rep = host.reload();
    let err = rep.failed.get("old-sdk").expect("refused");
    assert!(
        err.contains("hookd:verifier@0.1.0")
            && err.contains("@0.3.0 and @0.2.0")
            && err.contains("rebuild"),
        "{err}"
    );
    assert_eq!(rep.loaded, ["standard-webhooks"]);
}
