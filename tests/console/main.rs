//! The web console in a real browser (headless Debian Chromium through WebDriver): the seed's
//! flow end to end — sign in, create a GitHub webhook through the form, read its URL from the
//! page, send a correctly signed request to it, watch the badge turn Verified and a history row
//! appear, edit it, delete it — plus a refused token, a field error shown next to its field, no
//! stored secret in the page or its requests, the plugins page, axe-core on every page (desktop
//! and 375 px) and screenshots of every page into `docs/console/`.

mod browser;

use std::time::Duration;

use browser::{Browser, DESKTOP};
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;
use serde_json::Value;

const SECRET: &str = "gh-secret-7f3a9c2e41d8b6";
const PLUGIN_SECRET: &str = "stripe-secret-value-5b1e";

/// Records every fetch of the page (method, URL, request body and headers, response text) and
/// every CSP violation, so the test can look at what the page sent and received.
const RECORDER: &str = "
if (!window.__log) {
  window.__log = []; window.__csp = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  const orig = window.fetch;
  window.fetch = async (input, init) => {
    const r = await orig(input, init);
    const text = await r.clone().text();
    window.__log.push({ method: (init && init.method) || 'GET', url: String(input),
      headers: JSON.stringify((init && init.headers) || {}),
      body: (init && typeof init.body === 'string') ? init.body : '',
      status: r.status, response: text });
    return r;
  };
}
return true;";

async fn log(b: &Browser) -> Vec<Value> {
    b.js("return window.__log || []")
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// Everything the page holds: markup, every field's value, both storages and cookies.
async fn page_state(b: &Browser) -> String {
    b.js("return document.documentElement.outerHTML
            + [...document.querySelectorAll('input, textarea, select')].map(e => e.value).join('|')
            + JSON.stringify(Object.entries(sessionStorage))
            + JSON.stringify(Object.entries(localStorage)) + document.cookie")
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

async fn post_signed(url: &str, secret: &str, body: &[u8]) -> u16 {
    http1_client()
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", uuid::Uuid::new_v4().to_string())
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
async fn seed_flow_in_a_real_browser() {
    // A daemon with one loadable plugin and one file that is not a plugin (a load failure).
    let plugin_dir = plugins::dir_with(&["standard-webhooks"]);
    std::fs::write(plugin_dir.path().join("broken.wasm"), b"not a component").unwrap();
    let d = TestDaemon::start(&plugins::config(plugin_dir.path(), 1000)).await;
    let admin = d.admin_url();
    // Two webhooks made through the API, so the list has company.
    d.create_webhook(
        json!({"name": "payments", "sourcePlatform": "Stripe", "verifier": "STRIPE",
        "secretValue": PLUGIN_SECRET, "workflowsToStart": {"handle_payment": 2},
        "tags": [{"key": "team", "value": "billing"}]}),
    )
    .await;
    d.create_webhook(
        json!({"name": "gitlab-releases", "sourcePlatform": "Custom",
        "verifier": "HEADER_BASED", "headers": {"X-Gitlab-Token": PLUGIN_SECRET},
        "receiverWorkflowNamesToVersions": {"release_pipeline": 3}}),
    )
    .await;

    let b = Browser::start().await;
    b.c.goto(&format!("{admin}/")).await.unwrap();
    b.js(RECORDER).await;

    // ---- sign in: a wrong token is refused ----
    b.el("#token").await;
    b.check_a11y("sign in").await;
    b.screenshot("sign-in").await;
    b.check_phone("sign in", None).await;
    b.type_into("#token", "not-the-admin-token").await;
    b.click("button[type=submit]").await;
    b.wait_text("[role=alert]", "refused").await;
    assert!(
        b.text("h1").await.unwrap().contains("Sign in"),
        "still on sign-in"
    );
    assert_eq!(
        b.js("return sessionStorage.length").await,
        json!(0),
        "nothing kept"
    );
    let l = log(&b).await;
    assert_eq!(l.last().unwrap()["status"], 401, "{l:?}");
    b.check_a11y("sign in refused").await;
    b.screenshot("sign-in-refused").await;

    b.type_into("#token", TOKEN).await;
    b.click("button[type=submit]").await;
    b.wait_text("h1", "Webhooks").await;
    // The credential travels as X-Authorization; no cookie anywhere.
    let l = log(&b).await;
    assert!(l.last().unwrap()["headers"]
        .as_str()
        .unwrap()
        .contains("X-Authorization"));
    assert!(
        b.c.get_all_cookies().await.unwrap().is_empty(),
        "no cookies"
    );

    // ---- the list ----
    b.wait_text("table.list", "gitlab-releases").await;
    b.wait_text("table.list", "payments").await;
    assert!(
        b.text("main")
            .await
            .unwrap()
            .contains("server.public_url is not set"),
        "hint shown"
    );
    b.check_a11y("webhooks").await;
    b.screenshot("webhooks").await;
    b.check_phone("webhooks", Some("webhooks-375px")).await;
    // Filter by platform.
    b.el("#filter-platform")
        .await
        .select_by_label("Stripe")
        .await
        .unwrap();
    b.until("only the Stripe webhook", || async {
        let t = b.text("table.list tbody").await?;
        (t.contains("payments") && !t.contains("gitlab-releases")).then_some(())
    })
    .await;
    b.el("#filter-platform")
        .await
        .select_by_label("All")
        .await
        .unwrap();
    b.type_into("#filter-tag", "team:bill").await;
    b.until("only the tagged webhook", || async {
        let t = b.text("table.list tbody").await?;
        (t.contains("payments") && !t.contains("gitlab-releases")).then_some(())
    })
    .await;
    b.type_into("#filter-tag", "").await;

    // ---- + New Webhook, with a field error first ----
    b.click("a[href='#/webhooks/new']").await;
    b.wait_text("h1", "New Webhook").await;
    // Every loaded plugin is a source platform.
    let options = b.text("#sourcePlatform").await.unwrap();
    for p in [
        "GitHub",
        "Slack",
        "Stripe",
        "Microsoft Teams",
        "SendGrid",
        "Custom",
        "standard-webhooks (plugin)",
    ] {
        assert!(options.contains(p), "{p} missing from {options}");
    }
    b.type_into("#name", "orders-from-github").await;
    assert_eq!(
        b.el("#headerKey")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("X-Hub-Signature-256")
    );
    b.click("#startEnabled").await;
    b.type_into("#start-name-0", "handle_push").await;
    b.type_into("#start-version-0", "1").await;
    b.type_into("#idempotencyKey", "push-${workflow.input.after}")
        .await;
    b.el("#idempotencyStrategy")
        .await
        .select_by_value("RETURN_EXISTING")
        .await
        .unwrap();
    b.click("fieldset#tag button.secondary:last-child").await;
    b.type_into("#tag-key-0", "team").await;
    b.type_into("#tag-value-0", "shop").await;
    b.check_a11y("new webhook").await;
    b.screenshot("new-webhook").await;
    b.check_phone("new webhook", Some("new-webhook-375px"))
        .await;
    // No secret: the server names secretValue, and the page shows it under the secret field.
    b.click("form.webhook-form button[type=submit]").await;
    let msg = b.wait_text("#secretValue-error", "secretValue").await;
    assert!(msg.contains("required"), "{msg}");
    let secret_input = b.el("#secretValue").await;
    assert_eq!(
        secret_input.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(secret_input
        .attr("aria-describedby")
        .await
        .unwrap()
        .unwrap()
        .contains("secretValue-error"));
    // Next to its field: the error follows the secret input in the same field block.
    let same_field = b
        .js("const e = document.getElementById('secretValue-error');
             return e.parentElement === document.getElementById('secretValue').parentElement")
        .await;
    assert_eq!(same_field, json!(true));
    assert!(
        b.text("#name-error").await.is_none(),
        "only the named field is marked"
    );
    b.check_a11y("new webhook with a field error").await;
    b.screenshot("new-webhook-field-error").await;

    b.type_into("#secretValue", SECRET).await;
    b.click("form.webhook-form button[type=submit]").await;
    b.wait_text("h1", "orders-from-github").await;
    b.wait_text("#status .badge", "Unverified").await;
    let url = b
        .el("input[data-url]")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    let id = b.text("dl.settings code").await.unwrap();
    assert_eq!(
        url,
        format!("{}/webhook/{id}", d.http_url()),
        "the listener's own URL"
    );
    let stored = d.get_webhook(&id).await.1;
    assert_eq!(stored["sourcePlatform"], "Github");
    assert_eq!(stored["verifier"], "SIGNATURE_BASED");
    assert_eq!(stored["workflowsToStart"]["handle_push"], 1);
    assert_eq!(
        stored["workflowsToStart"]["idempotencyStrategy"],
        "RETURN_EXISTING"
    );
    assert_eq!(stored["tags"], json!([{"key": "team", "value": "shop"}]));
    b.check_a11y("webhook (unverified)").await;
    b.screenshot("webhook-unverified").await;

    // ---- a signed request turns it Verified, without a reload, and shows up in the history ----
    let body =
        br#"{"ref":"refs/heads/main","after":"9f1c2e","repository":{"full_name":"acme/shop"}}"#;
    assert_eq!(post_signed(&url, SECRET, body).await, 200);
    b.wait_text("#status .badge", "Verified").await;
    assert_eq!(
        b.el("#status .badge")
            .await
            .attr("data-verified")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    b.el("table.history tbody tr[data-event]").await;
    let row = b.text("table.history tbody tr").await.unwrap();
    assert!(
        row.contains("dry-run-"),
        "the started (dry-run) workflow is listed: {row}"
    );
    b.check_a11y("webhook (verified, history)").await;
    b.screenshot("webhook-verified").await;
    b.check_phone("webhook", Some("webhook-375px")).await;
    // Search, then the payload view (a dialog, closed with Escape).
    b.type_into("#history-search", "nothing-like-this").await;
    b.wait_text("main", "No event matches").await;
    b.type_into("#history-search", "acme/shop").await;
    b.click("table.history button").await;
    let payload = b.wait_text("dialog.payload pre", "acme/shop").await;
    assert!(payload.contains("\"after\": \"9f1c2e\""), "{payload}");
    b.check_a11y("payload").await;
    b.screenshot("payload").await;
    b.el("dialog.payload pre")
        .await
        .send_keys(&fantoccini::key::Key::Escape.to_string())
        .await
        .unwrap();
    b.until("the payload dialog to close", || async {
        (b.js("return document.querySelector('dialog.payload').open")
            .await
            == json!(false))
        .then_some(())
    })
    .await;

    // ---- edit: the secret is masked and kept unless changed ----
    b.click("a[href$='/edit']").await;
    b.wait_text("h1", "Edit webhook").await;
    let secret_field = b.el("#secretValue").await;
    assert_eq!(
        secret_field.prop("value").await.unwrap().as_deref(),
        Some("")
    );
    assert!(b
        .text("#secretValue-help")
        .await
        .unwrap()
        .contains("Leave empty to keep"));
    b.type_into("#start-version-0", "2").await;
    b.check_a11y("edit webhook").await;
    b.screenshot("edit-webhook").await;
    b.click("form.webhook-form button[type=submit]").await;
    b.wait_text("dl.settings", "handle_push v2").await;
    let put = log(&b)
        .await
        .into_iter()
        .find(|r| r["method"] == "PUT")
        .expect("the edit was a PUT");
    let put_body: Value = serde_json::from_str(put["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        put_body["secretValue"], "***",
        "the masked secret is sent back: {put_body}"
    );
    // Still verified by the stored secret.
    assert_eq!(post_signed(&url, SECRET, br#"{"after":"2"}"#).await, 200);
    assert_eq!(
        post_signed(&url, "another-secret", br#"{"after":"3"}"#).await,
        401
    );
    assert_eq!(
        d.get_webhook(&id).await.1["workflowsToStart"]["handle_push"],
        2
    );

    // ---- nothing in the page or its requests holds a stored secret ----
    let all = log(&b).await;
    assert!(all.len() > 5, "{all:?}");
    for r in &all {
        let create = r["method"] == "POST" && r["url"] == "/api/metadata/webhook";
        for s in [SECRET, PLUGIN_SECRET] {
            assert!(
                !r["response"].as_str().unwrap().contains(s),
                "a response holds a secret: {r}"
            );
            // The only request that carries a secret is the one that sets it.
            if !create {
                assert!(
                    !r["body"].as_str().unwrap().contains(s),
                    "a request holds a secret: {r}"
                );
                assert!(!r["url"].as_str().unwrap().contains(s));
            }
        }
    }
    for page in [
        "#/webhooks",
        &format!("#/webhooks/{id}"),
        &format!("#/webhooks/{id}/edit"),
    ] {
        b.js(&format!("location.hash = '{page}'; return true"))
            .await;
        b.until(&format!("{page} rendered"), || async {
            b.text("main h1")
                .await
                .filter(|t| !t.is_empty() && t != "Webhook")
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let state = page_state(&b).await;
        assert!(
            !state.contains(SECRET) && !state.contains(PLUGIN_SECRET),
            "{page} holds a secret"
        );
    }

    // ---- delete, with a confirmation ----
    b.js(&format!("location.hash = '#/webhooks/{id}'; return true"))
        .await;
    b.wait_text("h1", "orders-from-github").await;
    b.click("button.danger").await;
    b.wait_text("dialog.confirm h2", "Delete orders-from-github?")
        .await;
    b.check_a11y("delete confirmation").await;
    b.screenshot("delete-confirm").await;
    b.click("#confirm-delete").await;
    b.wait_text("[role=status]", "Deleted webhook orders-from-github")
        .await;
    b.until("the row to go", || async {
        let t = b.text("table.list").await?;
        (!t.contains("orders-from-github")).then_some(())
    })
    .await;
    assert_eq!(d.get_webhook(&id).await.0, 404);
    assert_eq!(post_signed(&url, SECRET, b"{}").await, 404);

    // ---- plugins: contract version, last-load failures, reload ----
    b.click("nav a[href='#/plugins']").await;
    b.wait_text("h1", "Plugins").await;
    let row = b
        .wait_text("tr[data-plugin='standard-webhooks']", "hookd:verifier@")
        .await;
    assert!(row.contains("standard-webhooks"), "{row}");
    b.wait_text(
        "li[data-failed='broken']",
        "not a valid WebAssembly component",
    )
    .await;
    b.check_a11y("plugins").await;
    b.screenshot("plugins").await;
    b.check_phone("plugins", None).await;
    b.click("main .page-head button").await;
    b.wait_text("[role=status]", "Reloaded: 1 loaded, 1 could not be loaded")
        .await;

    // The page never broke its Content-Security-Policy, and signing out forgets the credential.
    assert_eq!(b.js("return window.__csp").await, json!([]));
    b.viewport(DESKTOP).await;
    b.click("header button").await;
    b.el("#token").await;
    assert_eq!(b.js("return sessionStorage.length").await, json!(0));

    b.stop().await;
    d.stop().await;
}
