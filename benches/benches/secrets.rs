//! Costs of secrets and identities (criterion, no plots):
//!
//! - `seal/seal_config`, `seal/open_config`: sealing / opening every secret of a definition with
//!   three secret values (a write through the API; registering a definition from the topic or the
//!   snapshot);
//! - `rotation/github/<n>`: verifying a 1 KiB GitHub request against `n` candidate secrets
//!   (`secretValue` + `previousSecretValues`; the signature made with the current secret, so every
//!   candidate is computed, as it always is);
//! - `token/issue`, `token/check`: `POST /api/token` and the check of a token on every admin call.
//!
//! `cargo bench -p hookd-benches --bench secrets` (add `-- --quick` for a fast pass).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use hookd::auth::{Authenticator, TokenRequest};
use hookd::config::{Config, VerifyConfig};
use hookd::model::WebhookConfig;
use hookd::seal::Keyring;
use hookd::verify::{sign, RequestParts, VerifyContext};
use hookd::webhook::SpecBuilder;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn definition(previous: usize) -> WebhookConfig {
    let prev: Vec<String> = (0..previous)
        .map(|i| format!("previous-secret-{i}"))
        .collect();
    let mut v = json!({"id": "w1", "name": "gh", "verifier": "SIGNATURE_BASED",
        "secretValue": "current-secret-0123456789", "workflowsToStart": {"wf": 1}});
    if previous > 0 {
        v["previousSecretValues"] = json!(prev);
    }
    serde_json::from_value(v).expect("definition")
}

fn seal(c: &mut Criterion) {
    let ring = Keyring::new(&[K2, K1]).expect("keys");
    let plain = definition(2);
    let sealed = ring.seal_config("w1", &plain).expect("seal");
    let mut g = c.benchmark_group("seal");
    g.bench_function("seal_config", |b| {
        b.iter(|| ring.seal_config("w1", black_box(&plain)).expect("seal"))
    });
    g.bench_function("open_config", |b| {
        b.iter(|| ring.open_config("w1", black_box(&sealed)).expect("open"))
    });
    g.finish();
}

fn rotation(c: &mut Criterion) {
    let body = vec![b'x'; 1024];
    let mut h = HeaderMap::new();
    let sig = sign::github_sha256(b"current-secret-0123456789", &body);
    h.insert(
        "x-hub-signature-256",
        HeaderValue::try_from(sig).expect("sig"),
    );
    let ctx = VerifyContext {
        now_unix: 0,
        url_verified: true,
    };
    let mut g = c.benchmark_group("rotation");
    for previous in [0, 1, 3] {
        let spec = SpecBuilder::without_plugins(VerifyConfig::default())
            .build(&definition(previous))
            .expect("spec");
        g.bench_with_input(
            BenchmarkId::new("github", previous + 1),
            &spec,
            |b, spec| {
                b.iter(|| {
                    let req = RequestParts {
                        method: &Method::POST,
                        headers: &h,
                        query: None,
                        body: black_box(&body),
                    };
                    spec.verifier.verify(&req, &ctx).expect("verifies")
                })
            },
        );
    }
    g.finish();
}

fn token(c: &mut Criterion) {
    let secret = "bench-key-secret-0123456789abcdef";
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(secret.as_bytes()))
    };
    let cfg = Config::from_toml(&format!(
        "[server]\nadmin_token = \"bench-admin-token\"\nsecrets_keys = [\"{K2}\", \"{K1}\"]\n\
         [[server.application_keys]]\nid = \"k\"\nsecret_sha256 = \"{hash}\"\nrole = \"read\"\n"
    ))
    .expect("config");
    let ring = Keyring::new(&cfg.server.secrets_keys).expect("keys");
    let auth = Authenticator::new(&cfg.server, &ring);
    let req = TokenRequest {
        key_id: "k".into(),
        key_secret: secret.into(),
    };
    let t = auth.issue(&req).expect("token");
    let mut h = HeaderMap::new();
    h.insert("x-authorization", HeaderValue::try_from(t).expect("token"));
    let mut g = c.benchmark_group("token");
    g.bench_function("issue", |b| {
        b.iter(|| auth.issue(black_box(&req)).expect("token"))
    });
    g.bench_function("check", |b| {
        b.iter(|| auth.authorize(&Method::GET, black_box(&h)).expect("valid"))
    });
    g.finish();
}

criterion_group!(benches, seal, rotation, token);
criterion_main!(benches);
