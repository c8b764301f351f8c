//! The wait index: every waiting `WAIT_FOR_WEBHOOK` task, keyed as Orkes keys it, shared by all
//! sink instances through a compacted topic (`<topic>.waits`, key = task id, tombstone = gone).
//!
//! Any instance's poller may own a task in Conductor; every instance reads the topic, so every
//! instance can match every wait. Lookup per event costs one hash probe per distinct matcher
//! (reference name + sorted paths) of the receiving workflow versions — independent of the number
//! of waiting tasks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use hookd_payload::matching::{strip_loop_suffix, wait_key, Matcher};
use crate::kafka::tail;

/// One waiting task as shared in the waits topic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WaitRecord {
    /// Task id.
    pub task_id: String,
    /// Workflow id.
    pub workflow_id: String,
    /// Workflow name.
    pub workflow: String,
    /// Workflow version (looked up once per workflow: `Task` has none).
    pub version: i64,
    /// Reference name as scheduled (may carry `__N`).
    pub reference: String,
    /// Resolved `inputData.matches`.
    pub matches: Map<String, Value>,
    /// Drop the entry if not refreshed by then (epoch ms).
    pub expires_at_ms: i64,
    /// Instance whose poller wrote it.
    pub poller: String,
}

type Shape = (String, Vec<String>);
/// Matchers of one workflow version, by shape, with the number of tasks using each.
type Shapes = HashMap<Shape, (Arc<Matcher>, usize)>;

#[derive(Default)]
struct Inner {
    tasks: HashMap<String, (String, WaitRecord)>,
    by_key: HashMap<String, HashSet<String>>,
    /// (workflow, version) → shape → (matcher, number of tasks using it)
    matchers: HashMap<(String, i64), Shapes>,
}

/// The in-memory index every instance keeps.
#[derive(Default)]
pub struct WaitIndex {
    inner: RwLock<Inner>,
}

fn shape_of(r: &WaitRecord) -> Shape {
    let mut paths: Vec<String> = r.matches.keys().cloned().collect();
    paths.sort();
    (strip_loop_suffix(&r.reference).to_string(), paths)
}

impl WaitIndex {
    /// Adds or refreshes a waiting task. A task whose `matches` can never be met (empty, or a
    /// `null` value) is not indexed: it would otherwise match every event, or none (the poller
    /// fails such tasks; see `poller.rs`).
    pub fn upsert(&self, rec: WaitRecord) {
        let Some(key) = wait_key(&rec.workflow, rec.version, &rec.reference, &rec.matches) else {
            tracing::warn!(task = %rec.task_id, "not indexing a wait whose matches can never be met");
            return;
        };
        let mut g = self.inner.write().unwrap();
        if let Some((old_key, _)) = g.tasks.get(&rec.task_id) {
            if *old_key == key {
                let k = key.clone();
                g.tasks.insert(rec.task_id.clone(), (k, rec));
                return;
            }
        }
        Self::remove_locked(&mut g, &rec.task_id);
        let group = (rec.workflow.clone(), rec.version);
        let shape = shape_of(&rec);
        let entry = g
            .matchers
            .entry(group)
            .or_default()
            .entry(shape.clone())
            .or_insert_with(|| {
                (
                    Arc::new(Matcher::new(
                        &rec.workflow,
                        rec.version,
                        &shape.0,
                        shape.1.clone(),
                    )),
                    0,
                )
            });
        entry.1 += 1;
        g.by_key
            .entry(key.clone())
            .or_default()
            .insert(rec.task_id.clone());
        g.tasks.insert(rec.task_id.clone(), (key, rec));
        metrics::gauge!(crate::metrics::SINK_WAITS_INDEXED).set(g.tasks.len() as f64);
    }

    fn remove_locked(g: &mut Inner, task_id: &str) -> Option<WaitRecord> {
        let (key, rec) = g.tasks.remove(task_id)?;
        if let Some(set) = g.by_key.get_mut(&key) {
            set.remove(task_id);
            if set.is_empty() {
                g.by_key.remove(&key);
            }
        }
        let group = (rec.workflow.clone(), rec.version);
        if let Some(shapes) = g.matchers.get_mut(&group) {
            let shape = shape_of(&rec);
            if let Some(e) = shapes.get_mut(&shape) {
                e.1 -= 1;
                if e.1 == 0 {
                    shapes.remove(&shape);
                }
            }
            if shapes.is_empty() {
                g.matchers.remove(&group);
            }
        }
        metrics::gauge!(crate::metrics::SINK_WAITS_INDEXED).set(g.tasks.len() as f64);
        Some(rec)
    }

    /// Removes a task (completed, cancelled, expired).
    pub fn remove(&self, task_id: &str) -> Option<WaitRecord> {
        Self::remove_locked(&mut self.inner.write().unwrap(), task_id)
    }

    /// Every waiting task of the `receivers` workflow versions that `payload` matches.
    pub fn find(&self, receivers: &BTreeMap<String, i64>, payload: &Value) -> Vec<WaitRecord> {
        let g = self.inner.read().unwrap();
        let mut out = Vec::new();
        for (wf, ver) in receivers {
            let Some(shapes) = g.matchers.get(&(wf.clone(), *ver)) else {
                continue;
            };
            for (m, _) in shapes.values() {
                let Some(key) = m.key_for(payload) else {
                    continue;
                };
                if let Some(ids) = g.by_key.get(&key) {
                    out.extend(
                        ids.iter()
                            .filter_map(|id| g.tasks.get(id))
                            .map(|(_, r)| r.clone()),
                    );
                }
            }
        }
        out.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        out
    }

    /// The wait keys `payload` has for the `receivers` workflow versions (whether or not a task
    /// waits on them now): events sharing one are applied in order (`schedule.rs`).
    pub fn match_keys(&self, receivers: &BTreeMap<String, i64>, payload: &Value) -> Vec<String> {
        let g = self.inner.read().unwrap();
        let mut out = Vec::new();
        for (wf, ver) in receivers {
            if let Some(shapes) = g.matchers.get(&(wf.clone(), *ver)) {
                out.extend(shapes.values().filter_map(|(m, _)| m.key_for(payload)));
            }
        }
        out
    }

    /// Drops entries not refreshed in time; returns them.
    pub fn prune(&self, now_ms: i64) -> Vec<WaitRecord> {
        let mut g = self.inner.write().unwrap();
        let expired: Vec<String> = g
            .tasks
            .values()
            .filter(|(_, r)| r.expires_at_ms < now_ms)
            .map(|(_, r)| r.task_id.clone())
            .collect();
        expired
            .iter()
            .filter_map(|id| Self::remove_locked(&mut g, id))
            .collect()
    }

    /// Number of waiting tasks indexed.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.read().unwrap().tasks.len()
    }

    /// Whether the index is empty.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl tail::Apply for WaitIndex {
    fn apply(&self, key: &str, value: Option<&[u8]>) {
        match value {
            None => {
                self.remove(key);
            }
            Some(v) => match serde_json::from_slice::<WaitRecord>(v) {
                Ok(rec) if rec.task_id == key => self.upsert(rec),
                Ok(_) => tracing::warn!(key, "wait record key does not match its task id"),
                Err(e) => tracing::warn!(key, error = %e, "skipping unreadable wait record"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(task: &str, wf: &str, v: i64, r: &str, m: Value) -> WaitRecord {
        WaitRecord {
            task_id: task.into(),
            workflow_id: format!("wf-{task}"),
            workflow: wf.into(),
            version: v,
            reference: r.into(),
            matches: m.as_object().unwrap().clone(),
            expires_at_ms: 1000,
            poller: "p".into(),
        }
    }

    #[test]
    fn fan_out_versions_and_removal() {
        let idx = WaitIndex::default();
        let m = json!({"$.event.type": "message", "$.event.user": "U1"});
        idx.upsert(rec("t1", "wf", 1, "wait", m.clone()));
        idx.upsert(rec("t2", "wf", 1, "wait__2", m.clone()));
        idx.upsert(rec("t3", "wf", 2, "wait", m.clone()));
        idx.upsert(rec(
            "t4",
            "wf",
            1,
            "wait",
            json!({"$.event.type": "message", "$.event.user": "U2"}),
        ));
        let receivers = BTreeMap::from([("wf".to_string(), 1)]);
        let ev = json!({"event": {"type": "message", "user": "U1"}});
        let hits: Vec<String> = idx
            .find(&receivers, &ev)
            .into_iter()
            .map(|r| r.task_id)
            .collect();
        assert_eq!(
            hits,
            vec!["t1", "t2"],
            "fan-out within the version, loop suffix ignored"
        );
        assert!(idx
            .find(
                &receivers,
                &json!({"event": {"type": "other", "user": "U1"}})
            )
            .is_empty());
        idx.remove("t1");
        idx.remove("t2");
        assert!(idx.find(&receivers, &ev).is_empty());
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.prune(2000).len(), 2);
        assert!(idx.is_empty());
        assert!(idx.inner.read().unwrap().matchers.is_empty());
    }

    #[test]
    fn a_wait_without_matches_is_not_indexed_and_matches_nothing() {
        let idx = WaitIndex::default();
        idx.upsert(rec("t1", "wf", 1, "wait", json!({})));
        idx.upsert(rec("t2", "wf", 1, "wait", json!({"$.a": null})));
        assert!(idx.is_empty());
        let receivers = BTreeMap::from([("wf".to_string(), 1)]);
        assert!(idx.find(&receivers, &json!({"a": 1})).is_empty());
    }

    #[test]
    fn a_wait_on_a_number_matches_its_query_string_form() {
        let idx = WaitIndex::default();
        idx.upsert(rec("t1", "wf", 1, "wait", json!({"$.qid": 42})));
        idx.upsert(rec("t2", "wf", 1, "wait", json!({"$.qid": 42.0})));
        let receivers = BTreeMap::from([("wf".to_string(), 1)]);
        let payload = Value::Object(hookd_payload::build(b"", Some("qid=42")));
        let hits: Vec<String> = idx
            .find(&receivers, &payload)
            .into_iter()
            .map(|r| r.task_id)
            .collect();
        assert_eq!(hits, vec!["t1"], "42 = \"42\", 42.0 = \"42.0\"");
    }
}
