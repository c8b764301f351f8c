//! Measures events/s through the sink against the Conductor double with added latency.
//!
//! `cargo run --release -p hookd-e2e --bin sink-throughput -- [events] [latency_ms] [partitions]`
//! (defaults 3000, 5, 6). Each event starts one workflow (no idempotency key: hookd's own
//! per-delivery de-duplication record is written for each). Prints events/s measured from the
//! first to the last workflow start seen by the double.

use std::time::{Duration, Instant};

use hookd_e2e::conductor::ConductorDouble;
use hookd_e2e::hookd::verify::sign;
use hookd_e2e::*;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = *args.first().unwrap_or(&3000) as usize;
    let latency = *args.get(1).unwrap_or(&5);
    let partitions = *args.get(2).unwrap_or(&6);
    let c = ConductorDouble::start().await;
    c.set_oss(true);
    c.set_latency(Duration::from_millis(latency));
    let extra = format!(
        "#kafka\npartitions = {partitions}\n#rest\n[conductor]\nurl = \"{}\"\n[sink]\nwait_poll_timeout_ms = 1000\n",
        c.url()
    );
    let d = TestDaemon::start(&extra).await;
    let secret = "bench-secret";
    let id = d
        .create_webhook(
            json!({"name": "bench", "verifier": "SIGNATURE_BASED", "secretValue": secret,
            "workflowsToStart": {"wf": 1}}),
        )
        .await;
    // let the consumer group settle before timing
    tokio::time::sleep(Duration::from_secs(3)).await;
    let client = http1_client();
    let url = format!("{}/webhook/{id}", d.http_url());
    let sent = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let per = n.div_ceil(64);
    for w in 0..64 {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move {
            for i in 0..per {
                let body = format!(r#"{{"w":{w},"i":{i},"pad":"{}"}}"#, "x".repeat(900));
                let r = client
                    .post(&url)
                    .header(
                        "X-Hub-Signature-256",
                        sign::github_sha256(secret.as_bytes(), body.as_bytes()),
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
    let total = per * 64;
    let ingest = sent.elapsed();
    let mut first: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let k = c.started().len();
        if k > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if k >= total || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = sent.elapsed();
    let k = c.started().len();
    println!(
        "events sent: {total} in {:.2}s ({:.0}/s ingest)",
        ingest.as_secs_f64(),
        total as f64 / ingest.as_secs_f64()
    );
    println!(
        "workflows started: {k} (duplicates: {})",
        k.saturating_sub(total)
    );
    println!(
        "sink: {total} events in {:.2}s from first send = {:.0} events/s (Conductor latency {latency} ms, {partitions} partitions)",
        done.as_secs_f64(),
        total as f64 / done.as_secs_f64()
    );
    d.stop().await;
}
