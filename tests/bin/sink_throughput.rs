//! Measures the sink's throughput against the Conductor double with added latency.
//!
//! ```text
//! cargo run --release -p hookd-e2e --bin sink-throughput -- \
//!     [events=20000] [latency=20] [partitions=6] [mode=start|wait] [in_flight=<sink.max_in_flight>]
//! ```
//!
//! An ingest-only and a sink-only daemon on one embedded cluster; events are signed and posted by
//! 64 concurrent HTTP/1.1 clients; the time from the sink's first effect to its last is
//! measured. `mode=start`: the events are published first and the sink starts afterwards, so the
//! figure is the sink's alone; each event starts one workflow (and writes its de-duplication
//! record and history entry). `mode=wait`: the sink runs first and indexes one
//! `WAIT_FOR_WEBHOOK` task per event (without latency); the events then arrive while it runs,
//! and each completes one wait. Run it under `taskset -c 1` for the one-core figure (the double,
//! the mock cluster and the load generator then share that core with the sink).
//!
//! librdkafka's mock cluster keeps at most 5 MB per partition and drops the oldest records
//! beyond: keep `events` × ~1.3 KB ÷ `partitions` under that (20,000 events on 6 partitions).
//!
//! `dedup_key=1` identifies each delivery by its payload's id (a webhook `dedupKey`), as a
//! provider's delivery id would; with a small `dedup_entries=<sink.dedup_index_entries>` the
//! de-duplication index soon evicts, and every later start is first looked up by its
//! correlation id: the steady state of a busy partition.
//!
//! `broker=<host:port>` uses an external Kafka-protocol broker (e.g. nisshi) instead of the
//! embedded mock cluster, with topics of a fresh name: the broker's work then leaves the tool's
//! process, and the 5 MB limit does not apply.
//!
//! `sink=process` runs the sink instead as a separate `hookd` process (the release
//! binary, `HOOKD_BIN` or `target/release/hookd`) pinned with `taskset` to `sink_cpu=0`, and
//! reports that process's own CPU: run the tool itself on the other core
//! (`taskset -c 1 … sink=process sink_cpu=0`) for the figure of one sink on one free core.

use std::time::{Duration, Instant};

use hookd_e2e::conductor::ConductorDouble;
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

const SECRET: &str = "bench-secret";

/// The allocator of the hookd binary (`daemon/src/main.rs`), for Rust and librdkafka alike.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// CPU seconds this process has used (user + system), from `/proc/self/stat` (Linux).
fn cpu_secs() -> f64 {
    cpu_secs_of("self")
}

/// CPU seconds process `pid` has used (user + system).
fn cpu_secs_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // fields after the command name (which is in parentheses): utime and stime are 12th and 13th
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

fn arg(name: &str, default: &str) -> String {
    std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: usize = arg("events", "20000").parse().unwrap();
    let latency: u64 = arg("latency", "20").parse().unwrap();
    let partitions: i32 = arg("partitions", "6").parse().unwrap();
    let mode = arg("mode", "start");
    let in_flight = arg("in_flight", "");
    let dedup_entries = arg("dedup_entries", "");
    let dedup_key = arg("dedup_key", "0") == "1";
    let wait_mode = mode == "wait";
    let external = arg("sink", "in-process") == "process";
    let broker = arg("broker", "");
    let (_cluster, b, topic) = if broker.is_empty() {
        let cluster = mock_cluster(partitions);
        let b = cluster.bootstrap_servers().to_string();
        (Some(cluster), b, "events".to_string())
    } else {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        (None, broker, format!("sinkbench{stamp}"))
    };
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    let sink_section = format!(
        "[sink]\nwait_poll_timeout_ms = 200\nwait_poll_count = 1000\nwait_callback_after_secs = 3600\n{}{}",
        if in_flight.is_empty() {
            String::new()
        } else {
            format!("max_in_flight = {in_flight}\n")
        },
        if dedup_entries.is_empty() {
            String::new()
        } else {
            format!("dedup_index_entries = {dedup_entries}\n")
        }
    );
    let extra = |role: &str| {
        format!(
            "#server\nrole = \"{role}\"\nreplay_window_secs = 0\n#kafka\ntopic = \"{topic}\"\npartitions = {partitions}\n#rest\n[conductor]\nurl = \"{}\"\n{sink_section}",
            c.url()
        )
    };

    // Phase 1: ingest only.
    let ingest = TestDaemon::start_with(&b, &extra("ingest"), None).await;
    assert!(ingest.daemon.wait_ready(Duration::from_secs(30)).await);
    let mut cfg = if wait_mode {
        json!({"name": "bench", "verifier": "SIGNATURE_BASED", "secretValue": SECRET,
            "receiverWorkflowNamesToVersions": {"waiter": 1}})
    } else {
        json!({"name": "bench", "verifier": "SIGNATURE_BASED", "secretValue": SECRET,
            "workflowsToStart": {"wf": 1}})
    };
    if dedup_key {
        // the payload's id identifies the delivery, as a provider's delivery id would
        cfg["dedupKey"] = json!("${workflow.input.id}");
    }
    let id = ingest.create_webhook(cfg).await;
    let client = http1_client();
    let url = format!("{}/webhook/{id}", ingest.http_url());
    let per = n.div_ceil(64);
    let total = per * 64;
    let mut sink = None;
    let mut child = None;
    // the sink process's pid once it runs (sink=process)
    let sink_pid = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let spawn_process = || {
        let ch = spawn_sink(&ingest, &arg("sink_cpu", "0"));
        let _ = sink_pid.set(ch.id().to_string());
        ch
    };
    if wait_mode {
        // The sink runs first and indexes one wait per event without latency; the events then
        // arrive while it runs (ingest shares the process with it, unless sink=process).
        if external {
            child = Some(spawn_process());
        } else {
            let s = TestDaemon::start_with(&b, &extra("sink"), None).await;
            assert!(s.daemon.wait_ready(Duration::from_secs(30)).await);
            sink = Some(s);
        }
        for i in 0..total {
            c.schedule_wait(
                "waiter",
                1,
                "wait",
                "WAIT_FOR_WEBHOOK",
                json!({}),
                json!({ "$.id": i }),
            );
        }
        let t = Instant::now();
        while c.tasks_with_status("SCHEDULED") > 0 && t.elapsed() < Duration::from_secs(600) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!("{total} waits polled in {:.1}s", t.elapsed().as_secs_f64());
    }
    c.set_latency(Duration::from_millis(latency));
    // In wait mode the sink works while the events arrive: note its first effect as it happens.
    let first_effect = {
        let c = c.clone();
        let sink_pid = sink_pid.clone();
        tokio::spawn(async move {
            loop {
                let k = if wait_mode {
                    c.tasks_with_status("COMPLETED")
                } else {
                    c.started_count()
                };
                if k > 0 {
                    let sink = sink_pid.get().map(|p| cpu_secs_of(p));
                    return (Instant::now(), k, cpu_secs(), sink, c.requests());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let sent = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..64 {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            for i in 0..per {
                let body = format!(
                    r#"{{"id":{},"w":{w},"i":{i},"pad":"{}"}}"#,
                    w * per + i,
                    "x".repeat(900)
                );
                let r = client
                    .post(&url)
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
        });
    }
    while tasks.join_next().await.is_some() {}
    let ingest_s = sent.elapsed().as_secs_f64();
    println!(
        "ingest: {total} events in {ingest_s:.2}s ({:.0}/s)",
        total as f64 / ingest_s
    );

    // Phase 2: one sink instance (already running in wait mode).
    let sink = match sink {
        Some(s) => Some(s),
        None if external && wait_mode => None,
        None if external => {
            child = Some(spawn_process());
            None
        }
        None => {
            let s = TestDaemon::start_with(&b, &extra("sink"), None).await;
            assert!(s.daemon.wait_ready(Duration::from_secs(30)).await);
            Some(s)
        }
    };
    let sink_cpu = || sink_pid.get().map(|p| cpu_secs_of(p));
    let done = |c: &ConductorDouble| {
        if wait_mode {
            c.tasks_with_status("COMPLETED")
        } else {
            c.started_count()
        }
    };
    // measure from the first effect to the last
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let k = done(&c);
        if k >= total || Instant::now() > deadline {
            break;
        }
        // each check scans the double's workflows under its lock: not too often
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (t0, k0, cpu0, sink_cpu0, calls0) = first_effect.await.unwrap();
    let calls = c.requests() - calls0;
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    let k = done(&c);
    let what = if wait_mode {
        "wait completions"
    } else {
        "workflow starts"
    };
    println!(
        "sink: {} {what} in {secs:.2}s = {:.0}/s (Conductor latency {latency} ms, {partitions} partitions, max_in_flight {}, mode {mode})",
        k - k0,
        (k - k0) as f64 / secs,
        if in_flight.is_empty() { "default" } else { &in_flight }
    );
    println!(
        "cpu: {cpu:.2} s of CPU over those {secs:.2} s (the whole process: {}Conductor double{}{}) = {:.0} {what} per CPU-second",
        if external { "" } else { "sink, " },
        if _cluster.is_some() { ", mock broker" } else { "" },
        if wait_mode { ", ingest, load" } else { "" },
        (k - k0) as f64 / cpu.max(0.001)
    );
    if let (Some(now), Some(then)) = (sink_cpu(), sink_cpu0) {
        let used = now - then;
        println!(
            "sink process: {used:.2} s of CPU over {secs:.2} s = {:.2} cores, {:.0} µs of CPU per {}",
            used / secs,
            used * 1e6 / (k - k0).max(1) as f64,
            if wait_mode { "completion" } else { "start" }
        );
    }
    println!(
        "conductor: {calls} calls = {:.2} per {}",
        calls as f64 / (k - k0).max(1) as f64,
        if wait_mode { "completion" } else { "start" }
    );
    if !wait_mode {
        println!("duplicates: {}", c.started_count().saturating_sub(total));
    }
    if let Some(s) = sink {
        s.stop().await;
    }
    if let Some(mut c) = child {
        let _ = c.kill();
        let _ = c.wait();
    }
    ingest.stop().await;
}

/// The sink as its own `hookd` process on the ingest daemon's cluster and config topic, pinned
/// to `cpu`.
fn spawn_sink(ingest: &TestDaemon, cpu: &str) -> std::process::Child {
    let dir = tempfile::tempdir().unwrap().keep();
    let text = ingest
        .config_text
        .replace("role = \"ingest\"", "role = \"sink\"")
        .replace(
            &ingest.state_dir.path().display().to_string(),
            &dir.display().to_string(),
        );
    let path = dir.join("hookd.toml");
    std::fs::write(&path, text).unwrap();
    let bin = std::env::var("HOOKD_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/hookd").to_string()
    });
    std::process::Command::new("taskset")
        .args(["-c", cpu, &bin, "--config"])
        .arg(&path)
        .env(
            "RUST_LOG",
            std::env::var("SINK_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e}"))
}
