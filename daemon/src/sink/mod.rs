//! The sink stage: consumes the events topic and acts on Conductor — starts workflows with
//! idempotency, completes waiting `WAIT_FOR_WEBHOOK` tasks, keeps per-webhook history.
//!
//! Guarantees: at-least-once delivery from Kafka, effects de-duplicated within
//! `sink.dedup_window_secs` (`dedup.rs`). A consumer group spreads partitions over sink
//! instances; each partition has one worker, which runs events concurrently (up to
//! `sink.max_in_flight`) except those sharing a key, which run in offset order (`schedule.rs`);
//! the offset stored is the one below the oldest event not finished (effects done, or
//! dead-lettered). Transient failures (Conductor down, 429, 5xx, timeouts) retry the event with
//! backoff until they succeed, holding back only that event's keys (and, once the partition's
//! window of admitted events is full, the partition). On a rebalance, revoked partitions finish
//! or give up the events in hand and commit below the oldest unfinished one.

pub mod conductor;
pub mod continuity;
pub mod dedup;
pub mod history;
pub mod output;
pub mod poller;
pub mod process;
pub mod runtime;
pub mod schedule;
pub mod starts;
pub mod waits;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::Config;
use process::{Attempt, PartitionState, Prepared, ProcessError, Processor};
use schedule::Scheduler;

struct Worker {
    tx: mpsc::Sender<OwnedMessage>,
    stop: Arc<AtomicBool>,
    done: std_mpsc::Receiver<()>,
}

/// The consumer's context: owns the partition workers and reacts to rebalances.
struct SinkContext {
    rt: Handle,
    processor: Arc<Processor>,
    bootstrap: String,
    workers: Mutex<HashMap<i32, Worker>>,
    /// Messages read for a worker whose channel was full (its partition is paused meanwhile).
    /// Only the consumer thread touches it (rebalance callbacks run inside its `poll`).
    pending: Mutex<HashMap<i32, VecDeque<OwnedMessage>>>,
    /// The next offset expected per partition (`continuity.rs`).
    continuity: Mutex<continuity::Continuity>,
    offsets_tx: std_mpsc::Sender<(i32, i64)>,
    offsets_rx: Mutex<std_mpsc::Receiver<(i32, i64)>>,
    grace: Duration,
}

impl ClientContext for SinkContext {}

impl ConsumerContext for SinkContext {
    fn pre_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = r {
            let topic = &self.processor.topics.events;
            let parts: Vec<i32> = tpl
                .elements_for_topic(topic)
                .iter()
                .map(|e| e.partition())
                .collect();
            tracing::info!(?parts, "sink partitions revoked; finishing events in hand");
            self.forget(&parts);
            self.stop_workers(&parts);
            self.store_offsets(c);
            if let Err(e) = c.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(error = %e, "commit on revoke");
            }
        }
    }

    fn post_rebalance(&self, c: &BaseConsumer<Self>, r: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = r {
            let topic = &self.processor.topics.events;
            let mut resume = TopicPartitionList::new();
            for e in tpl.elements_for_topic(topic) {
                self.forget(&[e.partition()]);
                self.spawn_worker(e.partition());
                resume.add_partition(topic, e.partition());
            }
            // a partition paused (its worker full) when it was revoked starts unpaused
            if let Err(e) = c.resume(&resume) {
                tracing::debug!(error = %e, "resume assigned partitions");
            }
        }
    }
}

impl SinkContext {
    /// Drops what was read for `parts` and not handed out, and their expected offsets: read
    /// before a revoke, the next owner (maybe this instance again) reads them again from the
    /// committed offset, so they must never reach a later worker.
    fn forget(&self, parts: &[i32]) {
        let mut pending = self.pending.lock().unwrap();
        let mut cont = self.continuity.lock().unwrap();
        for p in parts {
            pending.remove(p);
            cont.reset(*p);
        }
    }

    fn spawn_worker(&self, p: i32) {
        let (tx, rx) = mpsc::channel(self.processor.cfg.sink.max_in_flight.clamp(256, 4096));
        let stop = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = std_mpsc::channel();
        let w = WorkerArgs {
            partition: p,
            processor: self.processor.clone(),
            bootstrap: self.bootstrap.clone(),
            stop: stop.clone(),
            offsets: self.offsets_tx.clone(),
        };
        self.rt.spawn(async move {
            run_worker(w, rx).await;
            let _ = done_tx.send(());
        });
        self.workers
            .lock()
            .unwrap()
            .insert(p, Worker { tx, stop, done });
    }

    fn stop_workers(&self, parts: &[i32]) {
        let taken: Vec<Worker> = {
            let mut g = self.workers.lock().unwrap();
            parts.iter().filter_map(|p| g.remove(p)).collect()
        };
        for w in &taken {
            w.stop.store(true, Ordering::SeqCst);
        }
        for w in taken {
            drop(w.tx);
            if w.done.recv_timeout(self.grace).is_err() {
                tracing::warn!(
                    "a sink worker did not finish in time; its event will be redelivered"
                );
            }
        }
    }

    fn store_offsets(&self, c: &BaseConsumer<Self>) {
        let topic = &self.processor.topics.events;
        let rx = self.offsets_rx.lock().unwrap();
        while let Ok((p, off)) = rx.try_recv() {
            if let Err(e) = c.store_offset(topic, p, off) {
                tracing::debug!(partition = p, error = %e, "store offset");
            }
        }
    }
}

struct WorkerArgs {
    partition: i32,
    processor: Arc<Processor>,
    bootstrap: String,
    stop: Arc<AtomicBool>,
    offsets: std_mpsc::Sender<(i32, i64)>,
}

/// Reads back the partition's newest de-duplication records (bounded) and the recovery horizon.
async fn load_state(w: &WorkerArgs) -> Option<PartitionState> {
    let mut backoff = Duration::from_millis(200);
    let sink = &w.processor.cfg.sink;
    let (cap, window_ms) = (
        sink.dedup_index_entries,
        sink.dedup_window_secs as i64 * 1000,
    );
    loop {
        let (bootstrap, topics, p) = (w.bootstrap.clone(), w.processor.topics.clone(), w.partition);
        let now = (w.processor.clock)();
        let res = tokio::task::spawn_blocking(move || {
            let c: BaseConsumer = crate::kafka::base_client(&bootstrap)
                .set("group.id", format!("hookd-loader-{}", uuid::Uuid::new_v4()))
                .set("enable.auto.commit", "false")
                .create()
                .map_err(|e| e.to_string())?;
            let (_, high) = c
                .fetch_watermarks(&topics.events, p, Duration::from_secs(10))
                .map_err(|e| e.to_string())?;
            let (index, loaded) =
                dedup::load_partition(&c, &topics.starts, p, cap, window_ms, now)?;
            Ok::<_, String>((index, loaded, high))
        })
        .await;
        match res {
            Ok(Ok((index, loaded, high))) => {
                tracing::info!(
                    partition = p,
                    read = loaded.read,
                    kept = index.len(),
                    truncated = loaded.truncated,
                    recovery_below = high,
                    "sink partition assigned"
                );
                metrics::counter!(crate::metrics::SINK_TAKEOVER_RECORDS_TOTAL)
                    .increment(loaded.read);
                return Some(PartitionState::new(p, index, high));
            }
            Ok(Err(e)) => tracing::warn!(partition = p, error = %e, "loading partition state"),
            Err(e) => tracing::warn!(partition = p, error = %e, "loading partition state"),
        }
        if w.stop.load(Ordering::SeqCst) {
            return None;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One partition: events are admitted in offset order, run concurrently where their keys allow
/// (`schedule.rs`), and the offset below the oldest unfinished one is stored.
async fn run_worker(w: WorkerArgs, mut rx: mpsc::Receiver<OwnedMessage>) {
    let Some(st) = load_state(&w).await else {
        return;
    };
    let st = Arc::new(st);
    let processor = w.processor.clone();
    processor
        .owned
        .lock()
        .unwrap()
        .insert(w.partition, st.clone());
    let max = processor.cfg.sink.max_in_flight;
    let mut sched = Scheduler::new(max, max.saturating_mul(4));
    // what a previous owner (with this configuration) may have had in hand beyond its oldest
    // unfinished event: admitted events, with a margin for a different max_in_flight
    let recovery_window = (max.saturating_mul(4) as i64).max(1024);
    let mut waiting: HashMap<i64, Prepared> = HashMap::new();
    let mut running: JoinSet<Option<i64>> = JoinSet::new();
    let mut closed = false;
    let mut stored: Option<i64> = None;
    let mut last_read: Option<i64> = None;
    let in_flight = metrics::gauge!(crate::metrics::SINK_IN_FLIGHT_EVENTS);
    loop {
        while let Some(o) = sched.start_next() {
            let Some(p) = waiting.remove(&o) else {
                continue;
            };
            in_flight.increment(1.0);
            running.spawn(run_event(
                processor.clone(),
                st.clone(),
                p,
                w.stop.clone(),
            ));
        }
        if let Some(d) = sched.done_through().filter(|d| stored != Some(*d)) {
            tracing::trace!(partition = w.partition, offset = d, "sink offset stored");
            let _ = w.offsets.send((w.partition, d));
            stored = Some(d);
        }
        if w.stop.load(Ordering::SeqCst) || (closed && sched.pending() == 0) {
            break;
        }
        tokio::select! {
            Some(r) = running.join_next(), if !running.is_empty() => {
                in_flight.decrement(1.0);
                match r {
                    Ok(Some(o)) => {
                        tracing::debug!(partition = w.partition, offset = o, "sink event finished");
                        sched.finish(o)
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "a sink event task failed"),
                }
            }
            m = rx.recv(), if !closed && sched.has_room() => match m {
                None => closed = true,
                Some(m) if last_read.is_some_and(|l| m.offset() <= l) => {
                    // never admitted twice or out of order (the scheduler stores offsets on it)
                    tracing::warn!(partition = w.partition, offset = m.offset(), "sink message out of order; ignored");
                }
                Some(m) => {
                    last_read = Some(m.offset());
                    let p = processor.prepare(m);
                    st.first_unfinished(&p, recovery_window, (processor.clock)());
                    let o = p.ev.offset;
                    tracing::debug!(partition = w.partition, offset = o, delivery = %p.delivery, "sink event admitted");
                    sched.admit(o, processor.ordering_keys(&p));
                    waiting.insert(o, p);
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    // Revoked or stopping: events in hand finish or give up (they see `stop`) within half the
    // grace period, then the rest are dropped mid-call; the offset stored stays below every
    // event that did not finish, so the next owner redoes them (and recognises their effects).
    let grace = Duration::from_millis(processor.cfg.server.shutdown_grace_ms / 2);
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        match tokio::time::timeout_at(deadline, running.join_next()).await {
            Ok(Some(r)) => {
                in_flight.decrement(1.0);
                if let Ok(Some(o)) = r {
                    sched.finish(o);
                }
            }
            Ok(None) => break,
            Err(_) => {
                in_flight.decrement(running.len() as f64);
                running.abort_all();
                while running.join_next().await.is_some() {}
                break;
            }
        }
    }
    if let Some(d) = sched.done_through().filter(|d| stored != Some(*d)) {
        let _ = w.offsets.send((w.partition, d));
    }
    let mut owned = processor.owned.lock().unwrap();
    if owned.get(&w.partition).is_some_and(|x| Arc::ptr_eq(x, &st)) {
        owned.remove(&w.partition);
    }
}

/// One event until it is done, retried with backoff on failures; `None` if the partition was
/// given up first.
async fn run_event(
    processor: Arc<Processor>,
    st: Arc<PartitionState>,
    mut p: Prepared,
    stop: Arc<AtomicBool>,
) -> Option<i64> {
    let mut attempt = Attempt::default();
    let mut backoff = Duration::from_millis(200);
    loop {
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        p = processor.refresh(p);
        match processor.handle(&p, &st, &mut attempt).await {
            Ok(()) => return Some(p.ev.offset),
            Err(ProcessError::Transient(e)) | Err(ProcessError::Permanent { reason: e, .. }) => {
                tracing::warn!(partition = p.ev.partition, offset = p.ev.offset, error = %e,
                    retry_in_ms = backoff.as_millis() as u64, "event not done yet; retrying");
                let until = Instant::now() + backoff;
                while Instant::now() < until {
                    if stop.load(Ordering::SeqCst) {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Runs the events consumer on its own thread until `stop` is set.
pub fn spawn_consumer(
    cfg: &Config,
    bootstrap: &str,
    processor: Arc<Processor>,
    ready: tokio::sync::watch::Receiver<bool>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let (offsets_tx, offsets_rx) = std_mpsc::channel();
    let ctx = SinkContext {
        rt: Handle::current(),
        processor: processor.clone(),
        bootstrap: bootstrap.to_string(),
        workers: Mutex::new(HashMap::new()),
        pending: Mutex::new(HashMap::new()),
        continuity: Mutex::default(),
        offsets_tx,
        offsets_rx: Mutex::new(offsets_rx),
        grace: Duration::from_millis(cfg.server.shutdown_grace_ms),
    };
    let mut c = crate::kafka::base_client(bootstrap);
    c.set("group.id", &cfg.sink.group_id)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("partition.assignment.strategy", "range,roundrobin")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .set("fetch.wait.max.ms", "50");
    for (k, v) in &cfg.kafka.consumer {
        c.set(k, &**v);
    }
    let consumer: BaseConsumer<SinkContext> = c
        .create_with_context(ctx)
        .map_err(|e| format!("sink consumer: {e}"))?;
    let topic = processor.topics.events.clone();
    let rt = Handle::current();
    std::thread::Builder::new()
        .name("hookd-sink".into())
        .spawn(move || {
            // No partition before the registry knows every webhook the config topic holds: an
            // event of a webhook not known yet would otherwise be taken for a deleted one.
            if !wait_ready(&rt, ready, &stop) {
                return;
            }
            if let Err(e) = consumer.subscribe(&[&topic]) {
                tracing::error!(error = %e, "sink subscribe; the sink stage does not run");
                return;
            }
            consume_loop(consumer, &topic, &stop)
        })
        .map_err(|e| e.to_string())
}

/// Blocks until `ready` (true) or `stop` (false).
fn wait_ready(rt: &Handle, mut ready: tokio::sync::watch::Receiver<bool>, stop: &AtomicBool) -> bool {
    let mut logged = false;
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let r = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(200), ready.wait_for(|v| *v)).await
        });
        match r {
            Ok(Ok(_)) => return true,
            Ok(Err(_)) => return false,
            Err(_) if !logged => {
                logged = true;
                tracing::info!("sink waits for the registry to catch up with the config topic");
            }
            Err(_) => {}
        }
    }
}

fn consume_loop(consumer: BaseConsumer<SinkContext>, topic: &str, stop: &AtomicBool) {
    let mut last_lag = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let ctx = consumer.context();
        ctx.store_offsets(&consumer);
        // hand pending messages to workers that have room again
        ctx.pending.lock().unwrap().retain(|&p, q| {
            let g = ctx.workers.lock().unwrap();
            let Some(w) = g.get(&p) else {
                return false; // revoked: they will be redelivered to the new owner
            };
            while let Some(m) = q.pop_front() {
                match w.tx.try_send(m) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(m)) => {
                        q.push_front(m);
                        return true;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return false,
                }
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(topic, p);
            let _ = consumer.resume(&tpl);
            false
        });
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(m)) => {
                let p = m.partition();
                let verdict = ctx.continuity.lock().unwrap().check(p, m.offset());
                match verdict {
                    continuity::Verdict::Take => {}
                    continuity::Verdict::Drop => continue,
                    continuity::Verdict::Gap { from } => {
                        tracing::warn!(partition = p, expected = from, got = m.offset(),
                            "sink consumer skipped offsets; seeking back");
                        metrics::counter!(crate::metrics::SINK_OFFSET_REPAIRS_TOTAL).increment(1);
                        if let Err(e) = consumer.seek(topic, p, Offset::Offset(from), Duration::from_secs(5)) {
                            tracing::warn!(partition = p, error = %e, "seek back");
                        }
                        continue;
                    }
                }
                let m = m.detach();
                let mut pending = ctx.pending.lock().unwrap();
                if let Some(q) = pending.get_mut(&p) {
                    q.push_back(m);
                } else {
                    let g = ctx.workers.lock().unwrap();
                    match g.get(&p).map(|w| w.tx.try_send(m)) {
                        Some(Ok(())) => {}
                        Some(Err(mpsc::error::TrySendError::Full(m))) => {
                            pending.entry(p).or_default().push_back(m);
                            let mut tpl = TopicPartitionList::new();
                            tpl.add_partition(topic, p);
                            let _ = consumer.pause(&tpl);
                        }
                        // its worker is gone: nothing of this partition is stored past this
                        // message any more, so the next owner reads it again
                        Some(Err(mpsc::error::TrySendError::Closed(_))) | None => {
                            tracing::debug!(partition = p, "message for a partition without a worker; left to the next owner");
                        }
                    }
                }
            }
            Some(Err(e)) => tracing::warn!(error = %e, "sink consumer"),
            None => {}
        }
        if last_lag.elapsed() > Duration::from_secs(5) {
            last_lag = Instant::now();
            report_lag(&consumer, topic);
        }
    }
    let ctx = consumer.context();
    let parts: Vec<i32> = ctx.workers.lock().unwrap().keys().copied().collect();
    ctx.stop_workers(&parts);
    ctx.store_offsets(&consumer);
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(error = %e, "final sink commit");
    }
    consumer.unsubscribe();
}

fn report_lag(consumer: &BaseConsumer<SinkContext>, topic: &str) {
    let Ok(pos) = consumer.position() else {
        return;
    };
    for e in pos.elements_for_topic(topic) {
        let p = e.partition();
        if let Ok((_, high)) = consumer.fetch_watermarks(topic, p, Duration::from_millis(500)) {
            let lag = match e.offset() {
                Offset::Offset(o) => (high - o).max(0),
                _ => high,
            };
            metrics::gauge!(crate::metrics::SINK_LAG_MESSAGES, "partition" => p.to_string())
                .set(lag as f64);
        }
    }
}
