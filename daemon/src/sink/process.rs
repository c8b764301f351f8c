//! What the sink does with one event: complete matching waits, start workflows with
//! idempotency, record history — or dead-letter it on a permanent error.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::FutureRecord;
use serde_json::{Map, Value};

use super::conductor::{ConductorClient, ConductorError, StartWorkflowRequest, TaskResult};
use super::history::{cap_payload, History, HistoryEntry, HistoryRecord};
use super::dedup::{done_key, Index};
use super::output::Output;
use super::starts::{self, StartRecord};
use super::waits::WaitIndex;
use crate::clock::Clock;
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

/// How long an event whose webhook this instance does not know is retried before it is taken
/// for an event of a deleted webhook and skipped, counted from its receive time: a webhook
/// created on another instance reaches this registry through the config topic, normally within
/// milliseconds.
pub const UNKNOWN_WEBHOOK_GRACE_MS: i64 = 30_000;

fn received_at(ev: &EventMsg) -> i64 {
    ev.header(h::RECEIVED_AT)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The one place the sink parses an event's body: the payload (body with the query merged on
/// top) that matching, templates, workflow input and history read.
pub fn parse_payload(ev: &EventMsg) -> Value {
    Value::Object(hookd_payload::build(ev.body(), ev.header(h::QUERY)))
}

/// An event with what scheduling and processing need, computed once when it is read.
pub struct Prepared {
    /// The record.
    pub ev: EventMsg,
    /// Its webhook (`None`: missing header or deleted webhook — skipped).
    pub entry: Option<Arc<Entry>>,
    /// The payload.
    pub payload: Value,
    /// The resolved idempotency key (empty: none).
    pub key: String,
    /// What identifies the delivery: the provider's delivery id (or the webhook's `dedupKey`,
    /// which ingress puts in its place), else hookd's event id.
    pub delivery: String,
    /// `delivery` came from the provider (or `dedupKey`): a copy may arrive any time within the
    /// window, not only as a Kafka redelivery.
    pub from_provider: bool,
}

/// Per-partition state, shared by the partition's events in flight.
pub struct PartitionState {
    /// Partition number.
    pub partition: i32,
    /// The bounded de-duplication index (`dedup.rs`).
    pub index: Mutex<Index>,
    /// Events below this offset may have been handled by a previous owner: check Conductor for
    /// their correlation id before starting (narrowed by [`PartitionState::first_unfinished`]).
    recovery_below: AtomicI64,
    narrowed: AtomicBool,
    /// Start keys whose start call failed without an answer (it may have taken effect).
    pub uncertain: Mutex<HashSet<String>>,
}

impl PartitionState {
    /// State over a loaded index, recovering below `recovery_below`.
    pub fn new(partition: i32, index: Index, recovery_below: i64) -> Self {
        Self {
            partition,
            index: Mutex::new(index),
            recovery_below: AtomicI64::new(recovery_below),
            narrowed: AtomicBool::new(false),
            uncertain: Mutex::default(),
        }
    }

    /// Called in offset order with each event read after the takeover, until it returns:
    /// the first event without a `done/…` record is the oldest one the previous owner had not
    /// finished, and it held at most `window` events beyond it — events after those were never
    /// touched and need no correlation look-up. Applies only while the index holds the whole
    /// window (else a missing record proves nothing).
    pub fn first_unfinished(&self, p: &Prepared, window: i64, now_ms: i64) {
        if self.narrowed.load(Ordering::Relaxed) {
            return;
        }
        let Some(entry) = &p.entry else {
            return;
        };
        let mut ix = self.index.lock().unwrap();
        if ix.get(&done_key(entry.id(), &p.delivery), now_ms).is_some() {
            return;
        }
        if ix.complete() {
            self.recovery_below
                .fetch_min(p.ev.offset.saturating_add(window), Ordering::Relaxed);
        }
        self.narrowed.store(true, Ordering::Relaxed);
    }
}

/// What earlier attempts at one event already did (kept while it is retried).
#[derive(Default)]
pub struct Attempt {
    /// Workflows whose waits were completed.
    completed: Vec<String>,
    /// Start key → workflow id (or `None`: refused by its strategy) of starts already made.
    started: HashMap<String, Option<String>>,
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
    /// Producer for starts/waits/history/dlq records (replaced after a fatal error).
    pub output: Arc<Output>,
    /// Topic names.
    pub topics: Topics,
    /// Worker id for task updates.
    pub worker_id: String,
    /// The clock the de-duplication window is measured with.
    pub clock: Clock,
    /// The partitions this instance owns now (for purging a deleted webhook's records).
    pub owned: Mutex<HashMap<i32, Arc<PartitionState>>>,
}

/// Every (kind, outcome) of `hookd_sink_actions_total` (created at zero at start).
pub const ACTIONS: &[(&str, &str)] = &[
    ("skip", "unknown_webhook"),
    ("skip", "duplicate"),
    ("complete", "ok"),
    ("complete", "gone"),
    ("start", "ok"),
    ("start", "dry_run"),
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
    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn window_ms(&self) -> i64 {
        self.cfg.sink.dedup_window_secs as i64 * 1000
    }

    /// Reads what an event needs once: its webhook, payload, idempotency key and delivery id.
    pub fn prepare(&self, msg: OwnedMessage) -> Prepared {
        let ev = EventMsg::new(msg);
        let entry = ev.header(h::WEBHOOK_ID).and_then(|id| self.registry.get(id));
        let payload = if entry.is_some() {
            parse_payload(&ev)
        } else {
            Value::Null
        };
        let key = match (ev.header(h::IDEMPOTENCY_KEY), entry.as_ref()) {
            (Some(k), _) => k.to_string(),
            (None, Some(e)) => match (&e.spec.idempotency_key, payload.as_object()) {
                (Some(t), Some(map)) => hookd_payload::template::resolve(t, map),
                _ => String::new(),
            },
            (None, None) => String::new(),
        };
        let from_provider = ev.header(h::DELIVERY_ID).is_some();
        let delivery = ev
            .header(h::DELIVERY_ID)
            .or(ev.header(h::EVENT_ID))
            .unwrap_or_default()
            .to_string();
        Prepared {
            ev,
            entry,
            payload,
            key,
            delivery,
            from_provider,
        }
    }

    /// An event whose webhook was not known when it was read, read again if the registry now
    /// knows it (see [`UNKNOWN_WEBHOOK_GRACE_MS`]).
    pub fn refresh(&self, p: Prepared) -> Prepared {
        let unchanged = p.entry.is_some()
            || p
                .ev
                .header(h::WEBHOOK_ID)
                .is_none_or(|id| self.registry.get(id).is_none());
        if unchanged {
            p
        } else {
            self.prepare(p.ev.msg)
        }
    }

    /// The keys whose events must stay in offset order: the delivery, the idempotency key, and
    /// every wait key the payload could complete.
    pub fn ordering_keys(&self, p: &Prepared) -> Vec<String> {
        let Some(entry) = &p.entry else {
            return vec![String::new()];
        };
        let mut keys = vec![format!("d/{}/{}", entry.id(), p.delivery)];
        if !p.key.is_empty() {
            keys.push(format!("k/{}", p.key));
        }
        if !entry.spec.receivers.is_empty() {
            keys.extend(
                self.waits
                    .match_keys(&entry.spec.receivers, &p.payload)
                    .into_iter()
                    .map(|k| format!("w/{k}")),
            );
        }
        keys
    }

    /// Handles one event; `Ok` means its effects are done (or it was dead-lettered, or it is a
    /// copy of a delivery already handled within the window) and its offset may be stored.
    pub async fn handle(
        &self,
        p: &Prepared,
        st: &PartitionState,
        attempt: &mut Attempt,
    ) -> Result<(), ProcessError> {
        let ev = &p.ev;
        let Some(entry) = &p.entry else {
            match ev.header(h::WEBHOOK_ID) {
                None => tracing::warn!(
                    partition = ev.partition,
                    offset = ev.offset,
                    "event without webhook id; skipped"
                ),
                Some(id) if self.now() - received_at(ev) < UNKNOWN_WEBHOOK_GRACE_MS => {
                    // created moments ago on another instance: this registry may not have it yet
                    return Err(ProcessError::Transient(format!(
                        "webhook {id} is not known (yet): waiting for the config topic"
                    )));
                }
                Some(id) => {
                    tracing::warn!(webhook = %id, "event for a deleted webhook; skipped");
                    action("skip", "unknown_webhook");
                }
            }
            return Ok(());
        };
        let done = done_key(entry.id(), &p.delivery);
        if st.index.lock().unwrap().get(&done, self.now()).is_some() {
            tracing::debug!(webhook = %entry.id(), delivery = %p.delivery, "already handled within the de-duplication window");
            action("skip", "duplicate");
            return Ok(());
        }
        let received = received_at(ev);
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
        let res = self.effects(p, entry, st, attempt, &mut hist).await;
        match res {
            Ok(()) => {}
            Err(ProcessError::Transient(e)) => return Err(ProcessError::Transient(e)),
            Err(ProcessError::Permanent { reason, status }) => {
                self.dead_letter(ev, &reason, status).await?;
                hist.dead_letter = Some(reason);
            }
        }
        let rec = StartRecord {
            workflow_id: String::new(),
            generation: 0,
            at_ms: self.now(),
            webhook: entry.id().to_string(),
            workflow_ids: hist.workflow_ids.clone(),
        };
        // history before the `done/…` record: a crash between the two redoes the event, which
        // writes its entry again under the same event id (the history keeps one per event id)
        hist.payload = cap_payload(&p.payload, self.cfg.sink.history_max_payload_bytes);
        self.record_history(entry, hist).await?;
        self.write_record(st, &done, rec).await?;
        Ok(())
    }

    async fn effects(
        &self,
        p: &Prepared,
        webhook: &Entry,
        st: &PartitionState,
        attempt: &mut Attempt,
        hist: &mut HistoryEntry,
    ) -> Result<(), ProcessError> {
        let ev = &p.ev;
        let payload = &p.payload;
        let map = payload.as_object().cloned().unwrap_or_default();
        // 1. waits (on a retry of this event, those completed by the failed attempts count too)
        hist.matched = !attempt.completed.is_empty();
        hist.workflow_ids.extend(attempt.completed.iter().cloned());
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
                attempt.completed.push(rec.workflow_id.clone());
                self.waits.remove(&rec.task_id);
                self.tombstone_wait(&rec.task_id);
            }
        }
        // 2. starts
        let webhook_id = webhook.id();
        for (name, version) in &spec.starts {
            let version = *version;
            let (start_key, implicit) = if p.key.is_empty() {
                (format!("event/{webhook_id}/{}/{name}", p.delivery), true)
            } else {
                (format!("key/{name}/{}", p.key), false)
            };
            if let Some(done) = attempt.started.get(&start_key) {
                hist.workflow_ids.extend(done.iter().cloned());
                continue;
            }
            let spec = StartSpec {
                name,
                version,
                start_key,
                implicit,
                key: &p.key,
                strategy: spec.strategy,
                created_by: webhook.created_by().map(str::to_owned),
                webhook: webhook_id,
                from_provider: p.from_provider,
            };
            let id = self.start_one(&spec, &map, ev.offset, st).await?;
            attempt.started.insert(spec.start_key.clone(), id.clone());
            if let Some(id) = id {
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
        st: &PartitionState,
    ) -> Result<Option<String>, ProcessError> {
        let enforce = !s.implicit && self.cfg.sink.enforce_idempotency;
        let mut generation = 0;
        let now = self.now();
        let (existing, complete) = {
            let mut ix = st.index.lock().unwrap();
            let rec = if enforce {
                ix.get(&s.start_key, now)
            } else {
                None
            };
            (rec, ix.complete())
        };
        if let Some(rec) = existing {
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
        let uncertain = st.uncertain.lock().unwrap().contains(&s.start_key);
        // A miss is proof only when the index holds the whole window; otherwise (and for events
        // a previous owner may have touched) look the start up by its correlation id. An event
        // identified by hookd's own event id can only come again as a Kafka redelivery, which
        // the first two cases cover.
        let look_up = offset < st.recovery_below.load(Ordering::Relaxed)
            || uncertain
            || (!complete && ((s.implicit && s.from_provider) || enforce));
        if let (true, Actions::Conductor(c)) = (look_up, &self.actions) {
            let horizon = now - self.window_ms();
            match c.correlated(s.name, &token).await {
                Ok(found) => {
                    if let Some(w) = found
                        .iter()
                        .find(|w| w.create_time == 0 || w.create_time >= horizon)
                    {
                        let id = w.workflow_id.clone();
                        tracing::info!(workflow = s.name, id = %id, "found a start made earlier (crash, takeover or beyond the index)");
                        if !s.implicit {
                            self.write_record(st, &s.start_key, self.start_record(s, &id, generation))
                                .await?;
                        }
                        action("start", "recovered");
                        return Ok(Some(id));
                    }
                }
                Err(ConductorError::NotFound) => {}
                Err(e) => return Err(e.into()),
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
                    st.uncertain.lock().unwrap().insert(s.start_key.clone());
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
        if !s.implicit {
            self.write_record(st, &s.start_key, self.start_record(s, &id, generation))
                .await?;
        }
        st.uncertain.lock().unwrap().remove(&s.start_key);
        Ok(Some(id))
    }

    fn start_record(&self, s: &StartSpec<'_>, id: &str, generation: u32) -> StartRecord {
        StartRecord {
            workflow_id: id.to_string(),
            generation,
            at_ms: self.now(),
            webhook: s.webhook.to_string(),
            workflow_ids: Vec::new(),
        }
    }

    /// Writes a de-duplication record to the partition's slice of `<topic>.starts` and, once
    /// the broker has it, to the partition's index.
    async fn write_record(
        &self,
        st: &PartitionState,
        key: &str,
        rec: StartRecord,
    ) -> Result<(), ProcessError> {
        let value = serde_json::to_vec(&rec).unwrap_or_default();
        let r = FutureRecord::to(&self.topics.starts)
            .partition(st.partition)
            .key(key)
            .payload(&value);
        self.output
            .get()
            .send(r, Duration::from_secs(5))
            .await
            .map_err(|(e, _)| ProcessError::Transient(format!("de-duplication record: {e}")))?;
        st.index
            .lock()
            .unwrap()
            .insert(key.to_string(), rec, self.now());
        Ok(())
    }

    /// Forgets a deleted webhook in the partitions this instance owns: its records leave the
    /// indexes and are tombstoned in `<topic>.starts`. Returns the number of tombstones.
    pub fn purge_webhook(&self, webhook: &str) -> usize {
        let owned: Vec<Arc<PartitionState>> =
            self.owned.lock().unwrap().values().cloned().collect();
        let mut n = 0;
        for st in owned {
            let keys = st.index.lock().unwrap().take_webhook(webhook);
            for k in keys {
                let r = FutureRecord::<str, [u8]>::to(&self.topics.starts)
                    .partition(st.partition)
                    .key(&k);
                match self.output.get().send_result(r) {
                    Ok(_) => n += 1,
                    Err((e, _)) => tracing::warn!(error = %e, "cannot tombstone a de-duplication record; it expires with the window"),
                }
            }
        }
        n
    }

    fn tombstone_wait(&self, task_id: &str) {
        let r = FutureRecord::<str, [u8]>::to(&self.topics.waits).key(task_id);
        if let Err((e, _)) = self.output.get().send_result(r) {
            tracing::warn!(error = %e, "cannot share a completed wait");
        }
    }

    /// Shares a history entry through the history topic (waiting for the broker: an event is
    /// done only once its entry is durable) and adds it to this instance's view.
    async fn record_history(
        &self,
        webhook: &Entry,
        entry: HistoryEntry,
    ) -> Result<(), ProcessError> {
        let (id, generation) = (webhook.id(), webhook.generation());
        let rec = HistoryRecord {
            webhook_id: id.to_string(),
            generation,
            entry: Some(entry),
            deleted: false,
        };
        let value = serde_json::to_vec(&rec).unwrap_or_default();
        let r = FutureRecord::to(&self.topics.history)
            .key(id)
            .payload(&value);
        self.output
            .get()
            .send(r, Duration::from_secs(5))
            .await
            .map_err(|(e, _)| ProcessError::Transient(format!("history topic: {e}")))?;
        if let Some(entry) = rec.entry {
            self.history.insert(id, generation, entry);
        }
        Ok(())
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
        self.output
            .get()
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
    webhook: &'a str,
    from_provider: bool,
}
