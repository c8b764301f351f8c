//! Admission control for provider requests: a bounded in-flight budget of events and body
//! bytes, taken once the cheap checks have passed (webhook, method, allow-list, rate limits,
//! `Content-Length`) and held until the event is acknowledged by Kafka (or refused). Bytes are
//! charged as they arrive, never from a claimed length.
//!
//! No single holder can take it all: one webhook, one client address (IPv6 by /64) and one
//! connection may each hold at most their share (`server.webhook_share_percent`,
//! `client_share_percent`, `connection_share_percent`) of the events and of the bytes — and
//! always at least one maximum-size body — so traffic to webhook A, or from one client, leaves
//! the rest for everyone else. When the budget or a share is exhausted the request is answered
//! `503` at once (`overloaded`, `webhook_overloaded`, `client_overloaded`,
//! `connection_overloaded`) with the configured `Retry-After` (`kafka.retry_after_secs`) —
//! backpressure answers, it never queues.
//!
//! Memory: the per-webhook and per-client counters exist only while a request holds budget
//! (bounded by `kafka.max_inflight_events`); a connection's counter lives with the connection.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::client_addr::client_key;
use crate::config::Config;
use crate::conn::Usage;
use crate::error::ApiError;

/// What one holder may take.
#[derive(Debug, Clone, Copy)]
struct Cap {
    events: usize,
    bytes: usize,
}

impl Cap {
    fn share(events: usize, bytes: usize, percent: u8, min_bytes: usize) -> Self {
        let pct = usize::from(percent.clamp(1, 100));
        Cap {
            events: (events.saturating_mul(pct) / 100).max(1),
            bytes: (bytes.saturating_mul(pct) / 100).max(min_bytes).min(bytes),
        }
    }
}

/// Holders of one kind (webhooks or clients), each counted while it holds something.
struct Holders<K> {
    cap: Cap,
    reason: &'static str,
    live: Mutex<HashMap<K, Arc<Usage>>>,
}

impl<K: Hash + Eq + Clone> Holders<K> {
    fn new(cap: Cap, reason: &'static str) -> Self {
        Self {
            cap,
            reason,
            live: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, k: &K) -> Arc<Usage> {
        self.live
            .lock()
            .unwrap()
            .entry(k.clone())
            .or_default()
            .clone()
    }

    /// Drops `k`'s counter when `u` is its last holder and it is back to zero.
    fn release(&self, k: &K, u: &Arc<Usage>) {
        let mut live = self.live.lock().unwrap();
        // New references are only made under this lock: a count of 2 (the map and `u`) stays 2.
        if Arc::strong_count(u) == 2 && u.is_zero() {
            live.remove(k);
        }
    }
}

/// Bounded in-flight budget: one permit per event and one per body byte, with shares.
#[derive(Clone)]
pub struct Budget(Arc<Inner>);

struct Inner {
    events: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    retry_after: u64,
    webhooks: Holders<Arc<str>>,
    clients: Holders<IpAddr>,
    conn_cap: Cap,
}

/// Who asks for budget.
pub struct Claimant<'a> {
    /// The webhook.
    pub webhook: &'a str,
    /// The client address.
    pub client: IpAddr,
    /// The connection's counter (`None`: not counted per connection).
    pub conn: Option<&'a Arc<Usage>>,
}

/// Budget held by one request until its event is acknowledged (or refused).
pub struct Held {
    budget: Budget,
    _event: OwnedSemaphorePermit,
    bytes: Option<OwnedSemaphorePermit>,
    webhook: (Arc<str>, Arc<Usage>),
    client: (IpAddr, Arc<Usage>),
    conn: Option<Arc<Usage>>,
    charged: usize,
}

/// Budget sizes and shares.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Events in flight.
    pub events: usize,
    /// Body bytes in flight.
    pub bytes: usize,
    /// Largest body (every share admits at least one).
    pub max_body: usize,
    /// Shares, percent.
    pub webhook_pct: u8,
    /// Shares, percent.
    pub client_pct: u8,
    /// Shares, percent.
    pub conn_pct: u8,
    /// `Retry-After` of refusals.
    pub retry_after: u64,
}

impl Sizes {
    /// From `[kafka]` (budget) and `[server]` (shares).
    pub fn from_config(c: &Config) -> Self {
        Self {
            events: c.kafka.max_inflight_events,
            bytes: c.kafka.max_inflight_bytes,
            max_body: usize::try_from(c.server.max_body_bytes).unwrap_or(usize::MAX),
            webhook_pct: c.server.webhook_share_percent,
            client_pct: c.server.client_share_percent,
            conn_pct: c.server.connection_share_percent,
            retry_after: c.kafka.retry_after_secs,
        }
    }
}

impl Budget {
    /// A budget of these sizes.
    pub fn new(s: Sizes) -> Self {
        let cap = |pct| Cap::share(s.events, s.bytes, pct, s.max_body);
        Budget(Arc::new(Inner {
            events: Arc::new(Semaphore::new(s.events)),
            bytes: Arc::new(Semaphore::new(s.bytes)),
            retry_after: s.retry_after,
            webhooks: Holders::new(cap(s.webhook_pct), "webhook_overloaded"),
            clients: Holders::new(cap(s.client_pct), "client_overloaded"),
            conn_cap: cap(s.conn_pct),
        }))
    }

    fn refuse(&self, reason: &'static str) -> ApiError {
        ApiError::Unavailable {
            reason,
            retry_after: self.0.retry_after,
        }
    }

    /// Takes one event slot for `who`, or fails at once.
    pub fn try_event(&self, who: Claimant<'_>) -> Result<Held, ApiError> {
        let b = &self.0;
        let wk: Arc<str> = who.webhook.into();
        let ck = client_key(who.client);
        let event = b
            .events
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.refuse("overloaded"))?;
        let w = b.webhooks.get(&wk);
        let c = b.clients.get(&ck);
        let mut counted: Vec<&AtomicUsize> = Vec::with_capacity(3);
        let checks = [
            (&w.events, b.webhooks.cap.events, b.webhooks.reason),
            (&c.events, b.clients.cap.events, b.clients.reason),
        ];
        let conn = who
            .conn
            .map(|u| (&u.events, b.conn_cap.events, "connection_overloaded"));
        for (counter, cap, reason) in checks.into_iter().chain(conn) {
            if !Usage::try_add(counter, 1, cap) {
                for x in counted {
                    x.fetch_sub(1, Ordering::AcqRel);
                }
                b.webhooks.release(&wk, &w);
                b.clients.release(&ck, &c);
                return Err(self.refuse(reason));
            }
            counted.push(counter);
        }
        Ok(Held {
            budget: self.clone(),
            _event: event,
            bytes: None,
            webhook: (wk, w),
            client: (ck, c),
            conn: who.conn.cloned(),
            charged: 0,
        })
    }
}

impl Held {
    /// Accounts `n` more body bytes, or fails at once when the byte budget or a share is
    /// exhausted.
    pub fn try_bytes(&mut self, n: usize) -> Result<(), ApiError> {
        if n == 0 {
            return Ok(());
        }
        let budget = self.budget.clone();
        let b = &budget.0;
        let shares: [(&AtomicUsize, usize, &'static str); 2] = [
            (
                &self.webhook.1.bytes,
                b.webhooks.cap.bytes,
                b.webhooks.reason,
            ),
            (&self.client.1.bytes, b.clients.cap.bytes, b.clients.reason),
        ];
        let conn = self
            .conn
            .as_ref()
            .map(|c| (&c.bytes, b.conn_cap.bytes, "connection_overloaded"));
        let mut taken: Vec<&AtomicUsize> = Vec::with_capacity(3);
        for (counter, cap, reason) in shares.into_iter().chain(conn) {
            if !Usage::try_add(counter, n, cap) {
                for x in taken {
                    x.fetch_sub(n, Ordering::AcqRel);
                }
                return Err(budget.refuse(reason));
            }
            taken.push(counter);
        }
        let permit = u32::try_from(n)
            .ok()
            .and_then(|n| b.bytes.clone().try_acquire_many_owned(n).ok());
        let Some(p) = permit else {
            for x in taken {
                x.fetch_sub(n, Ordering::AcqRel);
            }
            return Err(budget.refuse("overloaded"));
        };
        match &mut self.bytes {
            Some(held) => held.merge(p),
            None => self.bytes = Some(p),
        }
        self.charged += n;
        Ok(())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let n = self.charged;
        for u in [&self.webhook.1, &self.client.1]
            .into_iter()
            .chain(self.conn.as_ref())
        {
            u.events.fetch_sub(1, Ordering::AcqRel);
            u.bytes.fetch_sub(n, Ordering::AcqRel);
        }
        let b = &self.budget.0;
        b.webhooks.release(&self.webhook.0, &self.webhook.1);
        b.clients.release(&self.client.0, &self.client.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> Sizes {
        Sizes {
            events: 10,
            bytes: 1000,
            max_body: 100,
            webhook_pct: 50,
            client_pct: 30,
            conn_pct: 20,
            retry_after: 7,
        }
    }

    fn who<'a>(w: &'a str, c: &str, conn: Option<&'a Arc<Usage>>) -> Claimant<'a> {
        Claimant {
            webhook: w,
            client: c.parse().unwrap(),
            conn,
        }
    }

    fn reason(r: Result<Held, ApiError>) -> &'static str {
        match r {
            Err(ApiError::Unavailable {
                reason,
                retry_after: 7,
            }) => reason,
            Err(e) => panic!("{e:?}"),
            Ok(_) => "admitted",
        }
    }

    #[test]
    fn refusals_carry_the_configured_retry_after_and_permits_return() {
        let b = Budget::new(Sizes {
            events: 1,
            webhook_pct: 100,
            client_pct: 100,
            conn_pct: 100,
            ..sizes()
        });
        let mut held = b.try_event(who("a", "192.0.2.1", None)).unwrap();
        assert_eq!(
            reason(b.try_event(who("b", "192.0.2.2", None))),
            "overloaded"
        );
        held.try_bytes(1000).unwrap();
        let e = held.try_bytes(1).unwrap_err();
        assert!(
            matches!(e, ApiError::Unavailable { retry_after: 7, .. }),
            "{e:?}"
        );
        drop(held);
        assert!(
            b.try_event(who("a", "192.0.2.1", None)).is_ok(),
            "permits return when the request ends"
        );
        assert!(b.0.webhooks.live.lock().unwrap().is_empty());
        assert!(b.0.clients.live.lock().unwrap().is_empty());
    }

    #[test]
    fn one_webhook_cannot_take_every_event() {
        let b = Budget::new(sizes());
        let mut held = Vec::new();
        for i in 0..5 {
            held.push(
                b.try_event(who("a", &format!("192.0.2.{i}"), None))
                    .unwrap(),
            );
        }
        assert_eq!(
            reason(b.try_event(who("a", "192.0.2.99", None))),
            "webhook_overloaded"
        );
        assert!(
            b.try_event(who("b", "192.0.2.99", None)).is_ok(),
            "webhook b still admitted"
        );
    }

    #[test]
    fn one_client_and_one_connection_are_capped() {
        let b = Budget::new(sizes());
        let mut held = Vec::new();
        for w in ["a", "b", "c"] {
            held.push(b.try_event(who(w, "2001:db8::1", None)).unwrap());
        }
        // same /64
        assert_eq!(
            reason(b.try_event(who("d", "2001:db8::2", None))),
            "client_overloaded"
        );
        let conn = Arc::new(Usage::default());
        held.push(b.try_event(who("d", "192.0.2.1", Some(&conn))).unwrap());
        held.push(b.try_event(who("e", "192.0.2.2", Some(&conn))).unwrap());
        assert_eq!(
            reason(b.try_event(who("f", "192.0.2.3", Some(&conn)))),
            "connection_overloaded"
        );
        drop(held);
        assert!(conn.is_zero(), "a refused claim gives back what it counted");
    }

    #[test]
    fn byte_shares_and_at_least_one_max_body() {
        let b = Budget::new(sizes());
        let mut a1 = b.try_event(who("a", "192.0.2.1", None)).unwrap();
        let mut a2 = b.try_event(who("a", "192.0.2.2", None)).unwrap();
        a1.try_bytes(300).unwrap();
        a2.try_bytes(200).unwrap();
        // webhook a: 50 % of 1000
        assert!(a2.try_bytes(1).is_err());
        let mut c = b.try_event(who("b", "192.0.2.1", None)).unwrap();
        // client 192.0.2.1: 30 % of 1000, holds 300 already
        assert!(matches!(
            c.try_bytes(1),
            Err(ApiError::Unavailable {
                reason: "client_overloaded",
                ..
            })
        ));
        let mut d = b.try_event(who("b", "192.0.2.3", None)).unwrap();
        d.try_bytes(100).unwrap();
        drop(a1);
        c.try_bytes(300).unwrap();
        // the global byte budget: 1000 in all (600 held now)
        let mut e = b.try_event(who("c", "192.0.2.4", None)).unwrap();
        e.try_bytes(300).unwrap();
        let mut f = b.try_event(who("c", "192.0.2.5", None)).unwrap();
        assert!(matches!(
            f.try_bytes(101),
            Err(ApiError::Unavailable {
                reason: "overloaded",
                ..
            })
        ));
        f.try_bytes(100).unwrap();
        let tiny = Budget::new(Sizes {
            conn_pct: 1,
            ..sizes()
        });
        let conn = Arc::new(Usage::default());
        let mut h = tiny.try_event(who("a", "192.0.2.1", Some(&conn))).unwrap();
        h.try_bytes(100)
            .expect("a 1 % share still admits one max-size body");
    }
}
