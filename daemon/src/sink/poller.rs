//! hookd as the worker for the wait task type: batch-polls waiting tasks, indexes them (shared
//! through the waits topic), keeps them alive with `IN_PROGRESS` + `callbackAfterSeconds`, and
//! drops entries that are not re-polled in time (timed out, cancelled, completed elsewhere).
//!
//! A task whose `matches` can never be met — absent, empty (it would match every event), a
//! `null` value or a key that is not a JSONPath — is not indexed: it is failed with
//! `FAILED_WITH_TERMINAL_ERROR` (retrying cannot fix a definition) and a `reasonForIncompletion`
//! that says why (`hookd_payload::matching::BadMatches`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::producer::FutureRecord;
use serde_json::Map;
use tokio::sync::watch;

use super::conductor::{ConductorClient, ConductorError, Task, TaskResult};
use super::process::Processor;
use super::waits::WaitRecord;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Tasks of one polled batch indexed at once: each costs a produce to the waits topic and a
/// keep-alive call to Conductor, so one after the other a burst of 20,000 new waits took 67 s to
/// become matchable (`sink-throughput mode=wait`).
const INDEX_CONCURRENCY: usize = 32;

/// Polls until `shutdown`.
pub async fn run(
    processor: Arc<Processor>,
    client: ConductorClient,
    instance: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let s = processor.cfg.sink.clone();
    let mut versions: HashMap<String, i64> = HashMap::new();
    // an entry lives until a re-poll would have refreshed it twice over: a wait that is not
    // re-polled (timed out, cancelled, completed elsewhere) leaves the index after that
    let ttl_ms = (2 * s.wait_callback_after_secs * 1000 + 2 * s.wait_poll_timeout_ms + 1000) as i64;
    loop {
        let polled = tokio::select! {
            _ = shutdown.changed() => return,
            r = client.poll_batch(&s.wait_task_type, &processor.worker_id, s.wait_poll_count, s.wait_poll_timeout_ms) => r,
        };
        match polled {
            Ok(tasks) => {
                let empty = tasks.is_empty();
                let batch = resolve_versions(&client, &mut versions, &tasks).await;
                let mut indexing = Vec::with_capacity(tasks.len());
                for t in tasks {
                    indexing.push(index_task(&processor, &client, &instance, &batch, t, ttl_ms));
                }
                for e in at_most(INDEX_CONCURRENCY, indexing).await.into_iter().filter_map(Result::err) {
                    tracing::warn!(error = %e, "cannot index a waiting task; it will be re-polled");
                }
                if empty {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "polling waiting tasks failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        for gone in processor.waits.prune(now_ms()) {
            if gone.poller == instance {
                let r = FutureRecord::<str, [u8]>::to(&processor.topics.waits).key(&gone.task_id);
                let _ = processor.output.get().send_result(r);
            }
        }
        if versions.len() > 100_000 {
            versions.clear();
        }
    }
}

/// The version of every workflow of `tasks`: from `versions`, else looked up (at most
/// [`INDEX_CONCURRENCY`] at once) and remembered there. A workflow that is gone maps to `None`
/// for this batch (its task is not indexed); a failed look-up leaves it out, and its tasks fail
/// to index and are re-polled.
async fn resolve_versions(
    client: &ConductorClient,
    versions: &mut HashMap<String, i64>,
    tasks: &[Task],
) -> HashMap<String, Option<i64>> {
    let mut batch = HashMap::new();
    let mut missing = Vec::new();
    for t in tasks {
        let id = t.workflow_instance_id.as_str();
        match versions.get(id) {
            Some(v) => {
                batch.insert(id.to_string(), Some(*v));
            }
            None => missing.push(id),
        }
    }
    missing.sort_unstable();
    missing.dedup();
    let mut lookups = Vec::with_capacity(missing.len());
    for id in missing {
        lookups.push(async move { (id, client.get_workflow(id).await) });
    }
    for (id, r) in at_most(INDEX_CONCURRENCY, lookups).await {
        match r {
            Ok(w) => {
                versions.insert(id.to_string(), w.workflow_version);
                batch.insert(id.to_string(), Some(w.workflow_version));
            }
            Err(ConductorError::NotFound) => {
                batch.insert(id.to_string(), None);
            }
            Err(e) => tracing::warn!(workflow = %id, error = %e, "looking up a waiting task's workflow"),
        }
    }
    batch
}

/// Runs `futures`, at most `n` at once; their outputs in the order they finish.
async fn at_most<F: std::future::Future>(n: usize, futures: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::with_capacity(futures.len());
    let mut running = FuturesUnordered::new();
    for f in futures {
        if running.len() >= n {
            out.extend(running.next().await);
        }
        running.push(f);
    }
    while let Some(r) = running.next().await {
        out.push(r);
    }
    out
}

async fn index_task(
    p: &Processor,
    client: &ConductorClient,
    instance: &str,
    versions: &HashMap<String, Option<i64>>,
    t: Task,
    ttl_ms: i64,
) -> Result<(), String> {
    let version = match versions.get(&t.workflow_instance_id) {
        Some(Some(v)) => *v,
        Some(None) => return Ok(()),
        None => return Err(format!("workflow {} not looked up", t.workflow_instance_id)),
    };
    let matches = match hookd_payload::matching::check_matches(t.input_data.get("matches")) {
        Ok(m) => m.clone(),
        Err(bad) => return fail_task(p, client, t, bad.to_string()).await,
    };
    let rec = WaitRecord {
        task_id: t.task_id.clone(),
        workflow_id: t.workflow_instance_id.clone(),
        workflow: t.workflow_type.clone(),
        version,
        reference: t.reference_task_name.clone(),
        matches,
        expires_at_ms: now_ms() + ttl_ms,
        poller: instance.to_string(),
    };
    let value = serde_json::to_vec(&rec).map_err(|e| e.to_string())?;
    p.output
        .get()
        .send(
            FutureRecord::to(&p.topics.waits)
                .key(&rec.task_id)
                .payload(&value),
            Duration::from_secs(5),
        )
        .await
        .map_err(|(e, _)| format!("waits topic: {e}"))?;
    p.waits.upsert(rec);
    let keep_alive = TaskResult {
        workflow_instance_id: t.workflow_instance_id,
        task_id: t.task_id,
        status: "IN_PROGRESS".into(),
        output_data: Map::new(),
        callback_after_seconds: p.cfg.sink.wait_callback_after_secs,
        reason_for_incompletion: None,
        worker_id: p.worker_id.clone(),
        logs: Vec::new(),
    };
    client
        .update_task(&keep_alive)
        .await
        .map_err(|e| format!("keep-alive: {e}"))
}

/// Fails a wait that can never be completed, with the reason (see the module docs).
async fn fail_task(
    p: &Processor,
    client: &ConductorClient,
    t: Task,
    reason: String,
) -> Result<(), String> {
    tracing::warn!(task = %t.task_id, workflow = %t.workflow_instance_id, reason = %reason,
        "failing a wait that can never be completed");
    let r = TaskResult {
        workflow_instance_id: t.workflow_instance_id,
        task_id: t.task_id,
        status: "FAILED_WITH_TERMINAL_ERROR".into(),
        output_data: Map::new(),
        callback_after_seconds: 0,
        reason_for_incompletion: Some(reason),
        worker_id: p.worker_id.clone(),
        logs: Vec::new(),
    };
    client
        .update_task(&r)
        .await
        .map_err(|e| format!("failing a wait: {e}"))?;
    metrics::counter!(crate::metrics::SINK_ACTIONS_TOTAL, "kind" => "fail", "outcome" => "bad_matches")
        .increment(1);
    Ok(())
}
