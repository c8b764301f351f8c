//! The Conductor double of the soak benchmark (`benches/soak/`), served as its own process on a
//! fixed port: `soak-conductor --port 18080 [--latency-ms 0] [--run-id HEX]`.
//!
//! It answers the calls hookd's sink makes in the soak (no waits, no idempotency keys, OSS
//! behaviour: every start creates a workflow) with the JSON shapes of the test double
//! (`tests/harness/conductor.rs`): `POST /api/workflow`, `GET /api/workflow/{id}`,
//! `GET /api/workflow/{name}/correlated/{cid}`, `GET /api/tasks/poll/batch/{type}` (always
//! empty), `POST /api/tasks` (404). The test double keeps every request with its whole input
//! and finds workflows by scanning them; at millions of events that is gigabytes and a linear scan
//! per look-up (the sink makes one for every event it takes over after a crash). This one keeps
//! about 30 bytes per workflow and finds them by hash.
//!
//! Accounting for the soak's report:
//! - `GET /soak/stats`: starts, workflows whose correlation id was already started (duplicate
//!   starts), look-ups, and how many distinct events of `--run-id` were seen;
//! - `GET /soak/seen`: one byte per sequence number of `--run-id` (saturating count of starts
//!   whose input carried that bench id, `benches/src/shapes.rs`), for the 0-lost check.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// One started workflow: its name (index into `names`) and correlation-id hash.
struct Wf {
    name: u16,
    key: u64,
}

#[derive(Default)]
struct St {
    names: Vec<String>,
    workflows: Vec<Wf>,
    /// hash(name, correlation id) → first workflow index.
    by_key: HashMap<u64, u32>,
    /// Further workflows started with a key already present (duplicate starts).
    dups: HashMap<u64, Vec<u32>>,
    /// Start count per sequence number of the soak's run (saturating).
    seen: Vec<u8>,
    starts_other_runs: u64,
    starts_without_bench_id: u64,
    correlated_lookups: u64,
    get_lookups: u64,
}

struct App {
    st: Mutex<St>,
    latency: Duration,
    run_id: Option<u32>,
}

type S = Arc<App>;

fn key(name: &str, cid: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (name, cid).hash(&mut h);
    h.finish()
}

fn err(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(
            json!({"status": status.as_u16(), "code": status.canonical_reason(),
            "message": message, "retryable": status.is_server_error(), "validationErrors": []}),
        ),
    )
        .into_response()
}

/// `(run, seq)` of the first `"bench_id":"<8 hex>-<12 digits>"` in `body`.
fn bench_id(body: &[u8]) -> Option<(u32, u64)> {
    const NEEDLE: &[u8] = b"\"bench_id\":\"";
    let at = body.windows(NEEDLE.len()).position(|w| w == NEEDLE)? + NEEDLE.len();
    let id = std::str::from_utf8(body.get(at..at + 21)?).ok()?;
    let (run, seq) = id.split_once('-')?;
    Some((u32::from_str_radix(run, 16).ok()?, seq.parse().ok()?))
}

fn wf_id(i: u32) -> String {
    format!("soak-{i:010}")
}

fn wf_json(st: &St, i: u32) -> Value {
    let w = &st.workflows[i as usize];
    let name = &st.names[w.name as usize];
    json!({"workflowId": wf_id(i), "workflowName": name, "workflowVersion": 1,
        "status": "RUNNING", "input": {}, "correlationId": null,
        "workflowDefinition": {"name": name, "version": 1}, "tasks": []})
}

async fn start_workflow(State(app): State<S>, body: Bytes) -> Response {
    tokio::time::sleep(app.latency).await;
    let req: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let name = req["name"].as_str().unwrap_or_default();
    let cid = req["correlationId"].as_str().unwrap_or_default();
    let k = key(name, cid);
    let mut g = app.st.lock().unwrap();
    let name_idx = match g.names.iter().position(|n| n == name) {
        Some(i) => i,
        None => {
            g.names.push(name.to_string());
            g.names.len() - 1
        }
    } as u16;
    let i = g.workflows.len() as u32;
    g.workflows.push(Wf {
        name: name_idx,
        key: k,
    });
    let st = &mut *g;
    match st.by_key.entry(k) {
        Entry::Occupied(_) => st.dups.entry(k).or_default().push(i),
        Entry::Vacant(v) => {
            v.insert(i);
        }
    }
    match bench_id(&body) {
        Some((run, seq)) if Some(run) == app.run_id => {
            let seq = seq as usize;
            let len = g.seen.len();
            if len <= seq {
                g.seen.resize((seq + 1).max(len * 2), 0);
            }
            g.seen[seq] = g.seen[seq].saturating_add(1);
        }
        Some(_) => g.starts_other_runs += 1,
        None => g.starts_without_bench_id += 1,
    }
    (StatusCode::OK, [("content-type", "text/plain")], wf_id(i)).into_response()
}

async fn get_workflow(State(app): State<S>, Path(id): Path<String>) -> Response {
    tokio::time::sleep(app.latency).await;
    let mut g = app.st.lock().unwrap();
    g.get_lookups += 1;
    let i = id.strip_prefix("soak-").and_then(|n| n.parse::<u32>().ok());
    match i.filter(|i| (*i as usize) < g.workflows.len()) {
        Some(i) => Json(wf_json(&g, i)).into_response(),
        None => err(
            StatusCode::NOT_FOUND,
            &format!("No such workflow found by id: {id}"),
        ),
    }
}

async fn correlated(State(app): State<S>, Path((name, cid)): Path<(String, String)>) -> Response {
    tokio::time::sleep(app.latency).await;
    let mut g = app.st.lock().unwrap();
    g.correlated_lookups += 1;
    let k = key(&name, &cid);
    let mut ids: Vec<u32> = g.by_key.get(&k).copied().into_iter().collect();
    ids.extend(g.dups.get(&k).into_iter().flatten().copied());
    let list: Vec<Value> = ids
        .into_iter()
        .filter(|i| g.workflows[*i as usize].key == k)
        .map(|i| {
            let mut v = wf_json(&g, i);
            v["correlationId"] = cid.clone().into();
            v
        })
        .collect();
    Json(list).into_response()
}

async fn poll_batch(State(app): State<S>) -> Response {
    // The sink long-polls: answer empty after a while, like Conductor with no tasks.
    tokio::time::sleep(app.latency.max(Duration::from_millis(200))).await;
    Json(Vec::<Value>::new()).into_response()
}

async fn update_task() -> Response {
    err(StatusCode::NOT_FOUND, "No such task")
}

async fn stats(State(app): State<S>) -> Response {
    let g = app.st.lock().unwrap();
    let distinct = g.seen.iter().filter(|c| **c > 0).count();
    let over_once = g.seen.iter().filter(|c| **c > 1).count();
    Json(json!({
        "starts": g.workflows.len(),
        "distinct_correlation_ids": g.by_key.len(),
        "duplicate_starts": g.dups.values().map(Vec::len).sum::<usize>(),
        "run_id": app.run_id.map(|r| format!("{r:08x}")),
        "run_distinct_events": distinct,
        "run_events_started_more_than_once": over_once,
        "starts_other_runs": g.starts_other_runs,
        "starts_without_bench_id": g.starts_without_bench_id,
        "correlated_lookups": g.correlated_lookups,
        "get_lookups": g.get_lookups,
    }))
    .into_response()
}

async fn seen(State(app): State<S>) -> Response {
    let g = app.st.lock().unwrap();
    (
        StatusCode::OK,
        [("content-type", "application/octet-stream")],
        g.seen.clone(),
    )
        .into_response()
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("soak-conductor --port PORT [--latency-ms MS] [--run-id HEX]");
        return;
    }
    let port: u16 = arg(&args, "--port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(18080);
    let latency = Duration::from_millis(
        arg(&args, "--latency-ms")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0),
    );
    let run_id = arg(&args, "--run-id").map(|r| {
        u32::from_str_radix(&r, 16).unwrap_or_else(|_| panic!("--run-id {r}: not 8 hex digits"))
    });
    let app = Arc::new(App {
        st: Mutex::new(St::default()),
        latency,
        run_id,
    });
    let router = Router::new()
        .route("/api/workflow", post(start_workflow))
        .route("/api/workflow/{id}", get(get_workflow))
        .route("/api/workflow/{name}/correlated/{cid}", get(correlated))
        .route("/api/tasks/poll/batch/{task_type}", get(poll_batch))
        .route("/api/tasks", post(update_task))
        .route("/soak/stats", get(stats))
        .route("/soak/seen", get(seen))
        .with_state(app);
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
    eprintln!("soak-conductor: http://127.0.0.1:{port}/api (latency {latency:?})");
    axum::serve(l, router).await.expect("serve");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bench_id() {
        let body = br#"{"input":{"body":{"bench_id":"0000abcd-000000000042","x":1}}}"#;
        assert_eq!(bench_id(body), Some((0xabcd, 42)));
        assert_eq!(bench_id(br#"{"bench_id":"short"}"#), None);
        assert_ne!(key("a", "b"), key("a", "c"));
    }
}
