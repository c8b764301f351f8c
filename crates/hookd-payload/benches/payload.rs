//! What hookd computes from an event body, with simd-json's tape (`hookd_payload`, what hookd
//! runs) against serde_json doing the same work (criterion, no plots). Bodies are realistic
//! provider events — a GitHub `push`, a Stripe `invoice.paid`, a Slack `event_callback` with
//! rich-text blocks — at ~1 KiB and ~64 KiB (the 64 KiB ones have more commits, invoice lines
//! and blocks, not one long string):
//!
//! - `idempotency_key/<parser>/<provider>/<size>`: ingress, per request of a webhook with an
//!   `idempotencyKey` template: the key (simd-json: looked up on the tape, no payload built;
//!   serde_json: parse into a `Value`, then the template over it);
//! - `payload/<parser>/<provider>/<size>`: the sink, per event: the payload map;
//! - `event/<parser>/<provider>/<size>`: the sink's whole body work per event: the payload, the
//!   match key of a matcher with three JSONPath keys, and the history entry's payload text.
//!
//! `cargo bench -p hookd-payload --bench payload` (builds this crate only; `-- --quick` for a
//! fast pass).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookd_payload::matching::Matcher;
use hookd_payload::Payload;
use serde_json::{json, Value};

const QUERY: Option<&str> = Some("source=bench");

/// A provider's event: (name, body builder for `n` repeated items, idempotency template, three
/// match paths).
struct Shape {
    name: &'static str,
    body: fn(usize) -> Value,
    template: &'static str,
    paths: [&'static str; 3],
}

fn sha(i: usize) -> String {
    format!(
        "{:040x}",
        (i as u128 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834)
    )
}

fn github(n: usize) -> Value {
    let commit = |i: usize| {
        json!({
            "id": sha(i), "tree_id": sha(i + 1000), "distinct": true,
            "message": format!("Fix parser edge case #{i}\n\nHandle escaped \"quotes\" and \\u00e9 in names."),
            "timestamp": "2024-05-01T12:34:56+02:00",
            "url": format!("https://github.com/octocat/Hello-World/commit/{}", sha(i)),
            "author": {"name": "Mona Lisa Octocat", "email": "mona@github.com", "username": "octocat"},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
            "added": [format!("src/module_{i}.rs")], "removed": [],
            "modified": ["README.md", "src/lib.rs"]
        })
    };
    json!({
        "ref": "refs/heads/main", "before": sha(0), "after": sha(n),
        "repository": {
            "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": "Hello-World",
            "full_name": "octocat/Hello-World", "private": false,
            "owner": {"name": "octocat", "login": "octocat", "id": 583231, "type": "User", "site_admin": false},
            "html_url": "https://github.com/octocat/Hello-World", "fork": false,
            "created_at": 1296068472, "pushed_at": 1714559696, "size": 108, "stargazers_count": 80,
            "language": "Rust", "default_branch": "main", "topics": ["webhooks", "bench"]
        },
        "pusher": {"name": "octocat", "email": "mona@github.com"},
        "sender": {"login": "octocat", "id": 583231, "type": "User", "site_admin": false},
        "created": false, "deleted": false, "forced": false, "base_ref": null,
        "compare": format!("https://github.com/octocat/Hello-World/compare/{}...{}", &sha(0)[..12], &sha(n)[..12]),
        "commits": (0..n).map(commit).collect::<Vec<_>>(),
        "head_commit": commit(n)
    })
}

fn stripe(n: usize) -> Value {
    let line = |i: usize| {
        json!({
            "id": format!("il_1P{i:08}Xyz"), "object": "line_item", "amount": 1999 + i as i64,
            "currency": "usd", "description": format!("1 × Pro plan seat {i} (at $19.99 / month)"),
            "discountable": true, "livemode": false, "metadata": {"seat": i.to_string()},
            "period": {"end": 1717200000, "start": 1714521600},
            "price": {"id": "price_1OzPro", "object": "price", "active": true, "unit_amount": 1999,
                      "recurring": {"interval": "month", "interval_count": 1}},
            "proration": false, "quantity": 1, "type": "subscription"
        })
    };
    json!({
        "id": "evt_1PBenchmark000001", "object": "event", "api_version": "2024-06-20",
        "created": 1714521600,
        "data": {"object": {
            "id": "in_1PBenchInvoice01", "object": "invoice", "amount_due": 1999 * n as i64,
            "amount_paid": 1999 * n as i64, "currency": "usd", "customer": "cus_Q1bench",
            "customer_email": "jenny.rosen@example.com", "status": "paid", "paid": true,
            "subscription": "sub_1PBench", "metadata": {"order_id": "6735"},
            "lines": {"object": "list", "has_more": false, "total_count": n,
                      "url": "/v1/invoices/in_1PBenchInvoice01/lines",
                      "data": (0..n).map(line).collect::<Vec<_>>()}
        }},
        "livemode": false, "pending_webhooks": 1,
        "request": {"id": "req_bench01", "idempotency_key": "a3f1c7e2-0b6d-4c1e-9a2f-5d8e7b6c4a10"},
        "type": "invoice.paid"
    })
}

fn slack(n: usize) -> Value {
    let block = |i: usize| {
        json!({
            "type": "rich_text", "block_id": format!("b{i:04}"),
            "elements": [{"type": "rich_text_section", "elements": [
                {"type": "text", "text": format!("Deploy step {i} finished: ")},
                {"type": "text", "text": "ok ✅", "style": {"bold": true}},
                {"type": "link", "url": format!("https://ci.example.com/runs/{i}")}
            ]}]
        })
    };
    json!({
        "token": "XXYYZZ", "team_id": "T0001", "api_app_id": "A0001",
        "event": {
            "type": "message", "channel": "C2147483705", "user": "U2147483697",
            "text": "Deploy finished", "ts": "1714521600.000200",
            "client_msg_id": "8e1f3b5a-2c4d-4e6f-8a9b-0c1d2e3f4a5b", "team": "T0001",
            "blocks": (0..n).map(block).collect::<Vec<_>>(),
            "event_ts": "1714521600.000200", "channel_type": "channel"
        },
        "type": "event_callback", "event_id": "Ev0PV52K25", "event_time": 1714521600,
        "authorizations": [{"enterprise_id": null, "team_id": "T0001", "user_id": "U0001",
                            "is_bot": true, "is_enterprise_install": false}],
        "is_ext_shared_channel": false, "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ"
    })
}

const SHAPES: [Shape; 3] = [
    Shape {
        name: "github",
        body: github,
        template: "${workflow.input.repository.full_name}@${workflow.input.after}",
        paths: ["$.repository.full_name", "$.ref", "$.pusher.name"],
    },
    Shape {
        name: "stripe",
        body: stripe,
        template: "${workflow.input.data.object.id}",
        paths: [
            "$.type",
            "$.data.object.customer",
            "$.data.object.metadata.order_id",
        ],
    },
    Shape {
        name: "slack",
        body: slack,
        template: "${workflow.input.event.client_msg_id}",
        paths: ["$.event.type", "$.event.channel", "$.event.user"],
    },
];

/// The body of `shape` with as many items as bring it closest to `target` bytes.
fn sized(shape: &Shape, target: usize) -> Vec<u8> {
    let mut n = 0;
    loop {
        let b = serde_json::to_vec(&(shape.body)(n)).expect("json");
        let next = serde_json::to_vec(&(shape.body)(n + 1)).expect("json");
        if next.len() > target {
            return if target - b.len().min(target) <= next.len() - target || n == 0 {
                b
            } else {
                next
            };
        }
        n += 1;
    }
}

/// The sink's per-event body work after the payload: a match key and the history text.
fn after_payload(p: Payload, m: &Matcher) -> usize {
    let v = Value::Object(p);
    let key = m.key_for(&v).expect("the matcher applies");
    key.len() + serde_json::to_string(&v).expect("json").len()
}

fn benches(c: &mut Criterion) {
    for (target, size) in [(1024, "1KiB"), (64 * 1024, "64KiB")] {
        for shape in &SHAPES {
            let body = sized(shape, target);
            let id = |parser: &str| BenchmarkId::new(parser, format!("{}/{size}", shape.name));
            let m = Matcher::new("wf", 1, "wait", shape.paths.map(String::from).to_vec());
            // both sides compute the same thing
            let key = hookd_payload::idempotency_key(shape.template, &body, QUERY);
            assert!(!key.is_empty());
            let reference = hookd_payload::build_with_serde_json(&body, QUERY);
            assert_eq!(
                key,
                hookd_payload::template::resolve(shape.template, &reference)
            );
            assert_eq!(hookd_payload::build(&body, QUERY), reference);

            let mut g = c.benchmark_group("idempotency_key");
            g.throughput(Throughput::Bytes(body.len() as u64));
            g.bench_function(id("simd-json"), |b| {
                b.iter(|| hookd_payload::idempotency_key(shape.template, black_box(&body), QUERY))
            });
            g.bench_function(id("serde_json"), |b| {
                b.iter(|| {
                    let p = hookd_payload::build_with_serde_json(black_box(&body), QUERY);
                    hookd_payload::template::resolve(shape.template, &p)
                })
            });
            g.finish();

            let mut g = c.benchmark_group("payload");
            g.throughput(Throughput::Bytes(body.len() as u64));
            g.bench_function(id("simd-json"), |b| {
                b.iter(|| hookd_payload::build(black_box(&body), QUERY))
            });
            g.bench_function(id("serde_json"), |b| {
                b.iter(|| hookd_payload::build_with_serde_json(black_box(&body), QUERY))
            });
            g.finish();

            let mut g = c.benchmark_group("event");
            g.throughput(Throughput::Bytes(body.len() as u64));
            g.bench_function(id("simd-json"), |b| {
                b.iter(|| after_payload(hookd_payload::build(black_box(&body), QUERY), &m))
            });
            g.bench_function(id("serde_json"), |b| {
                b.iter(|| {
                    after_payload(
                        hookd_payload::build_with_serde_json(black_box(&body), QUERY),
                        &m,
                    )
                })
            });
            g.finish();
        }
    }
}

criterion_group!(payload, benches);
criterion_main!(payload);
