//! Matching events to waiting tasks: the Orkes wait-index key, canonical JSON values and JSONPath
//! lookups.
//!
//! Key: `[workflowName, version, referenceName without "__N", v1, v2, …]` serialized as a JSON
//! array, where `v1…` are the canonical forms of the match values in the order of the sorted
//! JSONPath keys. A JSON array is unambiguous where Orkes' `;`-joined string is not (values may
//! contain `;`).
//!
//! Canonical values (hookd, unlike Orkes' Java `toString()`): strings compare by content, numbers
//! by value in RFC 8785 (JCS) form — so `1`, `1.0` and `1e0` are equal — and `true`, `false`,
//! `null` as themselves; a string `"1"` never equals the number `1`. Objects and arrays compare as
//! canonical JSON (sorted keys).

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

/// Canonical text of a JSON value (see the module docs).
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Number(n) => canonical_number(n),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

fn canonical_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        return (f as i64).to_string();
    }
    // serde_json prints the shortest round-trip form (ryu), which is JCS for these values.
    serde_json::Number::from_f64(f)
        .map(|n| n.to_string())
        .unwrap_or_else(|| "null".into())
}

/// A reference name without Conductor's loop suffix (`wait_ref__3` → `wait_ref`).
pub fn strip_loop_suffix(r: &str) -> &str {
    if let Some(i) = r.rfind("__") {
        let suffix = &r[i + 2..];
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return &r[..i];
        }
    }
    r
}

/// The index key for a workflow/version/reference and canonical values.
pub fn index_key(workflow: &str, version: i64, reference: &str, values: &[String]) -> String {
    let mut parts: Vec<Value> = Vec::with_capacity(3 + values.len());
    parts.push(Value::String(workflow.into()));
    parts.push(Value::from(version));
    parts.push(Value::String(strip_loop_suffix(reference).into()));
    parts.extend(values.iter().map(|v| Value::String(v.clone())));
    Value::Array(parts).to_string()
}

/// A matcher: one wait shape (`reference` + sorted JSONPath keys) of one workflow version.
#[derive(Debug)]
pub struct Matcher {
    /// Workflow name.
    pub workflow: String,
    /// Workflow version.
    pub version: i64,
    /// Reference name without loop suffix.
    pub reference: String,
    /// Sorted JSONPath expressions.
    pub paths: Vec<String>,
    compiled: Vec<Option<JsonPath>>,
}

impl Matcher {
    /// Builds a matcher; paths are sorted here.
    pub fn new(workflow: &str, version: i64, reference: &str, mut paths: Vec<String>) -> Self {
        paths.sort();
        let compiled = paths.iter().map(|p| JsonPath::parse(p).ok()).collect();
        Self {
            workflow: workflow.into(),
            version,
            reference: strip_loop_suffix(reference).into(),
            paths,
            compiled,
        }
    }

    /// Identity of the shape (for de-duplicating matchers).
    pub fn shape(&self) -> (String, Vec<String>) {
        (self.reference.clone(), self.paths.clone())
    }

    /// The key an event payload produces for this matcher, or `None` when a path is missing
    /// (then the matcher does not apply). A path yielding several values uses the first.
    pub fn key_for(&self, payload: &Value) -> Option<String> {
        let mut values = Vec::with_capacity(self.paths.len());
        for c in &self.compiled {
            let v = c.as_ref()?.query(payload).first()?;
            values.push(canonical(v));
        }
        Some(index_key(
            &self.workflow,
            self.version,
            &self.reference,
            &values,
        ))
    }
}

/// The key of a waiting task from its resolved `matches` (path → value).
pub fn wait_key(
    workflow: &str,
    version: i64,
    reference: &str,
    matches: &Map<String, Value>,
) -> String {
    let mut paths: Vec<&String> = matches.keys().collect();
    paths.sort();
    let values: Vec<String> = paths.iter().map(|p| canonical(&matches[*p])).collect();
    index_key(workflow, version, reference, &values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn canonical_numbers_and_scalars() {
        assert_eq!(canonical(&json!(1)), canonical(&json!(1.0)));
        assert_eq!(
            canonical(&serde_json::from_str::<Value>("1e0").unwrap()),
            "1"
        );
        assert_ne!(canonical(&json!("1")), canonical(&json!(1)));
        assert_eq!(canonical(&json!(true)), "true");
        assert_eq!(canonical(&json!(null)), "null");
        assert_eq!(canonical(&json!(1.5)), "1.5");
        assert_eq!(
            canonical(&json!({"b":1,"a":[1.0,"x"]})),
            r#"{"a":[1,"x"],"b":1}"#
        );
    }

    #[test]
    fn canonical_floats_round_trip() {
        // found by fuzz/matching: needs serde_json's correctly rounded float parsing
        let v: Value = serde_json::from_str("9.555555555555556e42").unwrap();
        let c = canonical(&v);
        assert_eq!(canonical(&serde_json::from_str::<Value>(&c).unwrap()), c);
        // simd-json (event payloads) and serde_json (task inputs) agree on the value
        let mut b = b"{\"x\":9.555555555555556e42}".to_vec();
        let p: Value = simd_json::serde::from_slice(&mut b).unwrap();
        assert_eq!(canonical(&p["x"]), c);
    }

    #[test]
    fn loop_suffix() {
        assert_eq!(strip_loop_suffix("wait_ref__12"), "wait_ref");
        assert_eq!(strip_loop_suffix("wait__ref"), "wait__ref");
        assert_eq!(strip_loop_suffix("wait_ref__"), "wait_ref__");
        assert_eq!(strip_loop_suffix("plain"), "plain");
    }

    #[test]
    fn event_key_equals_wait_key() {
        let matches = json!({"$['event']['type']": "message", "$.event.user": 7.0});
        let wk = wait_key("wf", 2, "wait_ref__3", matches.as_object().unwrap());
        let m = Matcher::new(
            "wf",
            2,
            "wait_ref",
            vec!["$['event']['type']".into(), "$.event.user".into()],
        );
        let payload = json!({"event": {"type": "message", "user": 7, "x": 1}});
        assert_eq!(m.key_for(&payload).unwrap(), wk);
        assert!(m.key_for(&json!({"event": {"type": "message"}})).is_none());
        assert_ne!(
            m.key_for(&json!({"event": {"type": "message", "user": "7"}}))
                .unwrap(),
            wk
        );
    }

    proptest! {
        #[test]
        fn key_is_injective_over_values(a in "[a-z;\\[\\]\",]{0,6}", b in "[a-z;\\[\\]\",]{0,6}") {
            let ka = index_key("w", 1, "r", &[canonical(&json!(a))]);
            let kb = index_key("w", 1, "r", &[canonical(&json!(b))]);
            prop_assert_eq!(ka == kb, a == b);
        }

        #[test]
        fn integral_floats_equal_integers(i in -1_000_000i64..1_000_000) {
            prop_assert_eq!(canonical(&json!(i)), canonical(&json!(i as f64)));
        }
    }
}
