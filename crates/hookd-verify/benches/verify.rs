//! Micro-benchmarks of the built-in verifiers (criterion, no plots), against this crate alone:
//!
//! - `verify/<verifier>/<size>`: every built-in verifier (`header`, `github`, `stripe`, `slack`,
//!   `teams`, `sendgrid`) over a correctly signed 1 KiB and 64 KiB body, built with the
//!   settings hookd uses for a webhook with default `[verify]` settings (5-minute Stripe and
//!   Slack windows, no SendGrid window), signed with [`hookd_verify::sign`]; `sendgrid` is
//!   ECDSA P-256 through ring (it was RustCrypto's `p256` before issue 18: ~5× dearer).
//!
//! The body is a GitHub `push` event padded to the exact size, like the benchmark shape of
//! `hookd-benches` (the body matters beyond its size: the Stripe, Slack and Teams verifiers
//! look up the delivery id in it). The pipeline benchmarks (verify → event → Kafka record)
//! stay in `benches/benches/hot_path.rs`.
//!
//! `cargo bench -p hookd-verify --bench verify` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookd_verify::github::GitHubVerifier;
use hookd_verify::header::HeaderVerifier;
use hookd_verify::sendgrid::SendGridVerifier;
use hookd_verify::slack::SlackVerifier;
use hookd_verify::stripe::StripeVerifier;
use hookd_verify::teams::TeamsVerifier;
use hookd_verify::{sign, Builtin, RequestParts, Secret, VerifyContext};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};

const SIZES: [(usize, &str); 2] = [(1024, "1KiB"), (64 * 1024, "64KiB")];
const NOW: i64 = 1_700_000_000;
const SECRET: &str = "whsec_hookd-bench-secret-0123456789";
/// hookd's default Stripe and Slack windows, seconds.
const TOLERANCE_SECS: u64 = 300;

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A GitHub `push` body of exactly `size` bytes (at least 1 KiB): the event's fields, then a
/// `padding` member of pseudo-random alphanumerics.
fn body(size: usize) -> Vec<u8> {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
    let mut body = br#"{"bench_id":"00000001-000000000001","ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5","created":false,"deleted":false,"forced":false,"repository":{"id":1296269,"name":"Hello-World","full_name":"octocat/Hello-World","private":false,"owner":{"login":"octocat","id":1}},"pusher":{"name":"octocat","email":"octocat@github.com"},"sender":{"login":"octocat","id":1,"type":"User"},"head_commit":{"id":"59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5","message":"bench 00000001-000000000001","timestamp":"2024-05-01T12:00:00Z"},"padding":""#.to_vec();
    assert!(size >= body.len() + 2, "body size {size} too small");
    // xorshift64: deterministic, no dependency
    let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ size as u64;
    while body.len() < size - 2 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.push(ALNUM[(x % ALNUM.len() as u64) as usize]);
    }
    body.extend_from_slice(b"\"}");
    assert_eq!(body.len(), size);
    body
}

fn headers(list: Vec<(&str, String)>) -> HeaderMap {
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

/// `(name, verifier, signed headers)` of every built-in verifier for `body`.
fn cases(body: &[u8]) -> Vec<(&'static str, Builtin, HeaderMap)> {
    let s = SECRET.as_bytes();
    let secret = || Secret::new(SECRET);
    let teams_key = b64(b"teams-security-token-0123456789ab");
    let sk = p256::SecretKey::from_slice(&[7u8; 32]).expect("valid scalar");
    let sk_der = sk.to_pkcs8_der().expect("pkcs8");
    let pk_der = sk.public_key().to_public_key_der().expect("spki");
    let sg_sig = sign::sendgrid(&b64(sk_der.as_bytes()), NOW, body).expect("sendgrid signs");
    vec![
        (
            "header",
            Builtin::Header(
                HeaderVerifier::new(vec![("X-Bench-Token".into(), secret())]).expect("header"),
            ),
            headers(vec![("x-bench-token", SECRET.into())]),
        ),
        (
            "github",
            Builtin::GitHub(
                GitHubVerifier::new(Some("X-Hub-Signature-256".into()), vec![secret()])
                    .expect("github"),
            ),
            headers(vec![
                ("x-hub-signature-256", sign::github_sha256(s, body)),
                (
                    "x-github-delivery",
                    "72d3162e-cc78-11e3-81ab-4c9367dc0958".into(),
                ),
            ]),
        ),
        (
            "stripe",
            Builtin::Stripe(StripeVerifier::new(vec![secret()], TOLERANCE_SECS).expect("stripe")),
            headers(vec![("stripe-signature", sign::stripe(s, NOW, body))]),
        ),
        (
            "slack",
            Builtin::Slack(SlackVerifier::new(Some(secret()), TOLERANCE_SECS).expect("slack")),
            headers(vec![
                ("x-slack-request-timestamp", NOW.to_string()),
                ("x-slack-signature", sign::slack(s, NOW, body)),
            ]),
        ),
        (
            "teams",
            Builtin::Teams(
                TeamsVerifier::new(None, &Secret::new(teams_key.clone())).expect("teams"),
            ),
            headers(vec![(
                "authorization",
                sign::teams(&teams_key, body).expect("teams signs"),
            )]),
        ),
        (
            "sendgrid",
            Builtin::SendGrid(
                SendGridVerifier::new(&b64(pk_der.as_bytes()), None).expect("sendgrid"),
            ),
            headers(vec![
                ("x-twilio-email-event-webhook-timestamp", NOW.to_string()),
                ("x-twilio-email-event-webhook-signature", sg_sig),
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
            assert_eq!(v.kind(), name);
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

criterion_group!(benches, verify);
criterion_main!(benches);
