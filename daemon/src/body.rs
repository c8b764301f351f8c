//! Reading a provider request's body: each chunk charged to the admission budget as it
//! arrives, cut off over the size limit (413), after `body_read_timeout_ms` in all (408
//! `body_timeout`), or as soon as it falls behind the minimum rate (408 `body_too_slow`), so
//! unverified bytes are held no longer than the body actually streams.
//!
//! The minimum rate: the body starts with `min_body_rate_grace_ms` of credit; every chunk adds
//! the time it is worth at `min_body_rate_bytes_per_sec`, but the credit never runs more than
//! the grace ahead of now. So a body that keeps streaming at the minimum rate is never cut, and
//! one that stalls — even after sending most of itself quickly — is cut within the grace.

use std::time::Duration;

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use tokio::time::Instant;

use crate::admission::Held;
use crate::config::ServerConfig;
use crate::error::ApiError;

/// How a body must arrive.
#[derive(Debug, Clone, Copy)]
pub struct BodyRules {
    /// Whole body, at most.
    pub timeout: Duration,
    /// Minimum average rate once `grace` has passed, bytes/s (0: none).
    pub min_rate: u64,
    /// Time before the minimum rate applies.
    pub grace: Duration,
}

impl BodyRules {
    /// From `[server]`.
    pub fn from_config(s: &ServerConfig) -> Self {
        Self {
            timeout: Duration::from_millis(s.body_read_timeout_ms),
            min_rate: s.min_body_rate_bytes_per_sec,
            grace: Duration::from_millis(s.min_body_rate_grace_ms),
        }
    }

    /// The minimum-rate deadline after a chunk of `len` bytes arrived at `now`, given the
    /// deadline before it.
    fn credit(&self, deadline: Instant, now: Instant, len: usize) -> Instant {
        if self.min_rate == 0 {
            return deadline;
        }
        let earned = Duration::from_secs_f64(len as f64 / self.min_rate as f64);
        (deadline + earned).min(now + self.grace)
    }

    /// Which deadline comes first for a body that started at `start`: the minimum rate's
    /// (`rate_deadline`) or the whole body's.
    fn next(&self, start: Instant, rate_deadline: Instant) -> (Instant, ApiError) {
        let total = start + self.timeout;
        if self.min_rate > 0 && rate_deadline < total {
            (rate_deadline, ApiError::BodyTooSlow)
        } else {
            (total, ApiError::BodyTimeout)
        }
    }
}

/// Reads `body` (at most `limit` bytes) under `rules`, charging `held`.
pub async fn read(
    mut body: Body,
    limit: u64,
    rules: &BodyRules,
    held: &mut Held,
) -> Result<Bytes, ApiError> {
    // A body that arrives in one frame (the common small webhook) is kept as is, without a copy.
    // Further frames are gathered into one buffer reserved from the body's remaining length, at
    // most RESERVE_AHEAD ahead of what arrived: a claimed length allocates nothing the byte
    // budget has not granted beyond that.
    const RESERVE_AHEAD: u64 = 64 * 1024;
    let start = Instant::now();
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    let mut total = 0u64;
    let mut rate_deadline = start + rules.grace;
    loop {
        let (deadline, late) = rules.next(start, rate_deadline);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(late),
            Ok(None) => break,
            Ok(Some(f)) => f.map_err(|_| ApiError::Malformed("request body could not be read"))?,
        };
        if let Ok(data) = frame.into_data() {
            rate_deadline = rules.credit(rate_deadline, Instant::now(), data.len());
            total += data.len() as u64;
            if total > limit {
                return Err(ApiError::TooLarge);
            }
            held.try_bytes(data.len())?;
            if first.is_none() && buf.is_empty() {
                first = Some(data);
                continue;
            }
            if let Some(f) = first.take() {
                let ahead = axum::body::HttpBody::size_hint(&body)
                    .lower()
                    .min(RESERVE_AHEAD);
                buf.reserve(f.len() + data.len() + ahead as usize);
                buf.extend_from_slice(&f);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(first.unwrap_or_else(|| buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        let r = BodyRules {
            timeout: Duration::from_secs(30),
            min_rate: 1000,
            grace: Duration::from_secs(5),
        };
        let t = Instant::now();
        let first = t + r.grace;
        let (d, e) = r.next(t, first);
        assert_eq!(d - t, Duration::from_secs(5), "no byte yet: the grace");
        assert!(matches!(e, ApiError::BodyTooSlow));
        // 3000 bytes at t+1 s earn 3 s
        let d1 = r.credit(first, t + Duration::from_secs(1), 3000);
        assert_eq!(d1 - t, Duration::from_secs(6), "capped at now + grace");
        let d2 = r.credit(first, t, 2000);
        assert_eq!(
            d2 - t,
            Duration::from_secs(5),
            "never more than the grace ahead"
        );
        // a steady sender at the rate keeps its deadline moving
        let mut d = first;
        for s in 1..=20 {
            d = r.credit(d, t + Duration::from_secs(s), 1000);
            assert!(d > t + Duration::from_secs(s));
        }
        // the whole-body timeout still applies
        let (d, e) = r.next(t, t + Duration::from_secs(40));
        assert_eq!(d - t, Duration::from_secs(30));
        assert!(matches!(e, ApiError::BodyTimeout));
        let off = BodyRules { min_rate: 0, ..r };
        assert_eq!(off.next(t, first).0 - t, Duration::from_secs(30));
    }
}
