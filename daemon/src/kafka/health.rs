//! Whether the broker is keeping up: how long requests have been waiting for an
//! acknowledgement since the broker last acknowledged anything (`/readyz` answers 503 beyond
//! `kafka.unready_after_ms`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts publishes waiting for the broker and when the wait began.
#[derive(Debug)]
pub struct AckTracker {
    epoch: Instant,
    waiting: AtomicUsize,
    /// Milliseconds since `epoch` (+1; 0 = none) of the first publish begun since the broker's
    /// last acknowledgement.
    unacked_since: AtomicU64,
}

impl Default for AckTracker {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            waiting: AtomicUsize::new(0),
            unacked_since: AtomicU64::new(0),
        }
    }
}

impl AckTracker {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// A publish begins waiting for the broker; it ends when the guard is dropped (also when
    /// the request is cancelled), as acknowledged once [`Waiting::acked`] was called.
    pub fn begin(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _ = self.unacked_since.compare_exchange(
            0,
            self.now(),
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        Waiting(self)
    }

    /// How long requests have been waiting without any acknowledgement from the broker: `None`
    /// when none waits or the broker acknowledged something since the first of them began.
    pub fn stalled_for(&self) -> Option<Duration> {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return None;
        }
        match self.unacked_since.load(Ordering::SeqCst) {
            0 => None,
            since => Some(Duration::from_millis(self.now().saturating_sub(since))),
        }
    }
}

/// One publish waiting for the broker (see [`AckTracker::begin`]).
pub struct Waiting<'a>(&'a AckTracker);

impl Waiting<'_> {
    /// The broker acknowledged this publish.
    pub fn acked(self) {
        self.0.unacked_since.store(0, Ordering::SeqCst);
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_only_while_waiting_without_acks() {
        let t = AckTracker::default();
        assert_eq!(t.stalled_for(), None);
        let a = t.begin();
        std::thread::sleep(Duration::from_millis(20));
        assert!(t.stalled_for().unwrap() >= Duration::from_millis(20));
        drop(t.begin());
        assert!(
            t.stalled_for().is_some(),
            "a failure is no acknowledgement"
        );
        drop(a);
        assert_eq!(t.stalled_for(), None, "nothing waits");
        // The unacknowledged wait continues: the next request is stalled at once.
        let b = t.begin();
        assert!(t.stalled_for().unwrap() >= Duration::from_millis(20));
        t.begin().acked();
        assert_eq!(t.stalled_for(), None, "the broker acknowledged");
        drop(b);
    }
}
