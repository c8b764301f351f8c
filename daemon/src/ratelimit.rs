//! Request rate limits (GCRA, the `governor` crate), checked before any body byte is read or
//! any budget is taken: per webhook (`rateLimitPerSecond` / `rateLimitBurst` on its definition)
//! and per client address (`server.client_rate_limit_per_sec` / `client_rate_limit_burst`).
//! Over a limit the request is answered `429` with `Retry-After`.
//!
//! Memory: a webhook's limiter lives in its registry entry and goes with it. The per-client
//! limiter keeps one small state per client key (IPv4 address or IPv6 /64); keys whose state
//! is back to "fresh" are pruned every few seconds, and at most `server.max_tracked_clients`
//! are kept: while that many distinct clients are active within one pruning period, requests
//! are not limited per client (they still are per webhook and by the admission budget) rather
//! than letting state grow or refusing every newcomer.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client_addr::client_key;

/// A request over a limit: retry after this many seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// `Retry-After` seconds.
    pub retry_after_secs: u64,
}

fn limited(
    n: &governor::NotUntil<<DefaultClock as Clock>::Instant>,
    clock: &DefaultClock,
) -> Limited {
    let wait = n.wait_time_from(clock.now());
    Limited {
        retry_after_secs: (wait.as_secs_f64().ceil() as u64).max(1),
    }
}

/// A quota of `per_sec` requests per second (fractions allowed) with bursts of `burst`
/// (default: the rate rounded up, at least 1).
pub fn quota(per_sec: f64, burst: Option<u32>) -> Result<Quota, String> {
    if !per_sec.is_finite() || per_sec <= 0.0 || per_sec > 1_000_000.0 {
        return Err("must be greater than 0 and at most 1000000".into());
    }
    let period = Duration::from_secs_f64(1.0 / per_sec);
    let burst = burst.unwrap_or_else(|| per_sec.ceil() as u32);
    let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
    Quota::with_period(period)
        .map(|q| q.allow_burst(burst))
        .ok_or_else(|| "is too high".to_string())
}

/// One webhook's limiter (shared by every request to it while its definition stands).
#[derive(Clone)]
pub struct WebhookLimiter {
    limiter: Arc<DefaultDirectRateLimiter>,
    clock: DefaultClock,
}

impl std::fmt::Debug for WebhookLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookLimiter")
    }
}

impl WebhookLimiter {
    /// A limiter with `quota`.
    pub fn new(quota: Quota) -> Self {
        let clock = DefaultClock::default();
        Self {
            limiter: Arc::new(RateLimiter::direct_with_clock(quota, clock.clone())),
            clock,
        }
    }

    /// Takes one request's cell, or says when to retry.
    pub fn check(&self) -> Result<(), Limited> {
        self.limiter.check().map_err(|n| limited(&n, &self.clock))
    }
}

/// Per-client limiter (see the module docs for its memory bound).
pub struct ClientLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    max_keys: usize,
    last_prune_ms: AtomicU64,
    epoch: std::time::Instant,
}

/// How often idle client states are pruned, ms.
const PRUNE_EVERY_MS: u64 = 5_000;

impl ClientLimiter {
    /// `per_sec` requests per second per client with bursts of `burst` (0: `per_sec`),
    /// keeping at most `max_keys` client states; `None` when `per_sec` is 0 (off).
    pub fn new(per_sec: u32, burst: u32, max_keys: usize) -> Option<Self> {
        let rate = NonZeroU32::new(per_sec)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        let clock = DefaultClock::default();
        Some(Self {
            limiter: RateLimiter::dashmap_with_clock(
                Quota::per_second(rate).allow_burst(burst),
                clock.clone(),
            ),
            clock,
            max_keys,
            last_prune_ms: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
        })
    }

    /// Takes one request's cell for `client`, or says when to retry.
    pub fn check(&self, client: IpAddr) -> Result<(), Limited> {
        self.maybe_prune();
        if self.limiter.len() >= self.max_keys {
            return Ok(());
        }
        self.limiter
            .check_key(&client_key(client))
            .map_err(|n| limited(&n, &self.clock))
    }

    /// Client states kept.
    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.limiter.len()
    }

    fn maybe_prune(&self) {
        let now = self.epoch.elapsed().as_millis() as u64;
        let last = self.last_prune_ms.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= PRUNE_EVERY_MS || self.limiter.len() >= self.max_keys;
        if due
            && now.saturating_sub(last) >= 100
            && self
                .last_prune_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_quota_and_retry_after() {
        let l = WebhookLimiter::new(quota(1.0, Some(3)).unwrap());
        for _ in 0..3 {
            l.check().unwrap();
        }
        let e = l.check().unwrap_err();
        assert!(e.retry_after_secs >= 1, "{e:?}");
        assert!(quota(0.0, None).is_err());
        assert!(quota(f64::NAN, None).is_err());
        assert!(quota(0.5, None).is_ok(), "fractions allowed");
    }

    #[test]
    fn clients_are_limited_apart_v6_by_prefix() {
        let l = ClientLimiter::new(1, 2, 1000).unwrap();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        l.check(a).unwrap();
        l.check(a).unwrap();
        assert!(l.check(a).is_err());
        l.check(b).unwrap();
        let v6a: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:0:1::2".parse().unwrap();
        l.check(v6a).unwrap();
        l.check(v6b).unwrap();
        assert!(l.check(v6a).is_err(), "same /64, same bucket");
        assert!(ClientLimiter::new(0, 0, 1000).is_none(), "0 = off");
    }

    #[test]
    fn key_space_is_bounded() {
        let l = ClientLimiter::new(1000, 1000, 1000).unwrap();
        for i in 0..5000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            l.check(ip).unwrap();
        }
        assert!(l.tracked() <= 1000, "{}", l.tracked());
    }
}
