//! Admission control for provider requests: a bounded in-flight budget of events and body
//! bytes, taken before a request's body is read and held until its event is acknowledged by
//! Kafka (or refused). When it is exhausted the request is answered `503 overloaded` at once,
//! with the configured `Retry-After` (`kafka.retry_after_secs`) — backpressure answers, it never
//! queues.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Bounded in-flight budget: one permit per event and one per body byte.
#[derive(Clone)]
pub struct Budget {
    events: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    retry_after: u64,
}

/// Permits held by one request until its event is acknowledged (or refused).
pub struct Held {
    _event: OwnedSemaphorePermit,
    bytes: Option<OwnedSemaphorePermit>,
    budget: Budget,
}

impl Budget {
    /// A budget of `events` concurrent events and `bytes` body bytes; refusals carry
    /// `Retry-After: retry_after`.
    pub fn new(events: usize, bytes: usize, retry_after: u64) -> Self {
        Self {
            events: Arc::new(Semaphore::new(events)),
            bytes: Arc::new(Semaphore::new(bytes)),
            retry_after,
        }
    }

    fn overloaded(&self) -> ApiError {
        ApiError::Unavailable {
            reason: "overloaded",
            retry_after: self.retry_after,
        }
    }

    /// Takes one event slot, or fails at once.
    pub fn try_event(&self) -> Result<Held, ApiError> {
        let p = self
            .events
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.overloaded())?;
        Ok(Held {
            _event: p,
            bytes: None,
            budget: self.clone(),
        })
    }
}

impl Held {
    /// Accounts `n` more body bytes, or fails at once when the byte budget is exhausted.
    pub fn try_bytes(&mut self, n: usize) -> Result<(), ApiError> {
        if n == 0 {
            return Ok(());
        }
        let b = &self.budget;
        let n = u32::try_from(n).map_err(|_| b.overloaded())?;
        let p = b
            .bytes
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| b.overloaded())?;
        match &mut self.bytes {
            Some(held) => held.merge(p),
            None => self.bytes = Some(p),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_the_configured_retry_after() {
        let b = Budget::new(1, 10, 7);
        let mut held = b.try_event().unwrap();
        let e = b.try_event().err().expect("one event slot");
        assert!(matches!(
            e,
            ApiError::Unavailable {
                reason: "overloaded",
                retry_after: 7
            }
        ));
        held.try_bytes(10).unwrap();
        let e = held.try_bytes(1).unwrap_err();
        assert!(
            matches!(e, ApiError::Unavailable { retry_after: 7, .. }),
            "{e:?}"
        );
        drop(held);
        assert!(
            b.try_event().is_ok(),
            "permits return when the request ends"
        );
    }
}
