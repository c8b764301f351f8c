//! Micro-benchmarks of hookd's per-request work (criterion, no plots):
//!
//! - `sink/…`: the wait-index keys of the sink — the key an event payload produces for a
//!   matcher (per event) and the key of a waiting task (per task);
//! - `kafka/event_record`: the record key, headers and record of a verified event;
//! - `pipeline/github/<size>`: verify → `VerifiedEvent` → Kafka record, everything hookd does
//!   per request between the HTTP server and librdkafka.
//!
//! The verifiers alone (`verify/<verifier>/<size>`) are benchmarked in the `hookd-verify`
//! crate: `cargo bench -p hookd-verify --bench verify`; the payload (simd-json against
//! serde_json) in `crates/hookd-payload`: `cargo bench -p hookd-payload --bench payload`.
//!
//! `cargo bench -p hookd-benches --bench hot_path` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookd::config::VerifyConfig;
use hookd::event::{UnverifiedRequest, Verified};
use hookd::kafka::producer::event_record;
use hookd::model::WebhookConfig;
use hookd::verify::{sign, Verifier, VerifyContext};
use hookd::webhook::SpecBuilder;
use hookd_benches::shapes::{Generator, Provider};
use hookd_payload::matching::{wait_key, Matcher};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::json;

const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (64 * 1024, "64KiB")];
const NOW: i64 = 1_700_000_000;
const SECRET: &str = "whsec_hookd-bench-secret-0123456789";

/// A realistic GitHub push body of exactly `size` bytes.
fn body(size: usize) -> Bytes {
    Generator::new(Provider::Github, size, SECRET, 1)
        .expect("size fits")
        .make(1, NOW)
        .body
}

fn headers(list: Vec<(String, String)>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in list {
        h.insert(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::try_from(v).expect("header value"),
        );
    }
    h
}

fn verifier(cfg: serde_json::Value) -> Verifier {
    let cfg = serde_json::from_value::<WebhookConfig>(cfg).expect("webhook config");
    SpecBuilder::without_plugins(VerifyConfig::default())
        .build(&cfg)
        .expect("verifier")
        .verifier
}

/// The GitHub verifier, built from its admin-API config as hookd builds it, and the signed
/// headers of `body`.
fn github_case(body: &[u8]) -> (Verifier, HeaderMap) {
    let v = verifier(json!({"name": "b", "verifier": "SIGNATURE_BASED",
        "workflowsToStart": {"bench": 1},
        "headerKey": "X-Hub-Signature-256", "secretValue": SECRET}));
    let h = headers(vec![
        (
            "x-hub-signature-256".into(),
            sign::github_sha256(SECRET.as_bytes(), body),
        ),
        (
            "x-github-delivery".into(),
            "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
        ),
    ]);
    (v, h)
}

fn ctx() -> VerifyContext {
    VerifyContext {
        now_unix: NOW,
        url_verified: true,
    }
}

fn sink(c: &mut Criterion) {
    let mut g = c.benchmark_group("sink");
    let payload = hookd_payload::build(&body(1024), None);
    let payload = serde_json::Value::Object(payload);
    let paths = vec![
        "$.repository.full_name".to_string(),
        "$.ref".to_string(),
        "$.pusher.name".to_string(),
    ];
    let m = Matcher::new("deploy", 3, "wait_for_push__2", paths);
    assert!(m.key_for(&payload).is_some(), "the matcher applies");
    g.bench_function("event_key/3_paths", |b| {
        b.iter(|| m.key_for(black_box(&payload)))
    });
    let matches = json!({
        "$.repository.full_name": "octocat/Hello-World",
        "$.ref": "refs/heads/main",
        "$.pusher.name": "octocat",
    });
    let matches = matches.as_object().expect("object").clone();
    g.bench_function("wait_key/3_paths", |b| {
        b.iter(|| {
            wait_key(
                "deploy",
                3,
                black_box("wait_for_push__2"),
                black_box(&matches),
            )
        })
    });
    g.finish();
}

/// The request the ingress would build for `body` with `h`.
fn request(h: &HeaderMap, body: &Bytes) -> UnverifiedRequest {
    UnverifiedRequest {
        webhook_id: "0190f5c2-7b1e-7c3a-9d4e-0123456789ab".into(),
        method: Method::POST,
        headers: h.clone(),
        query: None,
        body: body.clone(),
        received_at_ms: NOW * 1000,
    }
}

fn kafka_and_pipeline(c: &mut Criterion) {
    let topic = "hookd.events";
    let mut g = c.benchmark_group("kafka");
    let body1 = body(1024);
    let (gh, gh_headers) = github_case(&body1);
    let Ok(Verified::Event(ev)) = request(&gh_headers, &body1).verify(&gh, &ctx()) else {
        panic!("github accepts");
    };
    g.bench_function("event_record", |b| {
        b.iter(|| {
            let key = black_box(&ev).record_key();
            let r = event_record(topic, &ev, &key);
            black_box(r.headers.is_some());
        })
    });
    g.finish();

    let mut g = c.benchmark_group("pipeline");
    for (size, label) in SIZES {
        let body = body(size);
        let (gh, h) = github_case(&body);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("github", label), |b| {
            b.iter_batched(
                || request(&h, &body),
                |req| {
                    let Ok(Verified::Event(ev)) = req.verify(&gh, &ctx()) else {
                        panic!("accepted");
                    };
                    let key = ev.record_key();
                    let r = event_record(topic, &ev, &key);
                    black_box(r.headers.is_some());
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, sink, kafka_and_pipeline);
criterion_main!(benches);
