//! Execution history per webhook (`docs/sink.md`): newest first, `sink.history_size` entries,
//! shared by every instance through `<topic>.history` (key = webhook id) that each instance tails.
//!
//! Entries hold the event id, whether a wait matched, the started and completed workflow ids, the
//! payload (body + query, never request headers, so never signatures or `Authorization`) and the
//! receive time. As in Orkes' `WebhookExecutionHistory`, `payload` is a *string*: the payload's
//! JSON text. Payloads larger than `sink.history_max_payload_bytes` are replaced by a note.
//!
//! Each entry carries the generation of the webhook definition it was recorded for (the
//! revision of its create): a webhook deleted and created again under the same id starts with
//! an empty history on every instance, and entries of the old generation that are still in the
//! topic (replayed at start, or late) never come back. A delete forgets the webhook's entries,
//! and the sink writes a deletion marker to the topic so that a later replay (an instance
//! starting within the topic's retention) forgets them too.

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
    /// The event payload (`hookd_payload::build`) as JSON text (Orkes: `String payload`).
    /// Records written before it was a string (a JSON value) are read as that value's text.
    #[serde(deserialize_with = "payload_text")]
    pub payload: String,
    /// Receive time, epoch ms.
    pub time_stamp: i64,
    /// hookd: actions were only logged (no Conductor configured).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// hookd: the event went to the dead-letter topic, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<String>,
}

/// Reads `payload` as a string, or any other JSON value as its JSON text.
fn payload_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// The shared record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// Webhook id.
    pub webhook_id: String,
    /// Generation of the webhook definition (see the module docs).
    #[serde(default)]
    pub generation: u64,
    /// Entry (absent in a deletion marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<HistoryEntry>,
    /// A deletion marker: the webhook was deleted; every instance (and every later replay of
    /// the topic) forgets its entries of this generation and older.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// Per-webhook rings, each with the generation it belongs to.
pub struct History {
    size: usize,
    inner: RwLock<HashMap<String, (u64, VecDeque<HistoryEntry>)>>,
}

impl History {
    /// Keeps `size` entries per webhook.
    pub fn new(size: usize) -> Self {
        Self {
            size,
            inner: RwLock::new(HashMap::new()),
        }
    }

    /// Adds (or replaces, for a redelivered event) an entry of `generation`; a newer generation
    /// replaces the ring, an older one is ignored.
    pub fn insert(&self, webhook: &str, generation: u64, entry: HistoryEntry) {
        if self.size == 0 {
            return;
        }
        let mut g = self.inner.write().unwrap();
        let (gen, ring) = g.entry(webhook.to_string()).or_default();
        if generation < *gen {
            return;
        }
        if generation > *gen {
            *gen = generation;
            ring.clear();
        }
        ring.retain(|e| e.event_id != entry.event_id);
        let pos = ring
            .iter()
            .position(|e| (e.time_stamp, &e.event_id) < (entry.time_stamp, &entry.event_id))
            .unwrap_or(ring.len());
        ring.insert(pos, entry);
        ring.truncate(self.size);
    }

    /// Newest first, as JSON values for the admin API: the entries of `generation` only.
    pub fn get(&self, webhook: &str, generation: u64) -> Vec<Value> {
        self.inner
            .read()
            .unwrap()
            .get(webhook)
            .filter(|(gen, _)| *gen == generation)
            .map(|(_, r)| {
                r.iter()
                    .filter_map(|e| serde_json::to_value(e).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets a deleted webhook; returns the generation its entries had (0: none held).
    pub fn forget(&self, webhook: &str) -> u64 {
        self.inner
            .write()
            .unwrap()
            .remove(webhook)
            .map_or(0, |(gen, _)| gen)
    }

    /// Forgets a webhook's entries of `generation` and older (a deletion marker).
    fn forget_through(&self, webhook: &str, generation: u64) {
        let mut g = self.inner.write().unwrap();
        if g.get(webhook).is_some_and(|(gen, _)| *gen <= generation) {
            g.remove(webhook);
        }
    }

    /// Webhooks with entries held (each holds at most `history_size`).
    #[cfg(test)]
    fn webhooks(&self) -> usize {
        self.inner.read().unwrap().len()
    }
}

impl tail::Apply for History {
    fn apply(&self, _key: &str, value: Option<&[u8]>) {
        if let Some(v) = value {
            match serde_json::from_slice::<HistoryRecord>(v) {
                Ok(r) if r.deleted => self.forget_through(&r.webhook_id, r.generation),
                Ok(HistoryRecord {
                    webhook_id,
                    generation,
                    entry: Some(entry),
                    ..
                }) => self.insert(&webhook_id, generation, entry),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "skipping unreadable history record"),
            }
        }
    }
}

/// A payload's JSON text for history, replaced by a size note when over `max` bytes.
pub fn cap_payload(payload: &Value, max: usize) -> String {
    let text = payload.to_string();
    if text.len() > max {
        serde_json::json!({ "_hookdTruncated": true, "_hookdPayloadBytes": text.len() })
            .to_string()
    } else {
        text
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
            payload: "{}".into(),
            time_stamp: ts,
            dry_run: false,
            dead_letter: None,
        }
    }

    #[test]
    fn newest_first_bounded_deduplicated() {
        let h = History::new(3);
        for (id, ts) in [("a", 1), ("c", 3), ("b", 2), ("d", 4), ("c", 3)] {
            h.insert("w", 5, e(id, ts));
        }
        let ids = |gen| -> Vec<String> {
            h.get("w", gen)
                .iter()
                .map(|v| v["eventId"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ids(5), vec!["d", "c", "b"]);
        assert!(ids(4).is_empty(), "another generation sees nothing");
    }

    #[test]
    fn a_new_generation_starts_empty_and_old_entries_stay_out() {
        let h = History::new(3);
        h.insert("w", 1, e("old", 1));
        h.insert("w", 2, e("new", 2));
        h.insert("w", 1, e("late-old", 3));
        let got = h.get("w", 2);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["eventId"], "new");
        h.forget("w");
        assert!(h.get("w", 2).is_empty());
    }

    #[test]
    fn a_deletion_marker_forgets_on_replay() {
        use tail::Apply;
        let h = History::new(3);
        let rec = |gen: u64, entry: Option<HistoryEntry>, deleted: bool| {
            serde_json::to_vec(&HistoryRecord {
                webhook_id: "w".into(),
                generation: gen,
                entry,
                deleted,
            })
            .unwrap()
        };
        h.apply("w", Some(&rec(1, Some(e("a", 1)), false)));
        assert_eq!(h.webhooks(), 1);
        h.apply("w", Some(&rec(1, None, true)));
        assert_eq!(h.webhooks(), 0, "the marker releases the webhook's entries");
        assert!(h.get("w", 1).is_empty());
        h.apply("w", Some(&rec(2, Some(e("b", 2)), false)));
        h.apply("w", Some(&rec(1, None, true)));
        assert_eq!(h.get("w", 2).len(), 1, "an older marker spares a newer generation");
    }

    #[test]
    fn payload_is_a_json_string_and_old_records_still_read() {
        let p = serde_json::json!({"a": 1, "q": "x"});
        let mut entry = e("a", 1);
        entry.payload = cap_payload(&p, 1000);
        let v = serde_json::to_value(&entry).unwrap();
        assert_eq!(v["payload"], serde_json::json!(r#"{"a":1,"q":"x"}"#));
        let old = serde_json::json!({"eventId": "x", "matched": false, "workflowIds": [],
            "payload": {"a": 1}, "timeStamp": 5});
        let back: HistoryEntry = serde_json::from_value(old).unwrap();
        assert_eq!(back.payload, r#"{"a":1}"#);
        let capped = cap_payload(&p, 5);
        assert!(capped.contains("_hookdTruncated"), "{capped}");
    }
}
