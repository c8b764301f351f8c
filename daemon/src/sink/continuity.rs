//! Every offset of a partition reaches its worker, in order, exactly once per assignment.
//!
//! The consumer pauses a partition whose worker is full and resumes it later. Soak runs on a real
//! broker showed librdkafka resuming a few offsets past the last message handed out (three
//! consecutive offsets never reached the sink, with no rebalance near). The worker stores the
//! offset below its oldest unfinished event, so a message that never arrives would be passed by
//! the stored offset and lost. This tracker checks each message against the next offset
//! expected: a copy of one already handed out is dropped; a jump ahead makes the consumer seek
//! back to the expected offset. Messages read ahead while a seek settles are dropped; only if the
//! broker still has nothing there after three seeks (the records are gone, e.g. deleted by
//! retention) is the jump accepted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What to do with a message read for a partition.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next offset: hand it to the worker.
    Take,
    /// Already handed out (read again after a seek), or read ahead while a seek back is under
    /// way: drop it.
    Drop,
    /// Offsets from `from` were skipped: seek back to `from` and drop this message.
    Gap {
        /// The offset expected.
        from: i64,
    },
}

struct Cursor {
    next: i64,
    /// The offset sought back to, how many seeks so far, and when the last one was made.
    sought: Option<(i64, u32, Instant)>,
}

/// Seeks back to one offset before a jump over it is accepted (the broker then has nothing
/// there: retention deleted it, or a control record sits at that offset).
const SEEKS: u32 = 3;

/// Messages read ahead of the expected offset within this time after a seek are taken for
/// messages fetched before it and dropped, not counted as a failed seek: the 5-million-event
/// soak lost one event when such a message used up the single seek back then allowed.
const SEEK_SETTLE: Duration = Duration::from_millis(500);

/// Per partition of the current assignment, the next offset expected.
#[derive(Default)]
pub struct Continuity {
    parts: HashMap<i32, Cursor>,
}

impl Continuity {
    /// Forgets a partition (revoked, or assigned anew: it starts at its committed offset).
    pub fn reset(&mut self, partition: i32) {
        self.parts.remove(&partition);
    }

    /// Checks the message at `offset` of `partition`.
    pub fn check(&mut self, partition: i32, offset: i64) -> Verdict {
        self.check_at(partition, offset, Instant::now())
    }

    fn check_at(&mut self, partition: i32, offset: i64, now: Instant) -> Verdict {
        let Some(c) = self.parts.get_mut(&partition) else {
            // the first message of an assignment: librdkafka starts at the committed offset
            self.parts.insert(
                partition,
                Cursor {
                    next: offset + 1,
                    sought: None,
                },
            );
            return Verdict::Take;
        };
        if offset < c.next {
            return Verdict::Drop;
        }
        if offset == c.next {
            c.next = offset + 1;
            c.sought = None;
            return Verdict::Take;
        }
        match c.sought {
            Some((o, _, at)) if o == c.next && now.duration_since(at) < SEEK_SETTLE => Verdict::Drop,
            Some((o, n, _)) if o == c.next && n >= SEEKS => {
                // still ahead after seeking back, each time given time to settle: the broker
                // has nothing in between
                c.next = offset + 1;
                c.sought = None;
                Verdict::Take
            }
            Some((o, n, _)) if o == c.next => {
                c.sought = Some((o, n + 1, now));
                Verdict::Gap { from: o }
            }
            _ => {
                c.sought = Some((c.next, 1, now));
                Verdict::Gap { from: c.next }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_copies_and_gaps() {
        let mut c = Continuity::default();
        let t = Instant::now();
        let later = |ms: u64| t + Duration::from_millis(ms);
        assert_eq!(c.check_at(2, 100, t), Verdict::Take);
        assert_eq!(c.check_at(2, 101, t), Verdict::Take);
        assert_eq!(c.check_at(2, 101, t), Verdict::Drop);
        // 102..104 skipped: seek back
        assert_eq!(c.check_at(2, 105, t), Verdict::Gap { from: 102 });
        // messages fetched before the seek still arrive: dropped, and no second seek yet
        for o in 106..200 {
            assert_eq!(c.check_at(2, o, later(10)), Verdict::Drop, "offset {o}");
        }
        // after the seek the broker sends them, then what follows
        for o in 102..=106 {
            assert_eq!(c.check_at(2, o, later(20)), Verdict::Take, "offset {o}");
        }
        // partitions are independent; a reset starts over
        assert_eq!(c.check_at(3, 7, t), Verdict::Take);
        c.reset(2);
        assert_eq!(c.check_at(2, 150, t), Verdict::Take);
    }

    #[test]
    fn a_real_hole_is_accepted_only_after_three_settled_seeks() {
        let mut c = Continuity::default();
        let t = Instant::now();
        let at = |ms: u64| t + Duration::from_millis(ms);
        assert_eq!(c.check_at(0, 10, at(0)), Verdict::Take);
        assert_eq!(c.check_at(0, 20, at(0)), Verdict::Gap { from: 11 });
        // stale messages, however many, never use up the seeks
        for i in 0..1000 {
            assert_eq!(c.check_at(0, 20 + i % 5, at(100)), Verdict::Drop);
        }
        assert_eq!(c.check_at(0, 20, at(600)), Verdict::Gap { from: 11 });
        assert_eq!(c.check_at(0, 20, at(700)), Verdict::Drop);
        assert_eq!(c.check_at(0, 20, at(1200)), Verdict::Gap { from: 11 });
        // three seeks made, each settled: the broker has nothing at 11..19
        assert_eq!(c.check_at(0, 20, at(1800)), Verdict::Take);
        assert_eq!(c.check_at(0, 21, at(1800)), Verdict::Take);
    }
}
