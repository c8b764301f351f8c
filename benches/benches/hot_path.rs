//! Micro-benchmarks of hookd's per-request work (criterion, no plots):
//!
//! - `verify/<verifier>/<size>`: every built-in verifier over a correctly signed 1 KiB and
//!   64 KiB body, built from its admin-API config as hookd builds it;
//! - `payload/<parser>/<size>`: the event payload of a GitHub body with simd-json (what hookd
//!   uses) against serde_json;
//! - `sink/…`: the wait-index keys of the sink — the key an event payload produces for a
//!   matcher (per event) and the key of a waiting task (per task);
//! - `kafka/event_record`: the record key, headers and record of a verified event;
//! - `pipeline/github/<size>`: verify → `VerifiedEvent` → Kafka record, everything hookd does
//!   per request between the HTTP server and librdkafka.
//!
//! `cargo bench -p hookd-benches --bench hot_path` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use base64::Engine as _;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookd::config::VerifyConfig;
use hookd::event::{UnverifiedRequest, Verified};
use hookd::kafka::producer::event_record;
use hookd::model::WebhookConfig;
use hookd::sink::matching::{wait_key, Matcher};
use hookd::verify::{sign, RequestParts, Verifier, VerifyContext};
use hookd_benches::shapes::{Generator, Provider};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::json;

const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (64 * 1024, "64KiB")];
const NOW: i64 = 1_700_000_000;
const SECRET: &str = "whsec_hookd-bench-secret-0123456789";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

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
    serde_json::from_value::<WebhookConfig>(cfg)
        .expect("webhook config")
        .build_verifier(&VerifyConfig::default())
        .expect("verifier")
}

/// `(name, verifier, signed headers)` of every built-in verifier for `body`.
fn cases(body: &[u8]) -> Vec<(&'static str, Verifier, HeaderMap)> {
    let wf = json!({"bench": 1});
    let s = SECRET.as_bytes();
    let teams_key = b64(b"teams-security-token-0123456789ab");
    let sk = p256::SecretKey::from_slice(&[7u8; 32]).expect("valid scalar");
    let sk_der = sk.to_pkcs8_der().expect("pkcs8");
    let pk_der = sk.public_key().to_public_key_der().expect("spki");
    let sg_sig = sign::sendgrid(&b64(sk_der.as_bytes()), NOW, body).expect("sendgrid signs");
    vec![
        (
            "header",
            verifier(
                json!({"name": "b", "verifier": "HEADER_BASED", "workflowsToStart": wf,
                "headers": {"X-Bench-Token": SECRET}}),
            ),
            headers(vec![("x-bench-token".into(), SECRET.into())]),
        ),
        (
            "github",
            verifier(
                json!({"name": "b", "verifier": "SIGNATURE_BASED", "workflowsToStart": wf,
                "headerKey": "X-Hub-Signature-256", "secretValue": SECRET}),
            ),
            headers(vec![
                ("x-hub-signature-256".into(), sign::github_sha256(s, body)),
                (
                    "x-github-delivery".into(),
                    "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
                ),
            ]),
        ),
        (
            "stripe",
            verifier(
                json!({"name": "b", "verifier": "STRIPE", "workflowsToStart": wf,
                "secretValue": SECRET}),
            ),
            headers(vec![(
                "stripe-signature".into(),
                sign::stripe(s, NOW, body),
            )]),
        ),
        (
            "slack",
            verifier(
                json!({"name": "b", "verifier": "SLACK_BASED", "workflowsToStart": wf,
                "secretValue": SECRET}),
            ),
            headers(vec![
                ("x-slack-request-timestamp".into(), NOW.to_string()),
                ("x-slack-signature".into(), sign::slack(s, NOW, body)),
            ]),
        ),
        (
            "teams",
            verifier(
                json!({"name": "b", "verifier": "HMAC_BASED", "workflowsToStart": wf,
                "secretValue": teams_key}),
            ),
            headers(vec![(
                "authorization".into(),
                sign::teams(&teams_key, body).expect("teams signs"),
            )]),
        ),
        (
            "sendgrid",
            verifier(
                json!({"name": "b", "verifier": "SENDGRID", "workflowsToStart": wf,
                "secretKey": b64(pk_der.as_bytes())}),
            ),
            headers(vec![
                (
                    "x-twilio-email-event-webhook-timestamp".into(),
                    NOW.to_string(),
                ),
                ("x-twilio-email-event-webhook-signature".into(), sg_sig),
            ]),
        ),
    ]
}

fn ctx() -> VerifyContext {
    VerifyContext {
        now_unix: NOW,
        url_verified: true,
    }
}

fn verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    for (size, label) in SIZES {
        let body = body(size);
        g.throughput(Throughput::Bytes(size as u64));
        for (name, v, h) in cases(&body) {
            let parts = RequestParts {
                method: &Method::POST,
                headers: &h,
                query: None,
                body: &body,
            };
            v.verify(&parts, &ctx())
                .unwrap_or_else(|e| panic!("{name} must accept its own signature: {e}"));
            g.bench_with_input(BenchmarkId::new(name, label), &parts, |b, p| {
                b.iter(|| v.verify(black_box(p), &ctx()))
            });
        }
    }
    g.finish();
}

fn payload(c: &mut Criterion) {
    let mut g = c.benchmark_group("payload");
    for (size, label) in SIZES {
        let body = body(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("simd-json", label), &body, |b, body| {
            b.iter(|| hookd::payload::build(black_box(body), Some("source=bench")))
        });
        g.bench_with_input(BenchmarkId::new("serde_json", label), &body, |b, body| {
            b.iter(|| hookd::payload::build_with_serde_json(black_box(body), Some("source=bench")))
        });
    }
    g.finish();
}

fn sink(c: &mut Criterion) {
    let mut g = c.benchmark_group("sink");
    let (payload, _) = hookd::payload::build(&body(1024), None);
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
    let (_, gh, gh_headers) = cases(&body1).into_iter().nth(1).expect("github case");
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
        let (_, gh, h) = cases(&body).into_iter().nth(1).expect("github case");
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

/// SendGrid's ECDSA P-256 check is by far the dearest verifier; this is the same check with
/// ring (already linked through rustls), to size what switching implementations would save.
fn sendgrid_alternative(c: &mut Criterion) {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
    let mut g = c.benchmark_group("verify_alternative");
    let sk = p256::SecretKey::from_slice(&[7u8; 32]).expect("valid scalar");
    let sk_b64 = b64(sk.to_pkcs8_der().expect("pkcs8").as_bytes());
    let point = sk.public_key().to_encoded_point(false);
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point.as_bytes().to_vec());
    for (size, label) in SIZES {
        let body = body(size);
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sign::sendgrid(&sk_b64, NOW, &body).expect("signs"))
            .expect("base64");
        let mut msg = NOW.to_string().into_bytes();
        msg.extend_from_slice(&body);
        key.verify(&msg, &sig)
            .expect("ring accepts hookd's signature");
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("sendgrid-ring", label), |b| {
            b.iter(|| key.verify(black_box(&msg), black_box(&sig)).is_ok())
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    verify,
    sendgrid_alternative,
    payload,
    sink,
    kafka_and_pipeline
);
criterion_main!(benches);
