//! Order only where it matters, inside one partition (the pattern of Confluent's parallel
//! consumer): each event carries its ordering keys (delivery id, resolved idempotency key, wait
//! keys); an event may run once it is the oldest pending event of every one of its keys, so
//! events sharing a key run one after the other in offset order while events with different keys
//! run at once, up to `max_in_flight`. The offset that may be stored is the one just below the
//! oldest event not finished: after a crash, everything from there is redelivered, and the
//! finished ones among them are recognised by their `done/…` records (`dedup.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

struct Pending {
    keys: Vec<String>,
    running: bool,
}

/// One partition's scheduler (pure: the worker in `sink/mod.rs` drives it).
pub struct Scheduler {
    max_in_flight: usize,
    capacity: usize,
    queues: HashMap<String, VecDeque<i64>>,
    events: BTreeMap<i64, Pending>,
    ready: BTreeSet<i64>,
    running: usize,
    last_admitted: Option<i64>,
}

impl Scheduler {
    /// Runs at most `max_in_flight` events at once and holds at most `capacity` admitted
    /// events (running or waiting for a key).
    pub fn new(max_in_flight: usize, capacity: usize) -> Self {
        Self {
            max_in_flight: max_in_flight.max(1),
            capacity: capacity.max(max_in_flight).max(1),
            queues: HashMap::new(),
            events: BTreeMap::new(),
            ready: BTreeSet::new(),
            running: 0,
            last_admitted: None,
        }
    }

    /// Whether another event may be admitted.
    pub fn has_room(&self) -> bool {
        self.events.len() < self.capacity
    }

    /// Events admitted and not finished.
    pub fn pending(&self) -> usize {
        self.events.len()
    }

    /// Events running.
    #[cfg(test)]
    fn running(&self) -> usize {
        self.running
    }

    /// Admits the next event of the partition (offsets increase) with its ordering keys.
    pub fn admit(&mut self, offset: i64, mut keys: Vec<String>) {
        keys.sort();
        keys.dedup();
        let mut head = true;
        for k in &keys {
            let q = self.queues.entry(k.clone()).or_default();
            head &= q.is_empty();
            q.push_back(offset);
        }
        if head {
            self.ready.insert(offset);
        }
        self.events.insert(
            offset,
            Pending {
                keys,
                running: false,
            },
        );
        self.last_admitted = Some(offset);
    }

    /// The next event to run (oldest ready first), if a slot is free.
    pub fn start_next(&mut self) -> Option<i64> {
        if self.running >= self.max_in_flight {
            return None;
        }
        let o = self.ready.pop_first()?;
        if let Some(p) = self.events.get_mut(&o) {
            p.running = true;
        }
        self.running += 1;
        Some(o)
    }

    /// Marks a running event finished (its effects done, or it was dead-lettered).
    pub fn finish(&mut self, offset: i64) {
        let Some(p) = self.events.remove(&offset) else {
            return;
        };
        debug_assert!(p.running);
        self.running -= 1;
        for k in &p.keys {
            let Some(q) = self.queues.get_mut(k) else {
                continue;
            };
            debug_assert_eq!(q.front(), Some(&offset));
            q.pop_front();
            match q.front().copied() {
                None => {
                    self.queues.remove(k);
                }
                Some(next) => {
                    let at_head = self.events.get(&next).is_some_and(|e| {
                        !e.running
                            && e.keys
                                .iter()
                                .all(|k| self.queues.get(k).and_then(|q| q.front()) == Some(&next))
                    });
                    if at_head {
                        self.ready.insert(next);
                    }
                }
            }
        }
    }

    /// The highest offset at and below which every admitted event is finished: what may be
    /// stored (`None` before anything finished).
    pub fn done_through(&self) -> Option<i64> {
        match self.events.keys().next() {
            // storing `lowest - 1` when nothing below it was ours restates the committed position
            Some(&lowest) => (lowest > 0).then_some(lowest - 1),
            None => self.last_admitted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_key_in_offset_order_different_keys_at_once() {
        let mut s = Scheduler::new(8, 16);
        s.admit(10, keys(&["a"]));
        s.admit(11, keys(&["b"]));
        s.admit(12, keys(&["a"]));
        s.admit(13, keys(&["c", "a"]));
        s.admit(14, keys(&["c"]));
        let mut started = Vec::new();
        while let Some(o) = s.start_next() {
            started.push(o);
        }
        assert_eq!(started, vec![10, 11], "12, 13 wait for a; 14 for c (13)");
        s.finish(11);
        assert_eq!(s.start_next(), None);
        assert_eq!(s.done_through(), Some(9), "10 is not finished");
        s.finish(10);
        assert_eq!(s.start_next(), Some(12));
        assert_eq!(s.start_next(), None);
        assert_eq!(s.done_through(), Some(11));
        s.finish(12);
        assert_eq!(s.start_next(), Some(13));
        s.finish(13);
        assert_eq!(s.start_next(), Some(14));
        s.finish(14);
        assert_eq!(s.done_through(), Some(14));
        assert!(s.queues.is_empty() && s.ready.is_empty());
    }

    #[test]
    fn bounded_in_flight_and_capacity() {
        let mut s = Scheduler::new(2, 4);
        for o in 0..4 {
            assert!(s.has_room());
            s.admit(o, keys(&[&format!("k{o}")]));
        }
        assert!(!s.has_room());
        assert_eq!((s.start_next(), s.start_next(), s.start_next()), (Some(0), Some(1), None));
        s.finish(1);
        assert_eq!(s.start_next(), Some(2));
        assert_eq!(s.running(), 2);
        assert_eq!(s.done_through(), None, "offset 0 runs: nothing may be stored yet");
        s.finish(0);
        assert_eq!(s.done_through(), Some(1));
        assert_eq!(s.pending(), 2);
    }

    /// Random interleavings: events of one key always run in offset order, never two at once,
    /// and the stored offset never passes an unfinished event.
    #[test]
    fn random_interleavings_keep_key_order() {
        for seed in 0..200u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut s = Scheduler::new(1 + rng.usize(..6), 12);
            let mut next_offset = 0i64;
            let mut running: Vec<i64> = Vec::new();
            let mut key_of = HashMap::new();
            let mut finished_by_key: HashMap<String, Vec<i64>> = HashMap::new();
            let mut finished = BTreeSet::new();
            for _ in 0..300 {
                if s.has_room() && rng.bool() {
                    let k = format!("k{}", rng.usize(..4));
                    key_of.insert(next_offset, k.clone());
                    s.admit(next_offset, vec![k]);
                    next_offset += 1;
                }
                while let Some(o) = s.start_next() {
                    let k = &key_of[&o];
                    assert!(
                        running.iter().all(|r| &key_of[r] != k),
                        "two events of one key at once"
                    );
                    running.push(o);
                }
                if !running.is_empty() && rng.bool() {
                    let o = running.swap_remove(rng.usize(..running.len()));
                    s.finish(o);
                    finished.insert(o);
                    finished_by_key.entry(key_of[&o].clone()).or_default().push(o);
                }
                if let Some(d) = s.done_through() {
                    assert!((0..=d).all(|o| finished.contains(&o)), "stored past a gap");
                }
            }
            for v in finished_by_key.values() {
                assert!(v.windows(2).all(|w| w[0] < w[1]), "key order: {v:?}");
            }
        }
    }
}
