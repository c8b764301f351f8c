//! An event's payload and what is computed from it: built from the raw body and query string
//! (simd-json), the `idempotencyKey` template ([`template`]), and the canonical values and keys
//! that match events to waiting tasks ([`matching`]). Pure functions, no I/O: ingress, the sink,
//! the benches and `fuzz/` share them.
//!
//! The payload:
//! The body parsed as JSON; a JSON body that is not an object becomes `{"request": <value>}`; a
//! non-JSON body becomes `{}`; then query parameters are merged on top at the top level (they
//! win over body keys; a repeated parameter keeps its first value, as Spring's `@RequestParam Map`
//! does for Orkes). Query values are strings: they match waits by string form
//! ([`matching::string_form`]), so `?qid=42` meets a wait on the number `42`.

pub mod matching;
pub mod parsed;
pub mod template;

pub use parsed::{with_parsed, Parsed};

use serde_json::{Map, Value};

/// The payload that matching, workflow input and task output use.
pub type Payload = Map<String, Value>;

/// Builds the payload from the raw body and query string (see the crate docs): one simd-json
/// parse ([`with_parsed`]), the map built from its tape.
pub fn build(body: &[u8], query: Option<&str>) -> Payload {
    with_parsed(body, query, |p| p.payload())
}

/// The `idempotencyKey` template resolved against the payload of `body` and `query` (the same
/// key as [`template::resolve`] over [`build`]'s payload), looked up on the body's tape without
/// building the payload.
pub fn idempotency_key(template: &str, body: &[u8], query: Option<&str>) -> String {
    with_parsed(body, query, |p| p.idempotency_key(template))
}

/// Merges query parameters on top (the first of a repeated parameter wins).
fn merge_query(map: &mut Payload, query: Option<&str>) {
    let Some(q) = query else { return };
    let mut seen = std::collections::HashSet::new();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if seen.insert(k.clone()) {
            map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
}

/// The same payload built with serde_json only (the benchmark baseline for simd-json).
pub fn build_with_serde_json(body: &[u8], query: Option<&str>) -> Payload {
    let mut map = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            let mut m = Map::new();
            m.insert("request".into(), other);
            m
        }
        Err(_) => Map::new(),
    };
    merge_query(&mut map, query);
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn object_body() {
        let p = build(br#"{"a":1,"b":{"c":"x"}}"#, None);
        assert_eq!(Value::Object(p), json!({"a":1,"b":{"c":"x"}}));
    }

    #[test]
    fn non_object_json_is_wrapped() {
        let p = build(b"[1,2]", None);
        assert_eq!(Value::Object(p), json!({"request":[1,2]}));
        let p = build(b"\"hi\"", None);
        assert_eq!(Value::Object(p), json!({"request":"hi"}));
    }

    #[test]
    fn non_json_is_empty() {
        for b in [&b"token=x&a=b"[..], b"", b"  ", b"{broken", b"\xff\xfe"] {
            assert!(build(b, None).is_empty());
        }
    }

    #[test]
    fn big_numbers_are_json() {
        // found by fuzz/payload: integers beyond u64
        let p = build(b"1000000000000000000000000", None);
        assert_eq!(p["request"].as_f64(), Some(1e24));
    }

    #[test]
    fn query_wins_over_body() {
        let p = build(br#"{"a":1,"b":2}"#, Some("a=q&c=%20x&c=last&d=x+y"));
        assert_eq!(Value::Object(p), json!({"a":"q","b":2,"c":" x","d":"x y"}));
    }

    #[test]
    fn numbers_keep_their_java_string_form() {
        use matching::string_form;
        let p = build(br#"{"i":5,"f":5.0,"e":1e2}"#, Some("q=42"));
        let form = |k: &str| string_form(&p[k]).unwrap();
        assert_eq!(
            (form("i"), form("f"), form("e")),
            ("5".into(), "5.0".into(), "100.0".into())
        );
        assert_eq!(form("q"), string_form(&json!(42)).unwrap());
    }

    proptest! {
        #[test]
        fn simd_json_agrees_with_serde_json(v in arb_json(), q in "[a-c=&]{0,8}") {
            let body = serde_json::to_vec(&v).unwrap();
            let q = Some(q.as_str());
            prop_assert_eq!(build(&body, q), build_with_serde_json(&body, q));
        }

        #[test]
        fn never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = build(&b, None);
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-zé☃ ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-d]{1,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
