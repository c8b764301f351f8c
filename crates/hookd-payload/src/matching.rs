//! Matching events to waiting tasks: the Orkes wait-index key, the string form values are
//! compared in, and JSONPath lookups.
//!
//! Key: `[workflowName, version, referenceName without "__N", v1, v2, …]` serialized as a JSON
//! array, where `v1…` are the [`string_form`]s of the match values in the order of the sorted
//! JSONPath keys. A JSON array is unambiguous where Orkes' `;`-joined string is not (values may
//! contain `;`).
//!
//! Values compare as Orkes compares them: by their Java `toString()` form, the text Orkes builds
//! its hash key from (see [`string_form`]). So the number `42`, the string `"42"` and the query
//! parameter `?qid=42` are equal, `5` and `5.0` are not, and `true` equals `"true"`.
//!
//! [`canonical`] (canonical JSON, numbers by value) is what `idempotencyKey` templates render
//! non-string values with; matching does not use it.

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

/// The text a value is compared in when matching, as Orkes compares it: Java's `toString()` of
/// the value as Jackson reads it (`None` for JSON `null`, which never matches).
///
/// | JSON value | string form |
/// |---|---|
/// | string `"42"` | `42` (the content, case and spaces kept) |
/// | integer `42`, `-7`, `18446744073709551615` | `42`, `-7`, `18446744073709551615` |
/// | number with a fraction or exponent `5.0`, `1.5`, `1e2`, `1e7`, `0.0001` | `5.0`, `1.5`, `100.0`, `1.0E7`, `1.0E-4` (Java's `Double.toString`) |
/// | `true`, `false` | `true`, `false` |
/// | array `[1, "a", true]` | `[1, a, true]` (Java's `List.toString`) |
/// | object `{"b": 1, "a": "x"}` | `{a=x, b=1}` (Java's `Map.toString`; keys sorted here) |
/// | `null` | none: never matches |
pub fn string_form(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => {
            let mut out = String::new();
            write_java(other, &mut out);
            Some(out)
        }
    }
}

fn write_java(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Number(n) => out.push_str(&java_number(n)),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_java(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                write_java(x, out);
            }
            out.push('}');
        }
    }
}

/// A JSON number as Java prints what Jackson reads: integers (`int`, `long`, `BigInteger`) as
/// their digits, anything with a fraction or an exponent as a `double` (`Double.toString`).
fn java_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    java_double(n.as_f64().unwrap_or(f64::NAN))
}

/// Java's `Double.toString` (JDK 19+: the shortest digits that read back as the same double):
/// `d.ddd` for 10^-3 <= |x| < 10^7, otherwise `d.dddE<n>`; always a digit after the point.
pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-5", "5e0".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    let abs = x.abs();
    if (1e-3..1e7).contains(&abs) {
        // plain notation: the point sits after digit number exp+1
        let point = exp + 1;
        let (int, frac) = if point <= 0 {
            ("0".to_string(), "0".repeat((-point) as usize) + &digits)
        } else if point as usize >= digits.len() {
            (
                digits.clone() + &"0".repeat(point as usize - digits.len()),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Why a waiting task's `matches` can never be completed by an event (hookd fails such a task
/// instead of indexing it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadMatches {
    /// `inputData.matches` is absent or not a JSON object.
    Missing,
    /// `matches` is an empty object: it would match every event.
    Empty,
    /// A key is not an RFC 9535 JSONPath.
    Path(String),
    /// A value is `null` (typically a `${workflow.input.x}` that did not resolve).
    Null(String),
}

impl std::fmt::Display for BadMatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadMatches::Missing => f.write_str(
                "WAIT_FOR_WEBHOOK task without inputParameters.matches (an object of JSONPath -> value): \
                 hookd never completes a wait with every event; add matches to the task",
            ),
            BadMatches::Empty => f.write_str(
                "WAIT_FOR_WEBHOOK task with empty matches: hookd never completes a wait with \
                 every event; add at least one JSONPath -> value entry",
            ),
            BadMatches::Path(p) => write!(
                f,
                "WAIT_FOR_WEBHOOK matches key `{p}` is not a valid JSONPath (RFC 9535), so no \
                 event could ever match it"
            ),
            BadMatches::Null(p) => write!(
                f,
                "WAIT_FOR_WEBHOOK matches value of `{p}` is null (an unresolved workflow \
                 expression?), so no event could ever match it"
            ),
        }
    }
}

/// Checks a waiting task's `inputData.matches` (see [`BadMatches`]).
pub fn check_matches(matches: Option<&Value>) -> Result<&Map<String, Value>, BadMatches> {
    let m = matches
        .and_then(Value::as_object)
        .ok_or(BadMatches::Missing)?;
    if m.is_empty() {
        return Err(BadMatches::Empty);
    }
    for (k, v) in m {
        if JsonPath::parse(k).is_err() {
            return Err(BadMatches::Path(k.clone()));
        }
        if v.is_null() {
            return Err(BadMatches::Null(k.clone()));
        }
    }
    Ok(m)
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

    /// The key an event payload produces for this matcher, or `None` when a path is missing or
    /// `null` (then the matcher does not apply). A path yielding several values (wildcards,
    /// filters, descendants) uses the first; a path to an array uses the array's string form.
    /// A matcher without paths never applies.
    pub fn key_for(&self, payload: &Value) -> Option<String> {
        if self.compiled.is_empty() {
            return None;
        }
        let mut values = Vec::with_capacity(self.paths.len());
        for c in &self.compiled {
            let v = c.as_ref()?.query(payload).first()?;
            values.push(string_form(v)?);
        }
        Some(index_key(
            &self.workflow,
            self.version,
            &self.reference,
            &values,
        ))
    }
}

/// The key of a waiting task from its resolved `matches` (path → value); `None` when the
/// matches can never be met (empty, or a `null` value: see [`check_matches`]).
pub fn wait_key(
    workflow: &str,
    version: i64,
    reference: &str,
    matches: &Map<String, Value>,
) -> Option<String> {
    if matches.is_empty() {
        return None;
    }
    let mut paths: Vec<&String> = matches.keys().collect();
    paths.sort();
    let values = paths
        .iter()
        .map(|p| string_form(&matches[*p]))
        .collect::<Option<Vec<String>>>()?;
    Some(index_key(workflow, version, reference, &values))
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
    fn event_key_equals_wait_key_in_string_form() {
        let matches = json!({"$['event']['type']": "message", "$.event.user": 7});
        let wk = wait_key("wf", 2, "wait_ref__3", matches.as_object().unwrap()).unwrap();
        let m = Matcher::new(
            "wf",
            2,
            "wait_ref",
            vec!["$['event']['type']".into(), "$.event.user".into()],
        );
        let payload = json!({"event": {"type": "message", "user": 7, "x": 1}});
        assert_eq!(m.key_for(&payload).unwrap(), wk);
        // a string "7" (a query parameter, say) is the same string form as the number 7
        assert_eq!(
            m.key_for(&json!({"event": {"type": "message", "user": "7"}})),
            Some(wk.clone())
        );
        // 7.0 is not: Java prints it "7.0"
        assert_ne!(
            m.key_for(&json!({"event": {"type": "message", "user": 7.0}})),
            Some(wk.clone())
        );
        assert!(m.key_for(&json!({"event": {"type": "message"}})).is_none());
        assert!(m
            .key_for(&json!({"event": {"type": "message", "user": null}}))
            .is_none());
    }

    #[test]
    fn string_forms_follow_java() {
        let f = |v: Value| string_form(&v).unwrap();
        let num = |t: &str| f(serde_json::from_str(t).unwrap());
        assert_eq!(f(json!("42")), "42");
        assert_eq!(f(json!(" Mixed Case ")), " Mixed Case ");
        assert_eq!(num("42"), "42");
        assert_eq!(num("-7"), "-7");
        assert_eq!(num("18446744073709551615"), "18446744073709551615");
        assert_eq!(num("5.0"), "5.0");
        assert_eq!(num("5.50"), "5.5");
        assert_eq!(num("1e2"), "100.0");
        assert_eq!(num("1234567.5"), "1234567.5");
        assert_eq!(num("1e7"), "1.0E7");
        assert_eq!(num("12345678.9"), "1.23456789E7");
        assert_eq!(num("0.001"), "0.001");
        assert_eq!(num("0.0001"), "1.0E-4");
        assert_eq!(num("-0.00012"), "-1.2E-4");
        assert_eq!(num("0.0"), "0.0");
        assert_eq!(num("-0.0"), "-0.0");
        assert_eq!(num("1e300"), "1.0E300");
        assert_eq!(num("0.1"), "0.1");
        assert_eq!(num("100.25"), "100.25");
        assert_eq!(f(json!(true)), "true");
        assert_eq!(f(json!(false)), "false");
        assert_eq!(
            f(json!([1, "a", true, null, [2.5]])),
            "[1, a, true, null, [2.5]]"
        );
        assert_eq!(f(json!({"b": 1, "a": {"c": "x"}})), "{a={c=x}, b=1}");
        assert_eq!(string_form(&Value::Null), None);
    }

    #[test]
    fn indefinite_paths_use_the_first_value_definite_paths_the_array() {
        let m = Matcher::new("wf", 1, "r", vec!["$.items[*].id".into()]);
        let w = |v: Value| {
            wait_key(
                "wf",
                1,
                "r",
                json!({"$.items[*].id": v}).as_object().unwrap(),
            )
        };
        let p = json!({"items": [{"id": 3}, {"id": 4}]});
        assert_eq!(m.key_for(&p), w(json!(3)));
        assert!(m.key_for(&json!({"items": []})).is_none());
        let m = Matcher::new("wf", 1, "r", vec!["$.tags".into()]);
        let w = wait_key(
            "wf",
            1,
            "r",
            json!({"$.tags": ["a", "b"]}).as_object().unwrap(),
        );
        assert_eq!(m.key_for(&json!({"tags": ["a", "b"]})), w);
        assert_eq!(
            m.key_for(&json!({"tags": "[a, b]"})),
            w,
            "as Orkes: by string form"
        );
    }

    #[test]
    fn waits_that_can_never_match_are_refused() {
        assert_eq!(check_matches(None), Err(BadMatches::Missing));
        assert_eq!(check_matches(Some(&json!("x"))), Err(BadMatches::Missing));
        assert_eq!(check_matches(Some(&json!({}))), Err(BadMatches::Empty));
        assert_eq!(
            check_matches(Some(&json!({"$.a": null}))),
            Err(BadMatches::Null("$.a".into()))
        );
        assert_eq!(
            check_matches(Some(&json!({"$.a.length()": 1}))),
            Err(BadMatches::Path("$.a.length()".into()))
        );
        assert!(check_matches(Some(&json!({"$.a": 1}))).is_ok());
        assert!(wait_key("w", 1, "r", &Map::new()).is_none());
        assert!(Matcher::new("w", 1, "r", vec![])
            .key_for(&json!({}))
            .is_none());
        for e in [BadMatches::Missing, BadMatches::Empty] {
            assert!(e.to_string().contains("matches"), "{e}");
        }
    }

    #[test]
    fn java_doubles_read_back() {
        for x in [
            1.0,
            0.1,
            1.0 / 3.0,
            123456.789,
            9.999_999e6,
            1e7,
            1e-3,
            9.99e-4,
            2.5e-300,
            1.7976931348623157e308,
        ] {
            let s = java_double(x);
            let back: f64 = s.replace('E', "e").parse().unwrap();
            assert_eq!(back, x, "{s}");
            assert!(s.contains('.'), "{s}");
        }
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
