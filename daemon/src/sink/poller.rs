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
                for t in tasks {
                    if let Err(e) =
                        index_task(&processor, &client, &instance, &mut versions, t, ttl_ms).await
                    {
                        tracing::warn!(error = %e, "cannot index a waiting task; it will be re-polled");
                    }
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

async fn index_task(
    p: &Processor,
    client: &ConductorClient,
    instance: &str,
    versions: &mut HashMap<String, i64>,
    t: Task,
    ttl_ms: i64,
) -> Result<(), String> {
    let version = match versions.get(&t.workflow_instance_id) {
        Some(v) => *v,
        None => match client.get_workflow(&t.workflow_instance_id).await {
            Ok(w) => {
                versions.insert(t.workflow_instance_id.clone(), w.workflow_version);
                w.workflow_version
            }
            Err(ConductorError::NotFound) => return Ok(()),
            Err(e) => return Err(e.to_string()),
        },
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
