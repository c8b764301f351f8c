//! Checks that every event hookd answered 2xx landed in the topic.
//!
//! The topic is consumed *while* the load runs, from the high watermarks taken before the first
//! request: librdkafka's mock cluster (hookd's embedded broker) keeps only ~5 MiB per partition,
//! so a check that read the topic after a long run would find the oldest events deleted.
//! Records are matched by the bench id at the start of their value ([`crate::shapes`]). If the
//! consumer ever falls behind the broker's retention (an offset gap: the producer is not
//! transactional, so offsets are contiguous), the check counts the records it could not read
//! and says it is incomplete, rather than passing silently.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::shapes::parse_bench_id;

/// Error setting up the consumer.
#[derive(Debug, thiserror::Error)]
#[error("kafka check: {0}")]
pub struct CheckError(String);

/// What the consumer saw of this run.
#[derive(Debug, Default)]
pub struct Seen {
    /// Sequence numbers of this run's records.
    pub seqs: HashSet<u64>,
    /// Records of this run seen more than once.
    pub duplicates: u64,
    /// Records of this run read.
    pub records: u64,
    /// Whether every partition was read up to the end-of-run high watermark.
    pub complete: bool,
    /// Why not, when not.
    pub incomplete_reason: Option<String>,
    /// Records deleted by the broker's retention before they could be read.
    pub skipped: u64,
}

/// A consumer reading the topic in the background.
pub struct LiveCheck {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Seen>,
}

fn consumer(brokers: &str, run: u32) -> Result<BaseConsumer, CheckError> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("hookd-loadgen-{run:08x}"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        // Falling behind retention jumps to the log start; the gap is counted (see `consume`).
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "20")
        // Large fetches: 64 KiB bodies fill the mock broker's ~5 MiB per partition in moments.
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        .set("log_level", "3")
        .create()
        .map_err(|e| CheckError(format!("consumer for {brokers}: {e}")))
}

impl LiveCheck {
    /// Starts consuming `topic` on `brokers` from its current end, keeping records of run `run`.
    pub fn start(brokers: &str, topic: &str, run: u32) -> Result<LiveCheck, CheckError> {
        let c = consumer(brokers, run)?;
        let timeout = Duration::from_secs(10);
        let md = c
            .fetch_metadata(Some(topic), timeout)
            .map_err(|e| CheckError(format!("metadata of {topic}: {e}")))?;
        let parts: Vec<i32> = md
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().iter().map(|p| p.id()).collect())
            .unwrap_or_default();
        if parts.is_empty() {
            return Err(CheckError(format!("topic {topic} has no partitions")));
        }
        let mut tpl = TopicPartitionList::new();
        let mut next = Vec::new();
        for &p in &parts {
            let (_, high) = c
                .fetch_watermarks(topic, p, timeout)
                .map_err(|e| CheckError(format!("watermarks of {topic}/{p}: {e}")))?;
            tpl.add_partition_offset(topic, p, Offset::Offset(high))
                .map_err(|e| CheckError(e.to_string()))?;
            next.push((p, high));
        }
        c.assign(&tpl).map_err(|e| CheckError(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let topic = topic.to_string();
        let thread = std::thread::Builder::new()
            .name("loadgen-check".into())
            .spawn(move || consume(c, &topic, run, next, &s2))
            .map_err(|e| CheckError(e.to_string()))?;
        Ok(LiveCheck { stop, thread })
    }

    /// Stops after reading every partition up to its current high watermark (or `timeout`).
    pub fn finish(self) -> Seen {
        self.stop.store(true, Ordering::Release);
        self.thread.join().unwrap_or_else(|_| Seen {
            incomplete_reason: Some("the consumer thread panicked".into()),
            ..Seen::default()
        })
    }
}

/// How long the final catch-up may take.
const CATCH_UP: Duration = Duration::from_secs(30);

fn consume(
    c: BaseConsumer,
    topic: &str,
    run: u32,
    mut next: Vec<(i32, i64)>,
    stop: &AtomicBool,
) -> Seen {
    let mut seen = Seen::default();
    let mut end: Option<(Vec<(i32, i64)>, Instant)> = None;
    let mut transient = 0u32;
    loop {
        if end.is_none() && stop.load(Ordering::Acquire) {
            let mut highs = Vec::new();
            for &(p, _) in &next {
                match c.fetch_watermarks(topic, p, Duration::from_secs(10)) {
                    Ok((_, h)) => highs.push((p, h)),
                    Err(e) => {
                        seen.incomplete_reason =
                            Some(format!("end watermarks of {topic}/{p}: {e}"));
                        return seen;
                    }
                }
            }
            end = Some((highs, Instant::now() + CATCH_UP));
        }
        if let Some((highs, deadline)) = &end {
            let caught_up = highs
                .iter()
                .all(|(p, h)| next.iter().any(|(q, n)| q == p && n >= h));
            if caught_up {
                seen.complete = seen.incomplete_reason.is_none();
                return seen;
            }
            if Instant::now() > *deadline {
                seen.incomplete_reason
                    .get_or_insert_with(|| "the consumer did not catch up within 30 s".into());
                return seen;
            }
        }
        match c.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                if let Some(n) = next.iter_mut().find(|(p, _)| *p == m.partition()) {
                    if m.offset() > n.1 {
                        seen.skipped += (m.offset() - n.1) as u64;
                        seen.incomplete_reason.get_or_insert_with(|| {
                            "the consumer fell behind the broker's retention (the embedded broker keeps ~5 MiB per partition)".into()
                        });
                    }
                    n.1 = n.1.max(m.offset() + 1);
                }
                if let Some((r, seq)) = m.payload().and_then(parse_bench_id) {
                    if r == run {
                        seen.records += 1;
                        if !seen.seqs.insert(seq) {
                            seen.duplicates += 1;
                        }
                    }
                }
            }
            // Transient consumer errors (broker transport hiccups) are reported, not fatal.
            Some(Err(e)) => {
                transient += 1;
                if transient <= 5 {
                    eprintln!("loadgen: kafka consumer: {e}");
                }
            }
        }
    }
}
