//! The sink's bounded de-duplication state: per assigned partition, an in-memory index of the
//! newest records of that partition of `<topic>.starts` (`sink.dedup_index_entries` at most),
//! each valid for `sink.dedup_window_secs` after it was written.
//!
//! Two kinds of key live in the topic (values are [`StartRecord`]s):
//! - `done/<webhook>/<delivery id>`: the event of that delivery (provider delivery id, the
//!   webhook's `dedupKey`, or hookd's event id) was handled — its waits completed, its workflows
//!   started (their ids in the record), its history entry written. A later copy within the
//!   window has no effect at all.
//! - `key/<workflow>/<idempotency key>`: a start under a resolved `idempotencyKey` (shared by
//!   different deliveries; the strategies of `process.rs` read it).
//!
//! Bounds: memory is at most `dedup_index_entries` records per partition; a partition takeover
//! reads back at most that many records (the newest), whatever came before. When the index does
//! not hold every record of the window (it evicted some, or the read back stopped short), it is
//! *incomplete*: a miss is then not proof that a start never happened, and `process.rs` asks
//! Conductor for the start's deterministic correlation id before starting (a lazy look-up).
//! Records older than the window count as absent, and the topic deletes them (`compact,delete`
//! with `retention.ms` = the window, `kafka::ensure_topics`).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::starts::StartRecord;

/// The key of the record that marks one delivery of `webhook` as handled.
pub fn done_key(webhook: &str, delivery: &str) -> String {
    format!("done/{webhook}/{delivery}")
}

/// One partition's bounded index.
#[derive(Debug)]
pub struct Index {
    cap: usize,
    window_ms: i64,
    map: HashMap<String, (StartRecord, u64)>,
    /// Keys in write order with the sequence number they were written under (an entry whose
    /// sequence no longer matches the map's was overwritten and is skipped on eviction).
    order: VecDeque<(u64, String)>,
    seq: u64,
    complete: bool,
}

impl Index {
    /// An empty, complete index holding at most `cap` records of the last `window_ms`.
    pub fn new(cap: usize, window_ms: i64) -> Self {
        Self {
            cap: cap.max(1),
            window_ms,
            map: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
            complete: true,
        }
    }

    /// Whether every record of the window is held (a miss is then authoritative).
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// Records held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no record is held.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The record of `key`, unless it is older than the window at `now_ms`.
    pub fn get(&mut self, key: &str, now_ms: i64) -> Option<StartRecord> {
        self.expire(now_ms);
        self.map
            .get(key)
            .filter(|(r, _)| r.at_ms >= now_ms - self.window_ms)
            .map(|(r, _)| r.clone())
    }

    /// Adds or replaces a record (written now, or read back in offset order).
    pub fn insert(&mut self, key: String, rec: StartRecord, now_ms: i64) {
        self.expire(now_ms);
        if rec.at_ms < now_ms - self.window_ms {
            self.map.remove(&key);
            return;
        }
        self.seq += 1;
        self.order.push_back((self.seq, key.clone()));
        self.map.insert(key, (rec, self.seq));
        while self.map.len() > self.cap {
            let Some((seq, k)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&k).is_some_and(|(_, s)| *s == seq) {
                self.map.remove(&k);
                self.complete = false;
            }
        }
        // overwritten keys leave stale entries behind; keep the queue within twice the bound
        if self.order.len() > 2 * self.cap {
            let map = &self.map;
            self.order
                .retain(|(s, k)| map.get(k).is_some_and(|(_, cur)| cur == s));
        }
    }

    /// Forgets a key (a tombstone read back or written).
    pub fn remove(&mut self, key: &str) {
        self.map.remove(key);
    }

    /// Removes and returns every key recorded for `webhook` (a deleted webhook).
    pub fn take_webhook(&mut self, webhook: &str) -> Vec<String> {
        let keys: Vec<String> = self
            .map
            .iter()
            .filter(|(_, (r, _))| r.webhook == webhook)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &keys {
            self.map.remove(k);
        }
        keys
    }

    /// Drops records older than the window (they are in write order, oldest first).
    fn expire(&mut self, now_ms: i64) {
        let horizon = now_ms - self.window_ms;
        while let Some((seq, k)) = self.order.front() {
            match self.map.get(k) {
                Some((r, s)) if s == seq => {
                    if r.at_ms >= horizon {
                        break;
                    }
                    self.map.remove(k);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }
}

/// What a takeover read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// Records read from the topic (at most the index bound).
    pub read: u64,
    /// The partition held older records than were read: the index starts incomplete.
    pub truncated: bool,
}

/// Reads back the newest records of partition `p` of the starts topic into a new index: from
/// `max(low, high - cap)` to the current end, so at most `cap` records whatever the partition
/// holds (blocking; call off the runtime).
pub fn load_partition(
    consumer: &BaseConsumer,
    topic: &str,
    p: i32,
    cap: usize,
    window_ms: i64,
    now_ms: i64,
) -> Result<(Index, Loaded), String> {
    let (low, high) = consumer
        .fetch_watermarks(topic, p, Duration::from_secs(10))
        .map_err(|e| format!("{topic}[{p}] watermarks: {e}"))?;
    let mut index = Index::new(cap, window_ms);
    let from = low.max(high - cap as i64);
    let mut loaded = Loaded {
        read: 0,
        truncated: from > low,
    };
    if high <= from {
        return Ok((index, loaded));
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, p, Offset::Offset(from))
        .map_err(|e| e.to_string())?;
    consumer.assign(&tpl).map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut next = from;
    while next < high {
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "{topic}[{p}]: timed out reading back de-duplication records"
            ));
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                if m.offset() >= high {
                    break;
                }
                next = m.offset() + 1;
                loaded.read += 1;
                let Some(Ok(key)) = m.key_view::<str>() else {
                    continue;
                };
                match m.payload() {
                    None => index.remove(key),
                    Some(v) => {
                        if let Ok(mut r) = serde_json::from_slice::<StartRecord>(v) {
                            if r.at_ms == 0 {
                                // written before records carried their time: the broker's
                                r.at_ms = m.timestamp().to_millis().unwrap_or(now_ms);
                            }
                            index.insert(key.to_string(), r, now_ms);
                        }
                    }
                }
            }
            Some(Err(e)) => tracing::debug!(error = %e, "reading back de-duplication records"),
            None => {}
        }
    }
    let _ = consumer.unassign();
    if loaded.truncated {
        index.complete = false;
    }
    Ok((index, loaded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(webhook: &str, at_ms: i64) -> StartRecord {
        StartRecord {
            workflow_id: "wf".into(),
            generation: 0,
            at_ms,
            webhook: webhook.into(),
            workflow_ids: Vec::new(),
        }
    }

    const DAY: i64 = 86_400_000;

    #[test]
    fn records_older_than_the_window_are_gone() {
        let mut ix = Index::new(100, 7 * DAY);
        ix.insert("done/w/d1".into(), rec("w", 1_000), 1_000);
        assert!(ix.get("done/w/d1", 1_000 + 7 * DAY).is_some(), "inside");
        assert!(
            ix.get("done/w/d1", 1_001 + 7 * DAY).is_none(),
            "one ms past the window the same delivery counts as new"
        );
        assert!(ix.is_empty(), "and its memory is released");
        assert!(ix.complete(), "expiry is not eviction");
        // a record read back that is already older than the window is not kept
        ix.insert("done/w/d2".into(), rec("w", 0), 8 * DAY);
        assert!(ix.is_empty());
    }

    #[test]
    fn bounded_by_entries_and_then_incomplete() {
        let mut ix = Index::new(3, DAY);
        for i in 0..5 {
            ix.insert(format!("k{i}"), rec("w", 10 + i), 20);
        }
        assert_eq!(ix.len(), 3);
        assert!(ix.get("k0", 20).is_none() && ix.get("k1", 20).is_none());
        assert!(ix.get("k4", 20).is_some());
        assert!(!ix.complete(), "an eviction makes misses non-authoritative");
        // overwriting a key many times keeps the queue bounded
        for i in 0..100 {
            ix.insert("k4".into(), rec("w", 20 + i), 200);
        }
        assert!(ix.order.len() <= 6, "{}", ix.order.len());
        assert_eq!(ix.len(), 3);
    }

    #[test]
    fn a_deleted_webhook_takes_its_keys() {
        let mut ix = Index::new(10, DAY);
        ix.insert("done/a/1".into(), rec("a", 1), 1);
        ix.insert("done/b/1".into(), rec("b", 1), 1);
        ix.insert("key/wf/x".into(), rec("a", 1), 1);
        let mut taken = ix.take_webhook("a");
        taken.sort();
        assert_eq!(taken, vec!["done/a/1", "key/wf/x"]);
        assert_eq!(ix.len(), 1);
    }
}
