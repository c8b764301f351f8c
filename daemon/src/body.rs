//! Reading a provider request's body: each chunk charged to the admission budget as it
//! arrives, cut off over the size limit (413), after `body_read_timeout_ms` in all (408
//! `body_timeout`), or as soon as it falls behind the minimum rate (408 `body_too_slow`): once
//! `min_body_rate_grace_ms` has passed, the bytes received must keep up with
//! `min_body_rate_bytes_per_sec`, so unverified bytes are held no longer than the body actually
//! streams.

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

    /// When a body that started at `start` and has `received` bytes so far falls behind.
    fn deadline(&self, start: Instant, received: u64) -> (Instant, ApiError) {
        let total = start + self.timeout;
        if self.min_rate == 0 {
            return (total, ApiError::BodyTimeout);
        }
        let earned = Duration::from_secs_f64(received as f64 / self.min_rate as f64);
        let slow = start + self.grace + earned;
        if slow < total {
            (slow, ApiError::BodyTooSlow)
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
    loop {
        let (deadline, late) = rules.deadline(start, total);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(late),
            Ok(None) => break,
            Ok(Some(f)) => f.map_err(|_| ApiError::Malformed("request body could not be read"))?,
        };
        if let Ok(data) = frame.into_data() {
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
        let (d, e) = r.deadline(t, 0);
        assert_eq!(d - t, Duration::from_secs(5));
        assert!(matches!(e, ApiError::BodyTooSlow));
        let (d, _) = r.deadline(t, 3000);
        assert_eq!(d - t, Duration::from_secs(8), "each byte earns time");
        let (d, e) = r.deadline(t, 1_000_000);
        assert_eq!(
            d - t,
            Duration::from_secs(30),
            "never past the whole-body timeout"
        );
        assert!(matches!(e, ApiError::BodyTimeout));
        let off = BodyRules { min_rate: 0, ..r };
        assert_eq!(off.deadline(t, 0).0 - t, Duration::from_secs(30));
    }
}
