//! Replay protection on one instance: a verified request whose signed content this instance
//! already published within `server.replay_window_secs` is answered `200` without being
//! published again.
//!
//! The key is SHA-256 over the webhook (id and generation) and what the provider signed: the
//! body, plus the signed timestamp for Stripe (`t=`), Slack and SendGrid. Unsigned headers such
//! as `X-GitHub-Delivery` are not part of it, so inventing delivery ids does not make a captured
//! request new. A key counts as published only once Kafka acknowledged the event: a request
//! answered 503 can be retried. A copy that arrives while the first is still waiting for Kafka
//! waits for that outcome (the first published: answered 200 as a replay; it failed: this copy
//! publishes).
//!
//! Memory: at most `server.replay_max_entries` keys (about 120 bytes each with the map and the
//! expiry queue: 12 MB at the default 100,000); when full, the oldest are forgotten before
//! their window ends (counted in `hookd_replay_evictions_total`).
//!
//! This guarantees no second publish per instance within the window while fewer than
//! `replay_max_entries` distinct requests arrive in it. Across instances (a replay sent to
//! another instance behind the balancer) and beyond the window, the sink's de-duplication is
//! what keeps a duplicate from starting a second workflow.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::verify::{sendgrid, slack, stripe, Verifier};

/// A request's replay key.
pub type Key = [u8; 32];

/// What this instance remembers.
pub struct ReplayGuard {
    window: Duration,
    max: usize,
    inner: Mutex<Inner>,
}

/// A key's state: waiting for Kafka (the receiver turns `true` once published; its sender is
/// dropped if the publish failed), or published.
enum State {
    Pending(watch::Receiver<bool>),
    Published,
}

#[derive(Default)]
struct Inner {
    /// Key → (first seen, state).
    seen: HashMap<Key, (Instant, State)>,
    /// Keys by first-seen time (entries whose key was since removed or re-added are skipped).
    order: VecDeque<(Key, Instant)>,
}

/// The verdict on a verified request.
pub enum Verdict {
    /// New: publish it, then [`Ticket::published`].
    Fresh(Ticket),
    /// Already published within the window: answer 200, publish nothing.
    Replay,
    /// A copy is waiting for Kafka right now: wait for its outcome, then check again.
    InFlight(Outcome),
}

/// The outcome of a copy in flight.
pub struct Outcome(watch::Receiver<bool>);

impl Outcome {
    /// Resolves once the copy in flight was published or failed.
    pub async fn settled(mut self) {
        let _ = self.0.wait_for(|published| *published).await;
    }
}

/// A fresh key reserved while its event is published; forgotten if dropped unpublished.
pub struct Ticket {
    guard: Arc<ReplayGuard>,
    key: Key,
    at: Instant,
    done: bool,
    tx: watch::Sender<bool>,
}

impl ReplayGuard {
    /// Remembers at most `max` keys for `window`; `None` when `window` is zero (off).
    pub fn new(window: Duration, max: usize) -> Option<Arc<Self>> {
        (!window.is_zero() && max > 0).then(|| {
            Arc::new(Self {
                window,
                max,
                inner: Mutex::new(Inner::default()),
            })
        })
    }

    /// Checks `key` (from [`key`]) and reserves it when fresh.
    pub fn check(self: &Arc<Self>, key: Key) -> Verdict {
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap();
        inner.expire(now, self.window);
        if let Some((_, state)) = inner.seen.get(&key) {
            return match state {
                State::Published => Verdict::Replay,
                State::Pending(rx) => Verdict::InFlight(Outcome(rx.clone())),
            };
        }
        while inner.seen.len() >= self.max {
            let Some((k, at)) = inner.order.pop_front() else {
                break;
            };
            if inner.seen.get(&k).is_some_and(|(t, _)| *t == at) {
                inner.seen.remove(&k);
                metrics::counter!(crate::metrics::REPLAY_EVICTIONS_TOTAL).increment(1);
            }
        }
        let (tx, rx) = watch::channel(false);
        inner.seen.insert(key, (now, State::Pending(rx)));
        inner.order.push_back((key, now));
        if inner.order.len() > 2 * self.max {
            // Removed keys leave their queue entries behind; drop them now and then.
            let Inner { seen, order } = &mut *inner;
            order.retain(|(k, at)| seen.get(k).is_some_and(|(t, _)| t == at));
        }
        Verdict::Fresh(Ticket {
            guard: self.clone(),
            key,
            at: now,
            done: false,
            tx,
        })
    }

    /// Keys remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().seen.len()
    }
}

impl Inner {
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((k, at)) = self.order.front().copied() {
            if now.duration_since(at) < window {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&k).is_some_and(|(t, _)| *t == at) {
                self.seen.remove(&k);
            }
        }
    }
}

impl Ticket {
    /// The event is durable: replays of it are now answered without publishing.
    pub fn published(mut self) {
        self.done = true;
        let mut inner = self.guard.inner.lock().unwrap();
        if let Some(e) = inner.seen.get_mut(&self.key).filter(|e| e.0 == self.at) {
            e.1 = State::Published;
        }
        drop(inner);
        let _ = self.tx.send(true);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.done {
            let mut inner = self.guard.inner.lock().unwrap();
            if inner
                .seen
                .get(&self.key)
                .is_some_and(|e| e.0 == self.at && matches!(e.1, State::Pending(_)))
            {
                inner.seen.remove(&self.key);
            }
        }
    }
}

/// What ingress does with a verified event.
pub enum Admit {
    /// Publish it, then [`Ticket::published`].
    Fresh(Ticket),
    /// Answer 200 without publishing.
    Replay,
    /// A copy stayed in flight past every wait (503 `duplicate_in_flight`).
    Busy,
}

/// Checks `key`, waiting (at most `wait` each time, a few times) for a copy in flight to settle.
pub async fn admit(guard: &Arc<ReplayGuard>, key: Key, wait: Duration) -> Admit {
    for _ in 0..3 {
        match guard.check(key) {
            Verdict::Fresh(t) => return Admit::Fresh(t),
            Verdict::Replay => return Admit::Replay,
            Verdict::InFlight(o) => {
                let _ = tokio::time::timeout(wait + Duration::from_millis(500), o.settled()).await;
            }
        }
    }
    Admit::Busy
}

/// The replay key of a verified request to webhook `webhook_id` (generation `generation`):
/// SHA-256 over the webhook, the signed timestamp (see [`signed_timestamp`]) and the body.
pub fn key(webhook_id: &str, generation: u64, signed_ts: Option<i64>, body: &[u8]) -> Key {
    let mut h = Sha256::new();
    h.update((webhook_id.len() as u64).to_be_bytes());
    h.update(webhook_id.as_bytes());
    h.update(generation.to_be_bytes());
    match signed_ts {
        Some(ts) => {
            h.update([1]);
            h.update(ts.to_be_bytes());
        }
        None => h.update([0]),
    }
    h.update(body);
    h.finalize().into()
}

/// The timestamp `verifier`'s scheme signs together with the body, if any (Stripe `t=`,
/// Slack and SendGrid timestamp headers).
pub fn signed_timestamp(verifier: &Verifier, headers: &HeaderMap) -> Option<i64> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match verifier {
        Verifier::Stripe(_) => stripe::parse_header(header(stripe::HEADER)?)
            .ok()
            .map(|p| p.timestamp),
        Verifier::Slack(_) => header(slack::TIMESTAMP_HEADER)?.trim().parse().ok(),
        Verifier::SendGrid(_) => header(sendgrid::TIMESTAMP_HEADER)?.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{github, Secret};

    fn k(n: u8) -> Key {
        [n; 32]
    }

    #[test]
    fn published_keys_are_replays_until_the_window_ends() {
        let g = ReplayGuard::new(Duration::from_millis(200), 10).unwrap();
        let Verdict::Fresh(t) = g.check(k(1)) else {
            panic!("fresh")
        };
        let Verdict::InFlight(waiting) = g.check(k(1)) else {
            panic!("in flight")
        };
        t.published();
        futures::executor::block_on(waiting.settled());
        assert!(matches!(g.check(k(1)), Verdict::Replay));
        std::thread::sleep(Duration::from_millis(250));
        assert!(matches!(g.check(k(1)), Verdict::Fresh(_)));
    }

    #[test]
    fn unpublished_keys_are_forgotten() {
        let g = ReplayGuard::new(Duration::from_secs(60), 10).unwrap();
        let Verdict::Fresh(t) = g.check(k(2)) else {
            panic!("fresh")
        };
        let Verdict::InFlight(waiting) = g.check(k(2)) else {
            panic!("in flight")
        };
        drop(t);
        futures::executor::block_on(waiting.settled());
        assert!(matches!(g.check(k(2)), Verdict::Fresh(_)));
    }

    #[test]
    fn memory_is_bounded_oldest_first() {
        let g = ReplayGuard::new(Duration::from_secs(60), 3).unwrap();
        for n in 0..10 {
            if let Verdict::Fresh(t) = g.check(k(n)) {
                t.published();
            }
        }
        assert_eq!(g.len(), 3);
        assert!(matches!(g.check(k(9)), Verdict::Replay));
        assert!(matches!(g.check(k(0)), Verdict::Fresh(_)), "evicted");
        assert!(g.inner.lock().unwrap().order.len() <= 6);
    }

    #[test]
    fn keys_cover_webhook_timestamp_and_body_not_unsigned_headers() {
        let gh =
            Verifier::GitHub(github::GitHubVerifier::new(None, vec![Secret::new("s")]).unwrap());
        let mut h1 = HeaderMap::new();
        h1.insert("x-github-delivery", "one".parse().unwrap());
        assert_eq!(
            signed_timestamp(&gh, &h1),
            None,
            "delivery ids are not signed"
        );
        assert_ne!(key("w", 1, None, b"body"), key("w", 2, None, b"body"));
        assert_ne!(key("w", 1, None, b"body"), key("v", 1, None, b"body"));
        assert_ne!(key("w", 1, None, b"body"), key("w", 1, None, b"body2"));
        assert_ne!(key("w", 1, None, b"body"), key("w", 1, Some(0), b"body"));
        let st =
            Verifier::Stripe(stripe::StripeVerifier::new(vec![Secret::new("s")], 300).unwrap());
        let mut a = HeaderMap::new();
        a.insert("stripe-signature", "t=100,v1=00".parse().unwrap());
        assert_eq!(signed_timestamp(&st, &a), Some(100));
        let sl = Verifier::Slack(slack::SlackVerifier::new(Some(Secret::new("s")), 300).unwrap());
        let mut b = HeaderMap::new();
        b.insert("x-slack-request-timestamp", "1700000000".parse().unwrap());
        assert_eq!(signed_timestamp(&sl, &b), Some(1_700_000_000));
    }
}
