//! The console over plain HTTP: the page and its assets (embedded, with a strict CSP and
//! revalidation), `GET /api/console/info` behind the admin token, `server.public_url`, and the
//! plugin list's contract version and last-load failures. The browser tests are in
//! `tests/console/`.

use hookd_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_assets_and_info() {
    let d = TestDaemon::start("#server\npublic_url = \"https://hooks.example.com/\"\n").await;
    let c = admin_client();
    let admin = d.admin_url();

    // The page: no token needed, strict CSP, no cookie.
    let r = c.get(format!("{admin}/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    for d in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(d), "{d} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains("http")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.get("set-cookie").is_none());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("/console/app.js") && !html.contains("<script>"),
        "no inline script"
    );

    // Assets: right types, revalidated by ETag.
    for (path, ty) in [
        ("/console/app.js", "text/javascript"),
        ("/console/app.css", "text/css"),
    ] {
        let r = c.get(format!("{admin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(ty));
        assert_eq!(r.headers()["cache-control"], "no-cache");
        let etag = r.headers()["etag"].clone();
        assert!(!r.bytes().await.unwrap().is_empty());
        let again = c
            .get(format!("{admin}{path}"))
            .header("If-None-Match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }

    // The info route is behind the admin token; the URL prefix is public_url's.
    let info = format!("{admin}/api/console/info");
    assert_eq!(c.get(&info).send().await.unwrap().status(), 401);
    let r = c
        .get(&info)
        .header("X-Authorization", "wrong-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = c
        .get(&info)
        .header("X-Authorization", TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["webhookUrlPrefix"], "https://hooks.example.com/webhook/");
    assert_eq!(v["publicUrlSet"], true);
    assert!(v["hint"].is_null());
    assert_eq!(v["principal"], "admin");
    assert_eq!(v["pluginsEnabled"], false);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_public_url_the_listener_address_and_a_hint() {
    let d = TestDaemon::start("").await;
    let v: serde_json::Value = admin_client()
        .get(format!("{}/api/console/info", d.admin_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["webhookUrlPrefix"], format!("{}/webhook/", d.http_url()));
    assert_eq!(v["publicUrlSet"], false);
    assert!(v["hint"].as_str().unwrap().contains("server.public_url"));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_list_has_the_contract_and_the_last_failures() {
    let dir = plugins::dir_with(&["noop"]);
    std::fs::write(dir.path().join("broken.wasm"), b"nope").unwrap();
    let d = TestDaemon::start(&plugins::config(dir.path(), 1000)).await;
    let get = || async {
        admin_client()
            .get(format!("{}/api/admin/plugins", d.admin_url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let v = get().await;
    assert_eq!(v["loaded"], json!(["noop"]));
    assert!(v["contract"].as_str().unwrap().contains('.'), "{v}");
    assert!(
        v["failed"]["broken"]
            .as_str()
            .unwrap()
            .contains("not a valid"),
        "{v}"
    );
    // A reload that fixes the directory clears the failures.
    std::fs::remove_file(dir.path().join("broken.wasm")).unwrap();
    let r = admin_client()
        .post(format!("{}/api/admin/plugins/reload", d.admin_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get().await["failed"], json!({}));
    d.stop().await;
}
