//! Durable idempotency records: start key → workflow id, in a compacted topic co-partitioned with
//! the events topic (`<topic>.starts`; a record about an event of partition `p` is written to
//! partition `p`).
//!
//! Why this is sound with several sink instances: every event that shares a start key shares a
//! partition of the events topic (ingress keys records by the resolved idempotency key, or by the
//! provider delivery id), a partition has one owner in the consumer group at a time and is
//! processed in order, and an owner that takes a partition first reads that partition of this
//! topic to its end. The window between a Conductor start and its record is closed by starting
//! with a deterministic `correlationId` and, for events a previous owner may have touched, asking
//! Conductor for it before starting again.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
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
}

/// The deterministic correlation id of a start key and generation.
pub fn token(start_key: &str, generation: u32) -> String {
    let d = Sha256::digest(format!("{start_key}\u{0}{generation}").as_bytes());
    format!("hookd-{}", hex::encode(&d[..16]))
}

/// Reads partition `p` of the starts topic to its current end (blocking; call off the runtime).
pub fn load_partition(
    consumer: &BaseConsumer,
    topic: &str,
    p: i32,
) -> Result<HashMap<String, StartRecord>, String> {
    let (low, high) = consumer
        .fetch_watermarks(topic, p, Duration::from_secs(10))
        .map_err(|e| format!("{topic}[{p}] watermarks: {e}"))?;
    let mut out = HashMap::new();
    if high <= low {
        return Ok(out);
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, p, Offset::Offset(low))
        .map_err(|e| e.to_string())?;
    consumer.assign(&tpl).map_err(|e| e.to_string())?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut next = low;
    while next < high {
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "{topic}[{p}]: timed out loading idempotency records"
            ));
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                next = m.offset() + 1;
                let Some(Ok(key)) = m.key_view::<str>() else {
                    continue;
                };
                match m.payload() {
                    None => {
                        out.remove(key);
                    }
                    Some(v) => {
                        if let Ok(r) = serde_json::from_slice::<StartRecord>(v) {
                            out.insert(key.to_string(), r);
                        }
                    }
                }
            }
            Some(Err(e)) => tracing::debug!(error = %e, "loading idempotency records"),
            None => {}
        }
    }
    let _ = consumer.unassign();
    Ok(out)
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
