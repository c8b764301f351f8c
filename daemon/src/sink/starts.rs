//! Durable idempotency records: start key → workflow id, in a compacted topic co-partitioned with
//! the events topic (`<topic>.starts`; a record about an event of partition `p` is written to
//! partition `p`).
//!
//! Why this is sound with several sink instances: every event that shares a start key shares a
//! partition of the events topic (ingress keys records by the resolved idempotency key, or by the
//! provider delivery id), a partition has one owner in the consumer group at a time and is
//! processed in key order, and an owner that takes a partition first reads back the newest records
//! of that partition of this topic (bounded: `dedup.rs`). The window between a Conductor start and its record is closed by starting
//! with a deterministic `correlationId` and, for events a previous owner may have touched, asking
//! Conductor for it before starting again.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What hookd remembers about a start key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartRecord {
    /// The workflow started for it.
    pub workflow_id: String,
    /// Bumped when `FAIL_ON_RUNNING` starts a new execution for a finished one.
    pub generation: u32,
    /// When it was written, epoch ms (the de-duplication window runs from here).
    #[serde(default)]
    pub at_ms: i64,
    /// The webhook it was written for (its records are tombstoned when it is deleted).
    #[serde(default)]
    pub webhook: String,
    /// `done/…` records: every workflow the event completed a wait of or started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workflow_ids: Vec<String>,
}

/// The deterministic correlation id of a start key and generation.
pub fn token(start_key: &str, generation: u32) -> String {
    let d = Sha256::digest(format!("{start_key}\u{0}{generation}").as_bytes());
    format!("hookd-{}", hex::encode(&d[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_deterministic_and_distinct() {
        assert_eq!(token("k", 0), token("k", 0));
        assert_ne!(token("k", 0), token("k", 1));
        assert_ne!(token("k", 0), token("k2", 0));
        assert!(token("k", 0).starts_with("hookd-") && token("k", 0).len() == 38);
    }
}
