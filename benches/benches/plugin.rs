//! WebAssembly verifier plugins (criterion, no plots). Builds `plugins/` from source first
//! (`cargo build --release --target wasm32-wasip2`, as the e2e tests do).
//!
//! - `plugin/standard-webhooks/{1KiB,64KiB}/native`: the Standard Webhooks algorithm in native
//!   Rust, step for step what the plugin does (header lookup, timestamp window, signatures and
//!   `whsec_` key decoded on the stack, HMAC-SHA256 over `id.ts.` and the body without joining
//!   them, constant-time comparison);
//! - `…/plugin`: the `standard-webhooks` plugin through hookd's verifier, per request: request
//!   conversion, a pooled instance, the call, the verdict check;
//! - `…/1KiB/plugin-call`: the same without the request conversion (a prepared WIT request);
//! - `…/1KiB/fresh-instance/{on-demand,pooling}`: a new instance per call, with wasmtime's
//!   on-demand and pooling allocators (what reusing instances saves);
//! - `plugin/floor/1KiB-reject-at-once`: the `shopify` plugin rejecting after one header
//!   lookup;
//! - `plugin/floor/1KiB-noop-{nothing,three-headers,thirty-headers}`: the `noop` plugin
//!   rejecting without reading the request, after looking up the three Standard Webhooks
//!   headers, and after doing that ten times — the fixed cost of a call, and what the plugin's
//!   own (WebAssembly) work costs;
//! - `plugin/dispatch/{inline,block_in_place,spawn_blocking}`: a task on a 2-worker runtime
//!   running the call inline, through `block_in_place`, or through `spawn_blocking`;
//! - `plugin/hostile/loop-5ms`: how long the `loop` plugin runs before the default 5 ms
//!   deadline stops it (time per call);
//! - `plugin/contract/1KiB/{0.2.0,0.3.0}`: twin plugins (`contract-v0-2`, `contract-v0-3`: the
//!   same code built for each contract) accepting the same 1 KiB request — what contract 0.3.0
//!   costs per call over 0.2.0 (its `verify` arguments no longer fit 16 flat values, so they
//!   are passed through the plugin's memory, and two more strings are lowered);
//!   `…/origin-and-url`: what ingress adds per plugin request for 0.3.0 (scheme, authority,
//!   public URL).
//!
//! `cargo bench -p hookd-benches --bench plugin` (add `-- --quick` for a fast pass).
//!
//! Figures (2-core VM with SHA-NI, criterion medians, contract 0.2.0):
//!
//! | bench | 1 KiB | 64 KiB |
//! |---|---|---|
//! | native | 0.91 µs | 32.4 µs |
//! | plugin (per request, all in) | 2.24 µs (2.5×) | 33.8 µs (1.05×) |
//! | plugin-call (prepared request) | 2.14 µs | |
//! | floor: `noop` doing nothing / three header lookups / thirty | 0.62 / 0.88 / 1.81 µs | |
//! | floor: `shopify` rejecting at once | 0.82 µs | |
//! | fresh instance per call: on-demand / pooling allocator | 37.4 / 22.4 µs | |
//! | `loop` plugin, default 5 ms deadline: time until stopped | 5.01 ms | |
//!
//! (Contract 0.1.0, before: native 1.03 µs with allocations, plugin 2.77 µs, floor 1.32 µs.)
//!
//! Contract 0.3.0 against 0.2.0 (issue 15; measured while other builds loaded the VM, load
//! average 6–12 on 2 cores, so absolute figures are inflated — compare within a run): run 1
//! 2.46 µs (0.2.0) vs 3.10 µs (0.3.0), origin and URL 0.56 µs; run 2 5.06 vs 5.52 µs, origin
//! and URL 0.33 µs. About +0.5 µs per call, +0.3–0.6 µs in ingress: well under 1 % of the
//! whole request path.
//!
//! Verification alone, the plugin costs 2.5× the native code at 1 KiB: a call that does nothing
//! costs 0.62 µs (lowering the request into the sandbox: one allocation in it per string or
//! list, entering and leaving, lifting the verdict), and the plugin's own steps run as
//! WebAssembly at about a third of native speed (a header lookup ~35 ns against ~8 ns native).
//! The HMAC itself runs natively in the host on the plugin's memory, so at 64 KiB, where it
//! dominates, the plugin is within 5 % of native. In the whole request path (HTTP/1.1, 1 KiB,
//! about 17–20 µs of daemon CPU per request) the difference does not show: see the
//! `hookd-h1-plugin` run in `benches/run-all.sh` and RESULTS.md.
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hookd::config::PluginsConfig;
use hookd::model::WebhookConfig;
use hookd::plugin::crypto::matches_any;
use hookd::plugin::sandbox::bindings::hookd::verifier::types::{Request, Scheme, Settings};
use hookd::plugin::{Limits, Origin, PluginHost, PluginLink, PluginVerifier};
use hookd::verify::hmac::hmac_sha256;
use hookd::verify::{Outcome, Reject, RequestParts, VerifyContext};
use hookd_benches::shapes::{Generator, Provider};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::json;

const NOW: i64 = 1_700_000_000;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";

/// Builds `plugins/` and returns a directory holding `standard-webhooks`, `shopify` and `loop`.
fn plugin_dir() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let target = root.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let st = std::process::Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(st.success(), "building plugins/ failed");
    let out = target.join("wasm32-wasip2/release");
    let dir = tempfile::tempdir().unwrap();
    for (file, name) in [
        ("standard_webhooks", "standard-webhooks"),
        ("shopify", "shopify"),
        ("loop", "loop"),
        ("noop", "noop"),
        ("contract_v0_2", "contract-v0-2"),
        ("contract_v0_3", "contract-v0-3"),
    ] {
        std::fs::copy(
            out.join(format!("{file}.wasm")),
            dir.path().join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    dir
}

fn host(dir: &Path, deadline_ms: u64, pooling: bool) -> Arc<PluginHost> {
    let cfg = PluginsConfig {
        dir: Some(dir.to_path_buf()),
        deadline_ms,
        ..PluginsConfig::default()
    };
    let limits = Limits::from_config(&cfg);
    let h = if pooling {
        PluginHost::with_pooling_allocator(PathBuf::from(dir), limits)
    } else {
        PluginHost::new(PathBuf::from(dir), limits)
    }
    .unwrap();
    let r = h.reload();
    assert!(r.failed.is_empty(), "{r:?}");
    Arc::new(h)
}

/// A correctly signed Standard Webhooks request of `size` body bytes with a realistic set of
/// headers.
fn signed_request(size: usize) -> (HeaderMap, Bytes) {
    let body = Generator::new(Provider::Github, size, SECRET, 1)
        .expect("size fits")
        .make(1, NOW)
        .body;
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = [
        MSG_ID.as_bytes(),
        b".",
        NOW.to_string().as_bytes(),
        b".",
        &body,
    ]
    .concat();
    let sig = base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, &[&signed]));
    let mut h = HeaderMap::new();
    for (k, v) in [
        ("host", "hooks.example.com".to_string()),
        ("user-agent", "Svix-Webhooks/1.24.0".into()),
        ("content-type", "application/json".into()),
        ("content-length", body.len().to_string()),
        ("accept", "*/*".into()),
        ("webhook-id", MSG_ID.into()),
        ("webhook-timestamp", NOW.to_string()),
        ("webhook-signature", format!("v1,{sig}")),
    ] {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::try_from(v).unwrap(),
        );
    }
    (h, body)
}

/// The plugin's algorithm, natively: the same steps (header lookup, timestamp window,
/// signatures and `whsec_` key decoded on the stack, HMAC-SHA256 over `id.ts.` and the body
/// without concatenating them, constant-time comparison with every signature).
fn native(
    req: &RequestParts<'_>,
    now: i64,
    secrets: &[String],
    tol: u64,
) -> Result<Outcome, Reject> {
    let h = |n: &str| {
        req.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let (Some(id), Some(ts), Some(sigs)) = (
        h("webhook-id").or_else(|| h("svix-id")),
        h("webhook-timestamp").or_else(|| h("svix-timestamp")),
        h("webhook-signature").or_else(|| h("svix-signature")),
    ) else {
        return Err(Reject::MissingSignature);
    };
    if ts.is_empty() || ts.len() > 18 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::Malformed("timestamp"));
    }
    let t: i64 = ts.parse().map_err(|_| Reject::Malformed("timestamp"))?;
    if (i128::from(now) - i128::from(t)).unsigned_abs() > u128::from(tol) {
        return Err(Reject::StaleTimestamp);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut bufs = [[0u8; 48]; 8];
    let mut given = [0u8; 8 * 32];
    let mut n = 0;
    for (sig, buf) in sigs
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .zip(bufs.iter_mut())
    {
        if let Ok(32) = b64.decode_slice(sig, buf) {
            given[n * 32..][..32].copy_from_slice(&buf[..32]);
            n += 1;
        }
    }
    if n == 0 {
        return Err(Reject::BadSignature);
    }
    let mut key = [0u8; 256];
    for s in secrets {
        let s = s.trim();
        let Ok(len) = b64.decode_slice(s.strip_prefix("whsec_").unwrap_or(s), &mut key) else {
            continue;
        };
        let mac = hmac_sha256(
            &key[..len],
            &[id.as_bytes(), b".", ts.as_bytes(), b".", req.body],
        );
        if matches_any(&mac, &given[..n * 32]) {
            return Ok(Outcome::Accept {
                delivery_id: Some(id.to_owned()),
            });
        }
    }
    Err(Reject::BadSignature)
}

/// The WIT request for `headers` and `body`, borrowing `block` (see `header_block`).
fn wit_request<'a>(block: &'a str, body: &'a [u8], secrets: &'a [&'a str]) -> Request<'a> {
    Request {
        method: "POST",
        target: "/webhook/bench",
        headers: block,
        body,
        now_unix_seconds: NOW,
        url_verified: true,
        settings: Settings {
            secrets,
            params: &[],
            tolerance_seconds: None,
        },
        scheme: Scheme::Https,
        authority: "hooks.example.com",
        url: "https://hooks.example.com/webhook/bench",
    }
}

fn plugins(c: &mut Criterion) {
    let dir = plugin_dir();
    let h = host(dir.path(), 5, false);
    let (headers, body) = signed_request(1024);
    let parts = RequestParts {
        method: &Method::POST,
        headers: &headers,
        query: None,
        body: &body,
    };
    let ctx = VerifyContext {
        now_unix: NOW,
        url_verified: true,
    };
    let cfg: WebhookConfig = serde_json::from_value(json!({"id": "bench", "name": "bench",
        "verifier": "WASM_PLUGIN", "plugin": "standard-webhooks", "secretValue": SECRET,
        "workflowsToStart": {"wf": 1}}))
    .unwrap();
    let pv = PluginVerifier::new(&PluginLink::Host(h.clone()), &cfg).unwrap();
    let want = Ok(Outcome::Accept {
        delivery_id: Some(MSG_ID.into()),
    });
    assert_eq!(native(&parts, NOW, &[SECRET.into()], 300), want);
    assert_eq!(pv.verify(&parts, &ctx), want);
    let block = hookd::plugin::verifier::header_block(&headers);
    let req = wit_request(&block, &body, &[SECRET]);

    let mut g = c.benchmark_group("plugin/standard-webhooks/1KiB");
    g.throughput(Throughput::Bytes(body.len() as u64));
    let secrets = vec![SECRET.to_string()];
    g.bench_function("native", |b| {
        b.iter(|| native(black_box(&parts), NOW, &secrets, 300))
    });
    g.bench_function("plugin", |b| b.iter(|| pv.verify(black_box(&parts), &ctx)));
    g.bench_function("plugin-call", |b| {
        b.iter(|| h.call("standard-webhooks", black_box(req.clone())))
    });
    g.bench_function("fresh-instance/on-demand", |b| {
        b.iter(|| h.call_fresh("standard-webhooks", black_box(req.clone())))
    });
    let hp = host(dir.path(), 5, true);
    assert_eq!(
        hp.call_fresh("standard-webhooks", req.clone()),
        Ok(want.clone())
    );
    g.bench_function("fresh-instance/pooling", |b| {
        b.iter(|| hp.call_fresh("standard-webhooks", black_box(req.clone())))
    });
    g.finish();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pv = Arc::new(pv);
    let headers = Arc::new(headers.clone());
    // The same at 64 KiB, where the HMAC dominates.
    let (h64, b64k) = signed_request(64 * 1024);
    let parts64 = RequestParts {
        method: &Method::POST,
        headers: &h64,
        query: None,
        body: &b64k,
    };
    assert_eq!(pv.verify(&parts64, &ctx), want);
    let mut g = c.benchmark_group("plugin/standard-webhooks/64KiB");
    g.throughput(Throughput::Bytes(b64k.len() as u64));
    g.bench_function("native", |b| {
        b.iter(|| native(black_box(&parts64), NOW, &secrets, 300))
    });
    g.bench_function("plugin", |b| {
        b.iter(|| pv.verify(black_box(&parts64), &ctx))
    });
    g.finish();

    // The floor of a plugin call: Shopify's plugin rejecting at once (one header lookup) for
    // the same 1 KiB request.
    let shop: WebhookConfig = serde_json::from_value(json!({"id": "shop", "name": "shop",
        "verifier": "WASM_PLUGIN", "plugin": "shopify", "secretValue": "s",
        "workflowsToStart": {"wf": 1}}))
    .unwrap();
    let shop = PluginVerifier::new(&PluginLink::Host(h.clone()), &shop).unwrap();
    assert_eq!(shop.verify(&parts, &ctx), Err(Reject::MissingSignature));
    c.bench_function("plugin/floor/1KiB-reject-at-once", |b| {
        b.iter(|| shop.verify(black_box(&parts), &ctx))
    });

    // The fixed cost of a call: the `noop` plugin rejecting without looking at the request,
    // and after looking up the three Standard Webhooks headers (same 1 KiB request).
    for (name, mode) in [
        ("nothing", "none"),
        ("three-headers", "headers"),
        ("thirty-headers", "headers10"),
    ] {
        let cfg: WebhookConfig = serde_json::from_value(json!({"id": "noop", "name": "noop",
            "verifier": "WASM_PLUGIN", "plugin": "noop", "secretValue": mode,
            "workflowsToStart": {"wf": 1}}))
        .unwrap();
        let noop = PluginVerifier::new(&PluginLink::Host(h.clone()), &cfg).unwrap();
        assert_eq!(noop.verify(&parts, &ctx), Err(Reject::MissingSignature));
        c.bench_function(&format!("plugin/floor/1KiB-noop-{name}"), |b| {
            b.iter(|| noop.verify(black_box(&parts), &ctx))
        });
    }

    // The cost of contract 0.3.0 against 0.2.0: twin plugins (the same code built for each
    // contract) accepting the same 1 KiB request after one header lookup and a host call; the
    // 0.2.0 one is called through its own bindings with the request converted. And what
    // ingress adds per plugin request for 0.3.0: the request's origin and public URL.
    {
        let mut hm = HeaderMap::clone(&headers);
        hm.insert("x-token", HeaderValue::from_static("tok-123456"));
        let block = hookd::plugin::verifier::header_block(&hm);
        let secrets = ["tok-123456"];
        let mut g = c.benchmark_group("plugin/contract/1KiB");
        for (name, v) in [("contract-v0-2", "0.2.0"), ("contract-v0-3", "0.3.0")] {
            let out = h.call(name, wit_request(&block, &body, &secrets));
            assert!(
                matches!(out, Ok(Ok(Outcome::Accept { .. }))),
                "{name}: {out:?}"
            );
            g.bench_function(v, |b| {
                b.iter(|| h.call(name, black_box(wit_request(&block, &body, &secrets))))
            });
        }
        let uri: http::Uri = "/webhook/bench".parse().unwrap();
        g.bench_function("origin-and-url", |b| {
            b.iter(|| {
                let o = Origin::of(black_box(&uri), black_box(&hm), true, false, None);
                o.url(black_box("/webhook/bench"))
            })
        });
        g.finish();
    }

    // How ingress runs the call from its task: inline on the worker, block_in_place (what it
    // does), or spawn_blocking. Each iteration spawns a task on a 2-worker runtime and joins it.
    let mut g = c.benchmark_group("plugin/dispatch");
    type Run =
        fn(Arc<PluginVerifier>, Arc<HeaderMap>, Bytes, VerifyContext) -> Result<Outcome, Reject>;
    fn call(
        pv: Arc<PluginVerifier>,
        h: Arc<HeaderMap>,
        body: Bytes,
        ctx: VerifyContext,
    ) -> Result<Outcome, Reject> {
        let parts = RequestParts {
            method: &Method::POST,
            headers: &h,
            query: None,
            body: &body,
        };
        pv.verify(&parts, &ctx)
    }
    let variants: [(&str, u8); 3] = [("inline", 0), ("block_in_place", 1), ("spawn_blocking", 2)];
    for (name, how) in variants {
        g.bench_function(name, |b| {
            b.iter(|| {
                let (pv, headers, body) = (pv.clone(), headers.clone(), body.clone());
                let f: Run = call;
                let handle = rt.handle().clone();
                let r = rt.block_on(async move {
                    handle
                        .spawn(async move {
                            match how {
                                0 => f(pv, headers, body, ctx),
                                1 => tokio::task::block_in_place(|| f(pv, headers, body, ctx)),
                                _ => tokio::task::spawn_blocking(move || f(pv, headers, body, ctx))
                                    .await
                                    .unwrap(),
                            }
                        })
                        .await
                        .unwrap()
                });
                assert!(r.is_ok(), "{name}: {r:?}");
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("plugin/hostile");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    let lp = wit_request("", &[], &[]);
    g.bench_function("loop-5ms", |b| {
        b.iter(|| {
            let r = h.call("loop", black_box(lp.clone()));
            assert_eq!(r, Err(hookd::plugin::Failure::Deadline));
        })
    });
    g.finish();
}

criterion_group!(benches, plugins);
criterion_main!(benches);
