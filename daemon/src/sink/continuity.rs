//! Every offset of a partition reaches its worker, in order, exactly once per assignment.
//!
//! The consumer pauses a partition whose worker is full and resumes it later. Soak runs on a real
//! broker showed librdkafka resuming a few offsets past the last message handed out (three
//! consecutive offsets never reached the sink, with no rebalance near). The worker stores the
//! offset below its oldest unfinished event, so a message that never arrives would be passed by
//! the stored offset and lost. This tracker checks each message against the next offset
//! expected: a copy of one already handed out is dropped; a jump ahead makes the consumer seek
//! back to the expected offset (up to three times), and only if the broker then still has nothing there (the
//! records are gone, e.g. deleted by retention) is the jump accepted.

use std::collections::HashMap;

/// What to do with a message read for a partition.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next offset: hand it to the worker.
    Take,
    /// Already handed out (read again after a seek): drop it.
    Duplicate,
    /// Offsets from `from` were skipped: seek back to `from` and drop this message.
    Gap {
        /// The offset expected.
        from: i64,
    },
}

struct Cursor {
    next: i64,
    /// The offset sought back to, and how many times.
    sought: Option<(i64, u32)>,
}

/// Seeks back to one offset before a jump over it is accepted: messages fetched before a seek
/// can still arrive after it, and a single seek was seen to be skipped over again (one event in
/// the 5-million-event soak).
const SEEKS: u32 = 3;

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
            return Verdict::Duplicate;
        }
        let tries = match c.sought {
            Some((o, n)) if o == c.next => n,
            _ => 0,
        };
        if offset == c.next || tries >= SEEKS {
            // in order, or still ahead after seeking back: the broker has nothing in between
            c.next = offset + 1;
            c.sought = None;
            return Verdict::Take;
        }
        c.sought = Some((c.next, tries + 1));
        Verdict::Gap { from: c.next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_duplicates_and_gaps() {
        let mut c = Continuity::default();
        assert_eq!(c.check(2, 100), Verdict::Take);
        assert_eq!(c.check(2, 101), Verdict::Take);
        assert_eq!(c.check(2, 101), Verdict::Duplicate);
        // 102..104 skipped: seek back once
        assert_eq!(c.check(2, 105), Verdict::Gap { from: 102 });
        // after the seek the broker sends them, then what follows
        for o in 102..=106 {
            assert_eq!(c.check(2, o), Verdict::Take, "offset {o}");
        }
        // a real hole (records deleted): still ahead after seeking back three times, accepted
        assert_eq!(c.check(2, 200), Verdict::Gap { from: 107 });
        // a message fetched before the seek, arriving after it, does not count as proof
        assert_eq!(c.check(2, 201), Verdict::Gap { from: 107 });
        assert_eq!(c.check(2, 200), Verdict::Gap { from: 107 });
        assert_eq!(c.check(2, 200), Verdict::Take);
        assert_eq!(c.check(2, 201), Verdict::Take);
        // partitions are independent; a reset starts over
        assert_eq!(c.check(3, 7), Verdict::Take);
        c.reset(2);
        assert_eq!(c.check(2, 150), Verdict::Take);
    }
}
