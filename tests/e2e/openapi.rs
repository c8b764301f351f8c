//! `GET /api/openapi.json`: valid OpenAPI (checked by `openapi-spec-validator`, installed by
//! `scripts/setup`), and complete: every documented operation is served, and no documented
//! path serves a method the document does not list.

use std::process::Command;

use hookd_e2e::*;

/// The validator `scripts/setup` installs (a Python venv under `target/tools`).
fn validator() -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tools/venv/bin/openapi-spec-validator");
    assert!(
        p.exists(),
        "{} missing: run scripts/setup (PyPI openapi-spec-validator)",
        p.display()
    );
    p
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_valid_and_covers_every_route() {
    let d = TestDaemon::start("").await;
    let c = admin_client();
    let r = c
        .get(format!("{}/api/openapi.json", d.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let out = Command::new(validator()).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for want in [
        "/api/metadata/webhook",
        "/api/metadata/webhook/{id}",
        "/api/metadata/webhook/{id}/tags",
        "/api/admin/plugins",
        "/api/admin/plugins/reload",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/token",
    ] {
        assert!(paths.contains_key(want), "{want} not documented");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["x_authorization"]["name"], "X-Authorization");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    for s in [
        "WebhookConfig",
        "Tag",
        "ErrorBody",
        "ReloadReport",
        "PluginList",
    ] {
        assert!(
            doc["components"]["schemas"].get(s).is_some(),
            "schema {s} missing"
        );
    }

    let mut operations = 0;
    for (path, item) in paths {
        let url = format!("{}{}", d.admin_url(), path.replace("{id}", "openapi-probe"));
        for m in METHODS {
            let req = c
                .request(m.to_uppercase().parse().unwrap(), &url)
                .header("X-Authorization", TOKEN)
                .header("content-type", "application/json")
                .body("{}");
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            match item.get(m) {
                Some(op) => {
                    operations += 1;
                    // Served: not the router's empty 404/405; each answer status is documented.
                    assert!(
                        status != 405 && !(status == 404 && body.is_empty()),
                        "{m} {path} documented but not served ({status})"
                    );
                    assert!(
                        op["responses"].get(status.to_string()).is_some(),
                        "{m} {path} answered {status}, which is not documented: {body}"
                    );
                    let authed = op.get("security").is_some_and(|s| {
                        s.as_array()
                            .unwrap()
                            .iter()
                            .any(|r| r.get("x_authorization").is_some())
                    });
                    if authed {
                        let anon = c
                            .request(m.to_uppercase().parse().unwrap(), &url)
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(anon.status(), 401, "{m} {path} without the token");
                    }
                }
                None => assert_eq!(status, 405, "{m} {path} served but not documented"),
            }
        }
    }
    assert_eq!(operations, 15, "every admin operation is documented");
    d.stop().await;
}
