//! Plugin contract 0.3.0 through a real daemon: 0.2.0 and 0.3.0 plugins side by side, the
//! `log` import and printed output in hookd's log with the plugin's name (and not failing the
//! request), the request's scheme / authority / public URL over HTTP/1.1, HTTP/2 and HTTP/3 —
//! Twilio's URL signature verified on every protocol, directly and behind a trusted proxy —
//! and reload honesty (bad file names and removed plugins in `failed`, 503
//! `plugin_unavailable` for a webhook whose plugin is gone).

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use hookd_e2e::h3::{h3_connect, h3_post};
use hookd_e2e::hookd::plugin::sandbox::bindings::hookd::verifier::types::{
    Request, Scheme, Settings,
};
use hookd_e2e::hookd::plugin::{Limits, PluginHost};
use hookd_e2e::*;
use serde_json::Value;

async fn hook(d: &TestDaemon, plugin: &str, extra: Value) -> String {
    let mut cfg = json!({"name": format!("{plugin}-hook"), "verifier": "WASM_PLUGIN",
        "plugin": plugin, "workflowsToStart": {"wf": 1}});
    for (k, v) in extra.as_object().unwrap() {
        cfg[k] = v.clone();
    }
    d.create_webhook(cfg).await
}

async fn admin(d: &TestDaemon, method: http::Method, path: &str) -> (u16, Value) {
    let r = admin_client()
        .request(method, format!("{}{path}", d.admin_url()))
        .header("X-Authorization", TOKEN)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// Status and body of a request sent with `client` to `url`.
async fn send(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, String) {
    let mut rb = client.post(url);
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    let r = rb.body(body.to_owned()).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_of_contracts_0_2_and_0_3_are_served_side_by_side() {
    let dir = plugins::dir_with(&["contract-v0-2", "chatty"]);
    let d = TestDaemon::start(&plugins::config(dir.path(), 200)).await;
    let (st, list) = admin(&d, http::Method::GET, "/api/admin/plugins").await;
    assert_eq!(st, 200);
    assert_eq!(list["loaded"], json!(["chatty", "contract-v0-2"]), "{list}");
    assert_eq!(list["contract"], "0.3.0");
    let old = hook(&d, "contract-v0-2", json!({"secretValue": "tok-123456"})).await;
    let new = hook(&d, "chatty", json!({})).await;
    let c = http1_client();
    let url = |id: &str| format!("{}/webhook/{id}", d.http_url());
    let ok = [
        ("x-token", "tok-123456".to_string()),
        ("x-delivery", "d-1".into()),
    ];
    assert_eq!(send(&c, &url(&old), &ok, "{}").await.0, 200);
    let bad = [("x-token", "nope".to_string())];
    let (st, body) = send(&c, &url(&old), &bad, "{}").await;
    assert_eq!((st, body.contains("bad_signature")), (401, true), "{body}");
    // The 0.3.0 plugin on the same daemon sees where the request went.
    let (st, body) = send(&c, &url(&new), &[], "{}").await;
    assert_eq!(st, 200, "{body}");
    let host = d.http_url().trim_start_matches("http://").to_string();
    assert_eq!(body, format!("http {host} http://{host}/webhook/{new}"));
    d.stop().await;
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn chatty_call(host: &PluginHost, secret: &str) -> String {
    let secrets = [secret];
    let req = Request {
        method: "POST",
        target: "/webhook/t",
        headers: "",
        body: b"{}",
        now_unix_seconds: 0,
        url_verified: false,
        settings: Settings {
            secrets: &secrets,
            params: &[],
            tolerance_seconds: None,
        },
        scheme: Scheme::Https,
        authority: "a.example",
        url: "https://a.example/webhook/t",
    };
    format!("{:?}", host.call("chatty", req))
}

#[test]
fn plugin_log_lines_and_printed_output_reach_the_log_with_the_plugin_name() {
    let dir = plugins::dir_with(&["chatty"]);
    let limits = Limits {
        memory_bytes: 16 << 20,
        deadline_ticks: 1000,
        pool_size: 2,
        max_concurrent_calls: 2,
        max_output_bytes: 64 << 10,
        log_lines_per_second: 100,
    };
    let host = PluginHost::new(dir.path().to_path_buf(), limits).unwrap();
    assert!(host.reload().failed.is_empty());
    let buf = Captured::default();
    let w = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || w.clone())
        .finish();
    let (ok, panicked) = tracing::subscriber::with_default(subscriber, || {
        (chatty_call(&host, ""), chatty_call(&host, "panic"))
    });
    // println! and eprintln! did not fail the call: a verdict.
    assert!(ok.contains("Ok(Ok(Reply"), "{ok}");
    assert!(panicked.contains("Err(Trap)"), "{panicked}");
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |msg: &str| {
        lines
            .iter()
            .find(|l| {
                l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(msg))
            })
            .unwrap_or_else(|| panic!("no log line with {msg:?} in\n{text}"))
    };
    let logged = find("chatty: hello from the log import");
    assert_eq!(logged["level"], "WARN");
    assert_eq!(logged["fields"]["plugin"], "chatty", "{logged}");
    assert_eq!(logged["fields"]["source"], "log");
    let out = find("chatty: printed to stdout");
    assert_eq!(
        (out["level"].as_str(), out["fields"]["plugin"].as_str()),
        (Some("INFO"), Some("chatty"))
    );
    assert_eq!(out["fields"]["source"], "stdout");
    assert_eq!(
        find("chatty: printed to stderr")["fields"]["source"],
        "stderr"
    );
    // A panic's message reaches the log, then the trap is reported with its cause.
    assert_eq!(find("chatty: asked to panic")["fields"]["plugin"], "chatty");
    assert!(find("plugin call failed")["fields"]["cause"]
        .as_str()
        .unwrap()
        .contains("unreachable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn println_does_not_fail_the_request() {
    let dir = plugins::dir_with(&["chatty"]);
    let d = TestDaemon::start(&plugins::config(dir.path(), 200)).await;
    let id = hook(&d, "chatty", json!({})).await;
    let (st, body) = send(
        &http1_client(),
        &format!("{}/webhook/{id}", d.http_url()),
        &[],
        "x",
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let m = d.metrics_text().await;
    assert_eq!(
        metric(
            &m,
            "hookd_plugin_errors_total",
            &[("plugin", "chatty"), ("kind", "trap")]
        ),
        0.0
    );
    d.stop().await;
}

/// Twilio's signature of a form POST to `url` with `params` (its documented algorithm).
fn twilio_signature(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    m.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
}

const TOKEN_TWILIO: &str = "twilio-auth-token-0123456789abcdef";
const PARAMS: &[(&str, &str)] = &[
    ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
    ("From", "+14155550100"),
    ("To", "+14155550199"),
    ("Body", "Hello from h1, h2 and h3"),
];

fn form_body() -> String {
    PARAMS
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B").replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&")
}

async fn twilio_over_every_protocol(
    d: &TestDaemon,
    id: &str,
    signed_url: Option<&str>,
    forwarded: bool,
) {
    let cert = d.daemon.tls_cert_path.as_ref().unwrap();
    let path = format!("/webhook/{id}");
    let tls = d.https_url();
    let plain = d.http_url();
    let h3_authority = format!("localhost:{}", d.daemon.h3_addr.unwrap().port());
    let mut base = vec![(
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    if forwarded {
        base.push(("x-forwarded-proto", "https".into()));
        base.push(("x-forwarded-host", "hooks.example.com".into()));
    }
    let with_sig = |url: &str| {
        let mut h = base.clone();
        let signed = signed_url.map_or_else(|| url.to_string(), str::to_owned);
        h.push((
            "x-twilio-signature",
            twilio_signature(TOKEN_TWILIO, &signed, PARAMS),
        ));
        h
    };
    let body = form_body();
    // HTTP/1.1, plain and over TLS; HTTP/2 over TLS and as h2c.
    let cases = [
        ("h1", http1_client(), format!("{plain}{path}")),
        (
            "h1-tls",
            tls_client(cert, b"http/1.1"),
            format!("{tls}{path}"),
        ),
        ("h2", tls_client(cert, b"h2"), format!("{tls}{path}")),
        (
            "h2c",
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap(),
            format!("{plain}{path}"),
        ),
    ];
    for (proto, client, url) in cases {
        let called = url.clone();
        let (st, text) = send(&client, &called, &with_sig(&called), &body).await;
        assert_eq!(st, 200, "{proto} {called}: {text}");
        let mut wrong = with_sig(&called);
        wrong.last_mut().unwrap().1 = twilio_signature("other-token", &called, PARAMS);
        let (st, _) = send(&client, &called, &wrong, &body).await;
        assert_eq!(st, 401, "{proto}: a wrong token");
    }
    let c = h3_connect(d).await;
    let called = format!("https://{h3_authority}{path}");
    let r = h3_post(&c, &path, &with_sig(&called), body.clone().into_bytes()).await;
    assert_eq!(
        r.status,
        200,
        "h3 {called}: {:?}",
        String::from_utf8_lossy(&r.body)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twilio_verifies_the_same_request_over_h1_h2_and_h3_directly_and_behind_a_proxy() {
    let dir = plugins::dir_with(&["twilio"]);
    // Directly: each protocol signs the URL the client called (HTTP/2 and HTTP/3 carry the
    // authority in :authority, not Host). Vectors resend identical requests.
    let d = TestDaemon::start(&format!(
        "#server\nreplay_window_secs = 0\n{}",
        plugins::config(dir.path(), 200)
    ))
    .await;
    let id = hook(&d, "twilio", json!({"secretValue": TOKEN_TWILIO})).await;
    twilio_over_every_protocol(&d, &id, None, false).await;
    // Forwarded headers from a peer that is not a trusted proxy change nothing.
    twilio_over_every_protocol(&d, &id, None, true).await;
    d.stop().await;

    // Behind a trusted proxy: Twilio signed the public URL, the same on every protocol.
    let d = TestDaemon::start(&format!(
        "#server\nreplay_window_secs = 0\ntrusted_proxies = [\"127.0.0.0/8\"]\n{}",
        plugins::config(dir.path(), 200)
    ))
    .await;
    let id = hook(&d, "twilio", json!({"secretValue": TOKEN_TWILIO})).await;
    let public = format!("https://hooks.example.com/webhook/{id}");
    twilio_over_every_protocol(&d, &id, Some(&public), true).await;
    d.stop().await;

    // With server.public_url set, that is the URL, whatever the request says.
    let d = TestDaemon::start(&format!(
        "#server\nreplay_window_secs = 0\npublic_url = \"https://public.example.org/in\"\n{}",
        plugins::config(dir.path(), 200)
    ))
    .await;
    let id = hook(&d, "twilio", json!({"secretValue": TOKEN_TWILIO})).await;
    let public = format!("https://public.example.org/in/webhook/{id}");
    twilio_over_every_protocol(&d, &id, Some(&public), false).await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_reports_every_file_not_loaded_and_keeps_plugins_in_use() {
    let dir = plugins::dir_with(&["shopify", "pagerduty"]);
    let d = TestDaemon::start(&plugins::config(dir.path(), 200)).await;
    let used = hook(&d, "shopify", json!({"secretValue": "shpss_0123456789"})).await;
    std::fs::copy(plugins::wasm("noop"), dir.path().join("bad name!.wasm")).unwrap();
    std::fs::remove_file(dir.path().join("shopify.wasm")).unwrap();
    std::fs::remove_file(dir.path().join("pagerduty.wasm")).unwrap();
    let (st, rep) = admin(&d, http::Method::POST, "/api/admin/plugins/reload").await;
    assert_eq!(st, 200);
    // The unused plugin went; the used one stays, reported with its webhook.
    assert_eq!(rep["loaded"], json!(["shopify"]), "{rep}");
    let why = rep["failed"]["shopify"].as_str().unwrap();
    assert!(why.contains(&used) && why.contains("stays loaded"), "{why}");
    assert!(
        rep["failed"]["bad name!.wasm"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{rep}"
    );
    let (_, list) = admin(&d, http::Method::GET, "/api/admin/plugins").await;
    assert_eq!(
        list["failed"], rep["failed"],
        "the list shows the last reload's failures"
    );
    // Still in service: a request is verified (a wrong signature, so 401 — not 5xx).
    let (st, _) = send(
        &http1_client(),
        &format!("{}/webhook/{used}", d.http_url()),
        &[("x-shopify-hmac-sha256", "AAAA".into())],
        "{}",
    )
    .await;
    assert_eq!(st, 401);
    let state = d.stop().await;

    // After a restart without the file, the webhook (read back from the snapshot) answers
    // 503 plugin_unavailable, not 500.
    let d =
        TestDaemon::start_with("embedded", &plugins::config(dir.path(), 200), Some(state)).await;
    let (st, body) = send(
        &http1_client(),
        &format!("{}/webhook/{used}", d.http_url()),
        &[],
        "{}",
    )
    .await;
    assert_eq!(st, 503, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "plugin_unavailable");
    assert!(v["message"].as_str().unwrap().contains("not loaded"), "{v}");
    d.stop().await;
}
