//! Reload without a restart: the config file's `[[webhooks]]` and the TLS certificate (TCP and
//! HTTP/3), by `Daemon::reload` (what SIGHUP does) and by the certificate files changing.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hookd_e2e::h3::h3_post;
use hookd_e2e::hookd::h3::client::{roots_from_pem, Client};
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

fn static_hook(id: &str, secret: &str) -> String {
    format!("\n[[webhooks]]\nid = \"{id}\"\nname = \"{id}\"\nverifier = \"SIGNATURE_BASED\"\nsecretValue = \"{secret}\"\nworkflowsToStart = {{ wf = 1 }}\n")
}

async fn post_signed(url: &str, id: &str, secret: &str) -> u16 {
    let body = b"{\"reload\":1}";
    http1_client()
        .post(format!("{url}/webhook/{id}"))
        .header(
            "X-Hub-Signature-256",
            sign::github_sha256(secret.as_bytes(), body),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_rereads_static_webhooks_and_refuses_an_invalid_file() {
    let d = TestDaemon::start(&format!("#rest{}", static_hook("r-a", "secret-one"))).await;
    let url = d.http_url();
    let base = d.config_text.clone();
    assert_eq!(post_signed(&url, "r-a", "secret-one").await, 200);
    assert_eq!(post_signed(&url, "r-b", "secret-b").await, 404);

    // r-a changes its secret, r-b is added.
    let without_a = base.replace(&static_hook("r-a", "secret-one"), "");
    let next = format!(
        "{without_a}{}{}",
        static_hook("r-a", "secret-two"),
        static_hook("r-b", "secret-b")
    );
    std::fs::write(d.config_path(), &next).unwrap();
    let r = d.daemon.reload().await;
    let changes = r.webhooks.expect("config file given").expect("valid file");
    assert_eq!(changes.added, ["r-b"]);
    assert_eq!(changes.changed, ["r-a"]);
    assert!(changes.removed.is_empty());
    assert_eq!(post_signed(&url, "r-a", "secret-one").await, 401);
    assert_eq!(post_signed(&url, "r-a", "secret-two").await, 200);
    assert_eq!(post_signed(&url, "r-b", "secret-b").await, 200);

    // An invalid definition: nothing changes, the error names the webhook.
    let bad = format!(
        "{next}\n[[webhooks]]\nid = \"r-c\"\nname = \"r-c\"\nverifier = \"HMAC_BASED\"\nsecretValue = \"not base64!!\"\nworkflowsToStart = {{ wf = 1 }}\n"
    );
    std::fs::write(d.config_path(), &bad).unwrap();
    let e = d.daemon.reload().await.webhooks.unwrap().unwrap_err();
    assert!(e.contains("webhooks[2]") && e.contains("r-c"), "{e}");
    assert_eq!(post_signed(&url, "r-b", "secret-b").await, 200);
    // A file that does not parse: the error names the file and line.
    std::fs::write(d.config_path(), format!("{next}\n[[webhooks]\n")).unwrap();
    let e = d.daemon.reload().await.webhooks.unwrap().unwrap_err();
    assert!(e.contains("hookd.toml") && e.contains("line"), "{e}");
    assert_eq!(post_signed(&url, "r-a", "secret-two").await, 200);

    // r-a removed.
    std::fs::write(
        d.config_path(),
        format!("{without_a}{}", static_hook("r-b", "secret-b")),
    )
    .unwrap();
    let changes = d.daemon.reload().await.webhooks.unwrap().unwrap();
    assert_eq!(changes.removed, ["r-a"]);
    assert_eq!(post_signed(&url, "r-a", "secret-two").await, 404);
    assert_eq!(post_signed(&url, "r-b", "secret-b").await, 200);
    let unchanged = d.daemon.reload().await.webhooks.unwrap().unwrap();
    assert!(unchanged.is_empty(), "{unchanged:?}");
    d.stop().await;
}

/// A self-signed pair for `localhost` written to `dir/<name>-{cert,key}.pem`.
fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (c, k) = (
        dir.join(format!("{name}-cert.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&c, ck.cert.pem()).unwrap();
    std::fs::write(&k, ck.key_pair.serialize_pem()).unwrap();
    (c, k)
}

/// Installs `src` at `dst` the way ACME clients do: a new file renamed over the old one.
fn install(src: &Path, dst: &Path) {
    let tmp = dst.with_extension("new");
    std::fs::copy(src, &tmp).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}

async fn tls_ok(c: &reqwest::Client, url: &str) -> bool {
    c.get(format!("{url}/webhook/nope"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 404)
}

async fn h3_ok(addr: SocketAddr, cert: &Path) -> bool {
    let Ok(c) = Client::connect(addr, "localhost", roots_from_pem(cert).unwrap()).await else {
        return false;
    };
    let ok = h3_post(&c, "/webhook/nope", &[], &b"x"[..]).await.status == 404;
    c.close().await;
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_rotate_for_tls_and_http3_without_a_restart() {
    let keys = tempfile::tempdir().unwrap();
    let (a_cert, a_key) = pair(keys.path(), "a");
    let (b_cert, b_key) = pair(keys.path(), "b");
    let (c_cert, _c_key) = pair(keys.path(), "c");
    let (live_cert, live_key) = (
        keys.path().join("live-cert.pem"),
        keys.path().join("live-key.pem"),
    );
    install(&a_cert, &live_cert);
    install(&a_key, &live_key);
    let d = TestDaemon::start(&format!(
        "#server\ntls_cert = \"{}\"\ntls_key = \"{}\"\ntls_reload_interval_ms = 100",
        live_cert.display(),
        live_key.display()
    ))
    .await;
    let url = d.https_url();
    let h3 = SocketAddr::from((Ipv4Addr::LOCALHOST, d.daemon.h3_addr.unwrap().port()));
    // Clients pinned to A (an HTTP/2 client keeps its connection open).
    let pinned_a = tls_client(&a_cert, b"h2");
    assert!(tls_ok(&pinned_a, &url).await);
    assert!(h3_ok(h3, &a_cert).await);
    assert!(!tls_ok(&tls_client(&b_cert, b"h2"), &url).await);

    // Renewal: B's files replace A's; the poller notices.
    install(&b_cert, &live_cert);
    install(&b_key, &live_key);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !tls_ok(&tls_client(&b_cert, b"http/1.1"), &url).await {
        assert!(Instant::now() < deadline, "new certificate never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        h3_ok(h3, &b_cert).await,
        "HTTP/3 serves the new certificate"
    );
    assert!(
        !h3_ok(h3, &a_cert).await,
        "HTTP/3 no longer serves the old one"
    );
    assert!(
        !tls_ok(&tls_client(&a_cert, b"http/1.1"), &url).await,
        "new TLS connections no longer get the old certificate"
    );
    // The connection opened on A is still in service.
    assert!(
        tls_ok(&pinned_a, &url).await,
        "open connection finishes on the old one"
    );

    // A broken pair (C's certificate with B's key): refused, B stays (by the poller and by an
    // explicit reload, as SIGHUP does).
    install(&c_cert, &live_cert);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = d.daemon.reload().await;
    let e = r.tls.expect("tls on").unwrap_err();
    assert!(e.contains("live-cert.pem"), "{e}");
    assert!(tls_ok(&tls_client(&b_cert, b"http/1.1"), &url).await);
    assert!(h3_ok(h3, &b_cert).await);
    assert!(!tls_ok(&tls_client(&c_cert, b"http/1.1"), &url).await);
    // Garbage instead of a certificate: refused too.
    std::fs::write(&live_cert, "not a certificate").unwrap();
    assert!(d.daemon.reload().await.tls.unwrap().is_err());
    assert!(tls_ok(&tls_client(&b_cert, b"http/1.1"), &url).await);
    // Back to a good pair by SIGHUP's path.
    install(&a_cert, &live_cert);
    install(&a_key, &live_key);
    let swapped = d.daemon.reload().await.tls.unwrap();
    // (the poller may have swapped it first)
    let _ = swapped.unwrap_or(false);
    assert!(tls_ok(&tls_client(&a_cert, b"http/1.1"), &url).await);
    assert!(h3_ok(h3, &a_cert).await);
    d.stop().await;
}
