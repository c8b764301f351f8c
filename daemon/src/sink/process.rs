//! What the sink does with one event: complete matching waits, start workflows with
//! idempotency, record history — or dead-letter it on a permanent error.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Map, Value};

use super::conductor::{ConductorClient, ConductorError, StartWorkflowRequest, TaskResult};
use super::history::{cap_payload, History, HistoryEntry, HistoryRecord};
use super::starts::{self, StartRecord};
use super::waits::WaitIndex;
use crate::config::{Config, Topics};
use crate::kafka::producer::headers as h;
use crate::metrics as m;
use crate::webhook::{Entry, Registry, Strategy};

/// How the sink acts.
#[derive(Clone)]
pub enum Actions {
    /// Against a Conductor server.
    Conductor(ConductorClient),
    /// No Conductor configured: log and record only.
    DryRun,
}

/// A processing failure.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Retry the event later (Conductor or Kafka unavailable).
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help: dead-letter it.
    #[error("{reason}")]
    Permanent {
        /// Why.
        reason: String,
        /// Conductor's HTTP status, if any.
        status: Option<u16>,
    },
}

impl From<ConductorError> for ProcessError {
    fn from(e: ConductorError) -> Self {
        match e {
            ConductorError::Transient(m) => ProcessError::Transient(m),
            ConductorError::Permanent { status, message } => ProcessError::Permanent {
                reason: format!("conductor answered {status}: {message}"),
                status: Some(status),
            },
            ConductorError::NotFound => ProcessError::Permanent {
                reason: "conductor answered 404".into(),
                status: Some(404),
            },
            ConductorError::Conflict(m) => ProcessError::Transient(format!("conflict: {m}")),
        }
    }
}

/// One event read from the topic.
pub struct EventMsg {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    msg: OwnedMessage,
}

impl EventMsg {
    /// Wraps a consumed message.
    pub fn new(msg: OwnedMessage) -> Self {
        Self {
            partition: msg.partition(),
            offset: msg.offset(),
            msg,
        }
    }

    /// A record header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        let hs = self.msg.headers()?;
        hs.iter()
            .find(|x| x.key == name)
            .and_then(|x| x.value)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        self.msg.payload().unwrap_or_default()
    }
}

/// Per-partition state owned by its worker.
pub struct PartitionState {
    /// Partition number.
    pub partition: i32,
    /// Idempotency records of this partition.
    pub starts: HashMap<String, StartRecord>,
    /// Events below this offset may have been handled by a previous owner: check Conductor for
    /// their correlation id before starting.
    pub recovery_below: i64,
    /// Start keys whose start call failed without an answer (it may have taken effect).
    pub uncertain: std::collections::HashSet<String>,
    /// Waits already completed for the event being retried: (offset, workflow ids).
    pub completed: Option<(i64, Vec<String>)>,
}

/// Everything the per-event logic needs.
pub struct Processor {
    /// Config.
    pub cfg: Arc<Config>,
    /// Webhook registry.
    pub registry: Arc<Registry>,
    /// Conductor or dry-run.
    pub actions: Actions,
    /// Wait index.
    pub waits: Arc<WaitIndex>,
    /// History.
    pub history: Arc<History>,
    /// Producer for starts/waits/history/dlq records.
    pub producer: FutureProducer,
    /// Topic names.
    pub topics: Topics,
    /// Worker id for task updates.
    pub worker_id: String,
}

/// Every (kind, outcome) of `hookd_sink_actions_total` (created at zero at start).
pub const ACTIONS: &[(&str, &str)] = &[
    ("skip", "unknown_webhook"),
    ("complete", "ok"),
    ("complete", "gone"),
    ("start", "ok"),
    ("start", "dry_run"),
    ("start", "duplicate"),
    ("start", "idempotent_fail"),
    ("start", "returned_existing"),
    ("start", "idempotent_running"),
    ("start", "recovered"),
    ("start", "conflict"),
];

fn action(kind: &'static str, outcome: &'static str) {
    debug_assert!(ACTIONS.contains(&(kind, outcome)), "{kind}/{outcome}");
    metrics::counter!(m::SINK_ACTIONS_TOTAL, "kind" => kind, "outcome" => outcome).increment(1);
}

impl Processor {
    /// Handles one event; `Ok` means its effects are done (or it was dead-lettered) and its
    /// offset may be stored.
    pub async fn handle(&self, ev: &EventMsg, st: &mut PartitionState) -> Result<(), ProcessError> {
        let Some(webhook_id) = ev.header(h::WEBHOOK_ID).map(str::to_owned) else {
            tracing::warn!(
                partition = ev.partition,
                offset = ev.offset,
                "event without webhook id; skipped"
            );
            return Ok(());
        };
        let Some(entry) = self.registry.get(&webhook_id) else {
            tracing::warn!(webhook = %webhook_id, "event for a deleted webhook; skipped");
            action("skip", "unknown_webhook");
            return Ok(());
        };
        let payload = hookd_payload::build(ev.body(), ev.header(h::QUERY));
        let received = ev
            .header(h::RECEIVED_AT)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let event_id = ev.header(h::EVENT_ID).unwrap_or_default().to_string();
        let mut hist = HistoryEntry {
            event_id,
            matched: false,
            workflow_ids: Vec::new(),
            payload: String::new(),
            time_stamp: received,
            dry_run: matches!(self.actions, Actions::DryRun),
            dead_letter: None,
        };
        let payload_value = Value::Object(payload);
        let res = self
            .effects(ev, &entry, &payload_value, st, &mut hist)
            .await;
        match res {
            Ok(()) => {}
            Err(ProcessError::Transient(e)) => return Err(ProcessError::Transient(e)),
            Err(ProcessError::Permanent { reason, status }) => {
                self.dead_letter(ev, &reason, status).await?;
                hist.dead_letter = Some(reason);
            }
        }
        st.completed = None;
        hist.payload = cap_payload(&payload_value, self.cfg.sink.history_max_payload_bytes);
        self.record_history(&entry, hist);
        Ok(())
    }

    async fn effects(
        &self,
        ev: &EventMsg,
        webhook: &Entry,
        payload: &Value,
        st: &mut PartitionState,
        hist: &mut HistoryEntry,
    ) -> Result<(), ProcessError> {
        let map = payload.as_object().cloned().unwrap_or_default();
        // 1. waits (on a retry of this event, those completed by the failed attempt count too)
        if let Some((_, ids)) = st.completed.as_ref().filter(|(o, _)| *o == ev.offset) {
            hist.matched = !ids.is_empty();
            hist.workflow_ids.extend(ids.iter().cloned());
        }
        let spec = &webhook.spec;
        if !spec.receivers.is_empty() {
            for rec in self.waits.find(&spec.receivers, payload) {
                if let Actions::Conductor(c) = &self.actions {
                    let r = TaskResult {
                        workflow_instance_id: rec.workflow_id.clone(),
                        task_id: rec.task_id.clone(),
                        status: "COMPLETED".into(),
                        output_data: map.clone(),
                        callback_after_seconds: 0,
                        reason_for_incompletion: None,
                        worker_id: self.worker_id.clone(),
                        logs: Vec::new(),
                    };
                    match c.update_task(&r).await {
                        Ok(()) => action("complete", "ok"),
                        Err(ConductorError::Transient(e)) => {
                            return Err(ProcessError::Transient(e))
                        }
                        Err(e) => {
                            tracing::info!(task = %rec.task_id, error = %e, "wait no longer completable; dropped");
                            action("complete", "gone");
                        }
                    }
                }
                hist.matched = true;
                hist.workflow_ids.push(rec.workflow_id.clone());
                self.waits.remove(&rec.task_id);
                self.tombstone_wait(&rec.task_id);
            }
            st.completed = Some((ev.offset, hist.workflow_ids.clone()));
        }
        // 2. starts
        let key = match (ev.header(h::IDEMPOTENCY_KEY), &spec.idempotency_key) {
            (Some(k), _) => k.to_string(),
            (None, Some(template)) => hookd_payload::template::resolve(template, &map),
            (None, None) => String::new(),
        };
        let webhook_id = webhook.id();
        let dedupe_id = ev
            .header(h::DELIVERY_ID)
            .or(ev.header(h::EVENT_ID))
            .unwrap_or_default()
            .to_string();
        for (name, version) in &spec.starts {
            let version = *version;
            let (start_key, implicit) = if key.is_empty() {
                (format!("event/{webhook_id}/{dedupe_id}/{name}"), true)
            } else {
                (format!("key/{name}/{key}"), false)
            };
            let spec = StartSpec {
                name,
                version,
                start_key,
                implicit,
                key: &key,
                strategy: spec.strategy,
                created_by: webhook.created_by().map(str::to_owned),
            };
            if let Some(id) = self.start_one(&spec, &map, ev.offset, st).await? {
                hist.workflow_ids.push(id);
            }
        }
        Ok(())
    }

    async fn start_one(
        &self,
        s: &StartSpec<'_>,
        input: &Map<String, Value>,
        offset: i64,
        st: &mut PartitionState,
    ) -> Result<Option<String>, ProcessError> {
        let enforce = s.implicit || self.cfg.sink.enforce_idempotency;
        let mut generation = 0;
        if let (true, Some(rec)) = (enforce, st.starts.get(&s.start_key).cloned()) {
            if s.implicit {
                action("start", "duplicate");
                return Ok(Some(rec.workflow_id));
            }
            match s.strategy {
                Strategy::Fail => {
                    tracing::info!(
                        workflow = s.name,
                        "idempotency FAIL: an execution exists; not starting"
                    );
                    action("start", "idempotent_fail");
                    return Ok(None);
                }
                Strategy::ReturnExisting => {
                    action("start", "returned_existing");
                    return Ok(Some(rec.workflow_id));
                }
                Strategy::FailOnRunning => {
                    let running = match &self.actions {
                        Actions::Conductor(c) => match c.get_workflow(&rec.workflow_id).await {
                            Ok(w) => matches!(w.status.as_str(), "RUNNING" | "PAUSED"),
                            Err(ConductorError::NotFound) => false,
                            Err(e) => return Err(e.into()),
                        },
                        Actions::DryRun => false,
                    };
                    if running {
                        action("start", "idempotent_running");
                        return Ok(None);
                    }
                    generation = rec.generation + 1;
                }
            }
        }
        let token = starts::token(&s.start_key, generation);
        if offset < st.recovery_below || st.uncertain.contains(&s.start_key) {
            if let Actions::Conductor(c) = &self.actions {
                match c.correlated(s.name, &token).await {
                    Ok(found) if !found.is_empty() => {
                        let id = found[0].workflow_id.clone();
                        tracing::info!(workflow = s.name, id = %id, "recovered a start made before a crash");
                        self.write_start(
                            st,
                            &s.start_key,
                            StartRecord {
                                workflow_id: id.clone(),
                                generation,
                            },
                        )
                        .await?;
                        action("start", "recovered");
                        return Ok(Some(id));
                    }
                    Ok(_) | Err(ConductorError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let req = StartWorkflowRequest {
            name: s.name.to_string(),
            version: s.version,
            correlation_id: Some(token),
            input: input.clone(),
            task_to_domain: Map::new(),
            priority: 0,
            created_by: s.created_by.clone(),
            idempotency_key: (!s.key.is_empty()).then(|| s.key.to_string()),
            idempotency_strategy: (!s.key.is_empty()).then(|| s.strategy.as_str().to_string()),
        };
        let id = match &self.actions {
            Actions::Conductor(c) => match c.start_workflow(&req).await {
                Ok(id) => id,
                Err(ConductorError::Conflict(m)) => {
                    tracing::info!(workflow = s.name, reason = %m, "conductor refused a duplicate start");
                    action("start", "conflict");
                    return Ok(None);
                }
                Err(e @ ConductorError::Transient(_)) => {
                    st.uncertain.insert(s.start_key.clone());
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            },
            Actions::DryRun => {
                let id = format!("dry-run-{}", uuid::Uuid::new_v4());
                tracing::info!(workflow = s.name, version = s.version, idempotency_key = %s.key,
                    strategy = s.strategy.as_str(), would_be = %id,
                    "DRY RUN (no [conductor] url): would start workflow");
                id
            }
        };
        action(
            "start",
            if matches!(self.actions, Actions::DryRun) {
                "dry_run"
            } else {
                "ok"
            },
        );
        self.write_start(
            st,
            &s.start_key,
            StartRecord {
                workflow_id: id.clone(),
                generation,
            },
        )
        .await?;
        st.uncertain.remove(&s.start_key);
        Ok(Some(id))
    }

    async fn write_start(
        &self,
        st: &mut PartitionState,
        key: &str,
        rec: StartRecord,
    ) -> Result<(), ProcessError> {
        let value = serde_json::to_vec(&rec).unwrap_or_default();
        let r = FutureRecord::to(&self.topics.starts)
            .partition(st.partition)
            .key(key)
            .payload(&value);
        self.producer
            .send(r, Duration::from_secs(5))
            .await
            .map_err(|(e, _)| ProcessError::Transient(format!("idempotency record: {e}")))?;
        st.starts.insert(key.to_string(), rec);
        Ok(())
    }

    fn tombstone_wait(&self, task_id: &str) {
        let r = FutureRecord::<str, [u8]>::to(&self.topics.waits).key(task_id);
        if let Err((e, _)) = self.producer.send_result(r) {
            tracing::warn!(error = %e, "cannot share a completed wait");
        }
    }

    fn record_history(&self, webhook: &Entry, entry: HistoryEntry) {
        let (id, generation) = (webhook.id(), webhook.generation());
        let rec = HistoryRecord {
            webhook_id: id.to_string(),
            generation,
            entry: entry.clone(),
        };
        let value = serde_json::to_vec(&rec).unwrap_or_default();
        let r = FutureRecord::to(&self.topics.history)
            .key(id)
            .payload(&value);
        if let Err((e, _)) = self.producer.send_result(r) {
            tracing::warn!(error = %e, "cannot share a history entry");
        }
        self.history.insert(id, generation, entry);
    }

    async fn dead_letter(
        &self,
        ev: &EventMsg,
        reason: &str,
        status: Option<u16>,
    ) -> Result<(), ProcessError> {
        let mut hdrs = OwnedHeaders::new();
        if let Some(orig) = ev.msg.headers() {
            for x in orig.iter() {
                hdrs = hdrs.insert(Header {
                    key: x.key,
                    value: x.value,
                });
            }
        }
        let status = status.map(|s| s.to_string()).unwrap_or_default();
        let source = format!("{}/{}/{}", self.topics.events, ev.partition, ev.offset);
        hdrs = hdrs
            .insert(Header {
                key: "hookd-dlq-reason",
                value: Some(reason),
            })
            .insert(Header {
                key: "hookd-dlq-status",
                value: Some(&status),
            })
            .insert(Header {
                key: "hookd-dlq-source",
                value: Some(&source),
            });
        let mut r = FutureRecord::to(&self.topics.dlq)
            .payload(ev.body())
            .headers(hdrs);
        if let Some(k) = ev.msg.key() {
            r = r.key(k);
        }
        self.producer
            .send(r, Duration::from_secs(5))
            .await
            .map_err(|(e, _)| ProcessError::Transient(format!("dead-letter topic: {e}")))?;
        tracing::warn!(source = %source, reason, "event sent to the dead-letter topic");
        let label = if status.is_empty() {
            "other".to_string()
        } else {
            status
        };
        metrics::counter!(m::SINK_DLQ_TOTAL, "status" => label).increment(1);
        Ok(())
    }
}

struct StartSpec<'a> {
    name: &'a str,
    version: i64,
    start_key: String,
    implicit: bool,
    key: &'a str,
    strategy: Strategy,
    created_by: Option<String>,
}
