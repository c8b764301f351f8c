//! Execution history per webhook (spec §5): newest first, `sink.history_size` entries, shared by
//! every instance through `<topic>.history` (key = webhook id) that each instance tails.
//!
//! Entries hold the event id, whether a wait matched, the started and completed workflow ids, the
//! payload (body + query, never request headers, so never signatures or `Authorization`) and the
//! receive time. Payloads larger than `sink.history_max_payload_bytes` are replaced by a note.

use std::collections::{HashMap, VecDeque};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kafka::tail;

/// One history entry (Orkes field names).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// hookd event id.
    pub event_id: String,
    /// At least one waiting task was completed.
    pub matched: bool,
    /// Completed-task workflows and started (or existing, for `RETURN_EXISTING`) workflows.
    pub workflow_ids: Vec<String>,
    /// The payload of spec §4.
    pub payload: Value,
    /// Receive time, epoch ms.
    pub time_stamp: i64,
    /// hookd: actions were only logged (no Conductor configured).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// hookd: the event went to the dead-letter topic, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<String>,
}

/// The shared record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// Webhook id.
    pub webhook_id: String,
    /// Entry.
    pub entry: HistoryEntry,
}

/// Per-webhook rings.
pub struct History {
    size: usize,
    inner: RwLock<HashMap<String, VecDeque<HistoryEntry>>>,
}

impl History {
    /// Keeps `size` entries per webhook.
    pub fn new(size: usize) -> Self {
        Self {
            size,
            inner: RwLock::new(HashMap::new()),
        }
    }

    /// Adds (or replaces, for a redelivered event) an entry.
    pub fn insert(&self, webhook: &str, entry: HistoryEntry) {
        if self.size == 0 {
            return;
        }
        let mut g = self.inner.write().unwrap();
        let ring = g.entry(webhook.to_string()).or_default();
        ring.retain(|e| e.event_id != entry.event_id);
        let pos = ring
            .iter()
            .position(|e| (e.time_stamp, &e.event_id) < (entry.time_stamp, &entry.event_id))
            .unwrap_or(ring.len());
        ring.insert(pos, entry);
        ring.truncate(self.size);
    }

    /// Newest first, as JSON values for the admin API.
    pub fn get(&self, webhook: &str) -> Vec<Value> {
        self.inner
            .read()
            .unwrap()
            .get(webhook)
            .map(|r| {
                r.iter()
                    .filter_map(|e| serde_json::to_value(e).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets a deleted webhook.
    pub fn forget(&self, webhook: &str) {
        self.inner.write().unwrap().remove(webhook);
    }
}

impl tail::Apply for History {
    fn apply(&self, _key: &str, value: Option<&[u8]>) {
        if let Some(v) = value {
            match serde_json::from_slice::<HistoryRecord>(v) {
                Ok(r) => self.insert(&r.webhook_id, r.entry),
                Err(e) => tracing::warn!(error = %e, "skipping unreadable history record"),
            }
        }
    }
}

/// Caps a payload for history.
pub fn cap_payload(payload: Value, max: usize) -> Value {
    let size = serde_json::to_vec(&payload).map(|v| v.len()).unwrap_or(0);
    if size > max {
        serde_json::json!({ "_hookdTruncated": true, "_hookdPayloadBytes": size })
    } else {
        payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: &str, ts: i64) -> HistoryEntry {
        HistoryEntry {
            event_id: id.into(),
            matched: false,
            workflow_ids: vec![],
            payload: Value::Null,
            time_stamp: ts,
            dry_run: false,
            dead_letter: None,
        }
    }

    #[test]
    fn newest_first_bounded_deduplicated() {
        let h = History::new(3);
        for (id, ts) in [("a", 1), ("c", 3), ("b", 2), ("d", 4), ("c", 3)] {
            h.insert("w", e(id, ts));
        }
        let ids: Vec<String> = h
            .get("w")
            .iter()
            .map(|v| v["eventId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, vec!["d", "c", "b"]);
    }
}
