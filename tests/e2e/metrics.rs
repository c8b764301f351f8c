//! `/metrics` as Prometheus scrapes it: `promtool check metrics` on live captures (a fresh
//! instance and one after traffic), series at zero from start, build and process metrics,
//! labels and outcomes, the optional token.

use std::io::Write;
use std::process::{Command, Stdio};

use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

const SECRET: &str = "metrics-secret";

fn hook() -> String {
    format!("#rest\n[[webhooks]]\nid = \"m-gh\"\nname = \"m-gh\"\nverifier = \"SIGNATURE_BASED\"\nsecretValue = \"{SECRET}\"\nworkflowsToStart = {{ wf = 1 }}\n")
}

/// Runs `promtool check metrics` on `text` (Debian's `prometheus` package; `scripts/setup`
/// installs it). Fails, never skips, when promtool is missing.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool not found: run scripts/setup (Debian package prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- capture ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_passes_on_a_fresh_and_a_loaded_instance() {
    let d = TestDaemon::start(&hook()).await;
    let fresh = d.metrics_text().await;
    promtool_check(&fresh);
    // Known series exist at zero before any request.
    let labels = [
        ("webhook", "m-gh"),
        ("verifier", "github"),
        ("outcome", "accepted"),
        ("protocol", "h1"),
    ];
    assert!(
        fresh.contains("hookd_requests_total{webhook=\"m-gh\",verifier=\"github\",outcome=\"accepted\",protocol=\"h1\"} 0"),
        "{fresh}"
    );
    for family in [
        "hookd_build_info",
        "hookd_rejections_total",
        "hookd_request_errors_total",
        "hookd_request_duration_seconds_bucket",
        "hookd_inflight_events",
        "hookd_kafka_delivery_duration_seconds_count",
        "hookd_sink_actions_total",
        "hookd_sink_waits_indexed",
        "hookd_sink_dlq_records_total",
        "hookd_conductor_request_duration_seconds_count",
        "hookd_h3_incoming_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(
            fresh.lines().any(|l| l.starts_with(family)),
            "{family} missing from a fresh instance:\n{fresh}"
        );
    }
    let build = fresh
        .lines()
        .find(|l| l.starts_with("hookd_build_info{"))
        .unwrap();
    assert!(
        build.contains("version=\"") && build.contains("commit=\"") && build.ends_with(" 1"),
        "{build}"
    );
    for family in [
        "hookd_requests_total",
        "hookd_sink_actions_total",
        "process_open_fds",
    ] {
        assert!(
            fresh.contains(&format!("# HELP {family} ")),
            "no HELP for {family}"
        );
    }

    // Traffic: accepted, bad signature (401), unknown webhook (404).
    let c = http1_client();
    let before = metric(&fresh, "hookd_requests_total", &labels);
    for i in 0..30 {
        let body = format!("{{\"i\":{i}}}");
        let r = c
            .post(format!("{}/webhook/m-gh", d.http_url()))
            .header(
                "X-Hub-Signature-256",
                sign::github_sha256(SECRET.as_bytes(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = c
        .post(format!("{}/webhook/m-gh", d.http_url()))
        .header("X-Hub-Signature-256", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(format!("{}/webhook/m-nope", d.http_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let loaded = d.metrics_text().await;
    promtool_check(&loaded);
    assert!(metric(&loaded, "hookd_requests_total", &labels) >= before + 30.0);
    assert!(
        metric(
            &loaded,
            "hookd_request_duration_seconds_count",
            &[
                ("webhook", "m-gh"),
                ("verifier", "github"),
                ("outcome", "accepted")
            ]
        ) >= 30.0,
        "{loaded}"
    );
    assert!(
        metric(
            &loaded,
            "hookd_requests_total",
            &[("webhook", "m-gh"), ("outcome", "rejected")]
        ) >= 1.0
    );
    assert!(
        metric(
            &loaded,
            "hookd_rejections_total",
            &[("reason", "bad_signature")]
        ) >= 1.0
    );
    // An unknown id is never a label value.
    assert!(!loaded.contains("m-nope"), "{loaded}");
    assert!(
        metric(
            &loaded,
            "hookd_requests_total",
            &[("webhook", "unknown"), ("outcome", "unknown_webhook")]
        ) >= 1.0
    );
    assert!(!loaded.contains(SECRET));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_guards_metrics_only() {
    let d = TestDaemon::start("#server\nmetrics_token = \"scrape-token-1\"").await;
    let c = admin_client();
    let url = format!("{}/metrics", d.admin_url());
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    let wrong = c
        .get(&url)
        .bearer_auth("scrape-token-2")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = c
        .get(&url)
        .bearer_auth("scrape-token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("hookd_build_info"));
    // Probes stay open.
    for p in ["/healthz", "/readyz"] {
        let r = c.get(format!("{}{p}", d.admin_url())).send().await.unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }
    d.stop().await;
}
