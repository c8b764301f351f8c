//! A body parsed once with simd-json's tape: no tree of its own, only a flat list of nodes
//! borrowing the (in-place unescaped) copy of the body. What hookd computes from an event body
//! is computed from it:
//!
//! - the `idempotencyKey` template ([`Parsed::idempotency_key`]): looked up on the tape, so
//!   ingress builds no payload at all for it;
//! - the payload ([`Parsed::payload`]): the `serde_json` map the sink matches waits against
//!   (the match keys, `matching::Matcher::key_for`), starts workflows and completes tasks with,
//!   and records in the history, built straight from the tape (not through simd-json's serde
//!   layer, which cost more than serde_json's own parser).
//!
//! [`with_parsed`] keeps the scratch copy, simd-json's buffers and the tape per thread, so a
//! parse allocates nothing once a thread has seen a body of that size.
//!
//! The results equal those of the serde_json reference ([`crate::build_with_serde_json`] and
//! [`crate::template::resolve`] over it): the tests and `fuzz/` compare them.

use std::cell::RefCell;

use serde_json::{Map, Number, Value};
use simd_json::{Buffers, Node, StaticNode, Tape};

use crate::matching::canonical;
use crate::Payload;

/// A body and query string, parsed (see the module docs).
pub struct Parsed<'t, 'i> {
    body: Body<'t, 'i>,
    query: Option<&'i str>,
}

enum Body<'t, 'i> {
    /// The body's tape (simd-json accepted it).
    Tape(&'t [Node<'i>]),
    /// Valid JSON simd-json refused (it is stricter in corners, e.g. number ranges): parsed by
    /// serde_json instead.
    Fallback(Value),
    /// Empty, whitespace or not JSON: the payload has no body keys.
    None,
}

struct Scratch {
    input: Vec<u8>,
    buffers: Buffers,
    tape: Option<Tape<'static>>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        input: Vec::new(),
        buffers: Buffers::default(),
        tape: None,
    });
}

/// Parses `body` once (with `query`, the raw query string) and hands the result to `f`.
pub fn with_parsed<R>(body: &[u8], query: Option<&str>, f: impl FnOnce(&Parsed<'_, '_>) -> R) -> R {
    if body.iter().all(u8::is_ascii_whitespace) {
        return f(&Parsed {
            body: Body::None,
            query,
        });
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => {
            let s = &mut *s;
            s.input.clear();
            s.input.extend_from_slice(body);
            let mut tape = s.tape.take().unwrap_or_else(Tape::null).reset();
            let parsed = simd_json::fill_tape(&mut s.input, &mut s.buffers, &mut tape);
            let r = run(parsed.is_ok().then_some(&tape.0[..]), body, query, f);
            s.tape = Some(tape.reset());
            r
        }
        // `f` parses another body: that one gets its own buffers
        Err(_) => {
            let mut input = body.to_vec();
            let tape = simd_json::to_tape(&mut input).ok();
            run(tape.as_ref().map(|t| &t.0[..]), body, query, f)
        }
    })
}

fn run<R>(
    tape: Option<&[Node<'_>]>,
    body: &[u8],
    query: Option<&str>,
    f: impl FnOnce(&Parsed<'_, '_>) -> R,
) -> R {
    let body = match tape {
        // a tape with a number serde_json cannot hold (±inf) goes the serde_json way too
        Some(t) if convertible(t) => Body::Tape(t),
        _ => match serde_json::from_slice::<Value>(body) {
            Ok(v) => Body::Fallback(v),
            Err(_) => Body::None,
        },
    };
    f(&Parsed { body, query })
}

fn convertible(t: &[Node<'_>]) -> bool {
    t.iter().all(|n| match n {
        Node::Static(StaticNode::F64(f)) => f.is_finite(),
        _ => true,
    })
}

/// Nodes in the subtree starting at `nodes[0]`.
fn size(n: &Node<'_>) -> usize {
    match n {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        _ => 1,
    }
}

/// The value at the root of `nodes` as a `serde_json::Value`.
fn to_value(nodes: &[Node<'_>]) -> Value {
    match nodes[0] {
        Node::String(s) => Value::String(s.to_owned()),
        Node::Static(st) => static_value(st),
        Node::Array { len, .. } => {
            let mut out = Vec::with_capacity(len);
            let mut i = 1;
            for _ in 0..len {
                out.push(to_value(&nodes[i..]));
                i += size(&nodes[i]);
            }
            Value::Array(out)
        }
        Node::Object { .. } => Value::Object(to_map(nodes)),
    }
}

/// The object at the root of `nodes` as a map (duplicate keys: the last wins, as serde_json).
fn to_map(nodes: &[Node<'_>]) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in entries(nodes) {
        out.insert(k.to_owned(), to_value(v));
    }
    out
}

/// The entries of the object at the root of `nodes`: (key, the value's nodes).
fn entries<'t, 'i>(nodes: &'t [Node<'i>]) -> impl Iterator<Item = (&'i str, &'t [Node<'i>])> {
    let len = match nodes[0] {
        Node::Object { len, .. } => len,
        _ => 0,
    };
    let mut i = 1;
    (0..len).map(move |_| {
        let k = match nodes[i] {
            Node::String(k) => k,
            _ => "",
        };
        let v = &nodes[i + 1..];
        i += 1 + size(&v[0]);
        (k, v)
    })
}

fn static_value(st: StaticNode) -> Value {
    match st {
        StaticNode::Null => Value::Null,
        StaticNode::Bool(b) => Value::Bool(b),
        StaticNode::I64(i) => Value::from(i),
        StaticNode::U64(u) => Value::from(u),
        StaticNode::F64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
    }
}

/// A value on the tape or in the fallback tree.
enum Node2<'a, 't, 'i> {
    Tape(&'t [Node<'i>]),
    Json(&'a Value),
    /// A query parameter (always a string).
    Query(std::borrow::Cow<'a, str>),
}

impl<'a, 't, 'i> Node2<'a, 't, 'i> {
    fn key(self, name: &str) -> Option<Self> {
        match self {
            // the last of duplicate keys, as the payload map keeps it
            Node2::Tape(n) => entries(n)
                .filter(|(k, _)| *k == name)
                .last()
                .map(|(_, v)| Node2::Tape(v)),
            Node2::Json(v) => v.get(name).map(Node2::Json),
            Node2::Query(_) => None,
        }
    }

    fn index(self, i: usize) -> Option<Self> {
        match self {
            Node2::Tape(n) => match n[0] {
                Node::Array { len, .. } if i < len => {
                    let mut at = 1;
                    for _ in 0..i {
                        at += size(&n[at]);
                    }
                    Some(Node2::Tape(&n[at..]))
                }
                _ => None,
            },
            Node2::Json(v) => v.get(i).map(Node2::Json),
            Node2::Query(_) => None,
        }
    }

    /// Appends the value as a template renders it: strings as they are, `null` as nothing,
    /// anything else as canonical JSON.
    fn render(self, out: &mut String) {
        match self {
            Node2::Query(s) => out.push_str(&s),
            Node2::Json(Value::String(s)) => out.push_str(s),
            Node2::Json(Value::Null) => {}
            Node2::Json(v) => out.push_str(&canonical(v)),
            Node2::Tape(n) => match n[0] {
                Node::String(s) => out.push_str(s),
                Node::Static(StaticNode::Null) => {}
                _ => out.push_str(&canonical(&to_value(n))),
            },
        }
    }
}

impl Parsed<'_, '_> {
    /// The payload (see the crate docs): the body's object, `{"request": <value>}` for other
    /// JSON, `{}` for no JSON, with the query parameters on top.
    pub fn payload(&self) -> Payload {
        let mut map = match &self.body {
            Body::Tape(t) => match t[0] {
                Node::Object { .. } => to_map(t),
                _ => wrap(to_value(t)),
            },
            Body::Fallback(Value::Object(m)) => m.clone(),
            Body::Fallback(v) => wrap(v.clone()),
            Body::None => Map::new(),
        };
        crate::merge_query(&mut map, self.query);
        map
    }

    /// The `idempotencyKey` template resolved against the payload, exactly as
    /// [`crate::template::resolve`] over [`Parsed::payload`] does, without building it.
    pub fn idempotency_key(&self, template: &str) -> String {
        crate::template::resolve_with(template, |path, out| {
            if let Some(v) = self.lookup(path) {
                v.render(out);
            }
        })
    }

    /// The top-level payload entry `name`: a query parameter (the first of that name) wins over
    /// the body.
    fn top(&self, name: &str) -> Option<Node2<'_, '_, '_>> {
        if let Some(q) = self.query {
            if let Some((_, v)) = form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name) {
                return Some(Node2::Query(v));
            }
        }
        match &self.body {
            Body::Tape(t) => match t[0] {
                Node::Object { .. } => Node2::Tape(t).key(name),
                _ => (name == "request").then_some(Node2::Tape(t)),
            },
            Body::Fallback(v @ Value::Object(_)) => Node2::Json(v).key(name),
            Body::Fallback(v) => (name == "request").then_some(Node2::Json(v)),
            Body::None => None,
        }
    }

    fn lookup(&self, path: &str) -> Option<Node2<'_, '_, '_>> {
        let mut segs = path.split('.');
        let (name, idx) = crate::template::split_index(segs.next()?);
        let mut cur = self.top(name)?;
        for i in idx {
            cur = cur.index(i)?;
        }
        for seg in segs {
            let (name, idx) = crate::template::split_index(seg);
            cur = cur.key(name)?;
            for i in idx {
                cur = cur.index(i)?;
            }
        }
        Some(cur)
    }
}

fn wrap(v: Value) -> Payload {
    let mut m = Map::new();
    m.insert("request".into(), v);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::resolve;
    use crate::{build, build_with_serde_json, idempotency_key};
    use proptest::prelude::*;
    use serde_json::json;

    /// The reference: serde_json's payload, then the template over it.
    fn reference(template: &str, body: &[u8], q: Option<&str>) -> String {
        resolve(template, &build_with_serde_json(body, q))
    }

    #[test]
    fn keys_equal_the_reference() {
        let body = br#"{"id":"o-1","n":5,"f":1.50,"esc":"a\"b\u00e9","a":{"b":[{"c":true},{"c":null}]},"dup":1,"dup":2,"o":{"z":1,"y":[1.0,"x"]}}"#;
        let templates = [
            "order-${workflow.input.id}",
            "${workflow.input.n}/${workflow.input.a.b[0].c}/${workflow.input.a.b[1].c}",
            "${workflow.input.f}|${workflow.input.esc}|${workflow.input.dup}",
            "${workflow.input.o}|${workflow.input.a.b}|${workflow.input.a.b[7]}",
            "${workflow.input.missing}x${workflow.input.id.deeper}${workflow.input.n[0]}",
            "${workflow.input.q}-${workflow.input.enc}-${workflow.input.q[0]}-${workflow.input.id",
            "static",
        ];
        for q in [None, Some("q=1&q=2&enc=%C3%A9+x&id=from-query")] {
            for t in templates {
                assert_eq!(
                    idempotency_key(t, body, q),
                    reference(t, body, q),
                    "{t} {q:?}"
                );
            }
        }
        assert_eq!(
            idempotency_key("${workflow.input.id}-${workflow.input.dup}", body, None),
            "o-1-2"
        );
        // a body that is not an object is `request`; one that is not JSON has no keys
        for body in [
            &b"[1,{\"x\":\"y\"}]"[..],
            b"\"s\"",
            b"7",
            b"token=x",
            b"",
            b"{bad",
        ] {
            for t in [
                "${workflow.input.request}",
                "${workflow.input.request[1].x}",
                "k${workflow.input.x}",
            ] {
                assert_eq!(
                    idempotency_key(t, body, Some("x=q")),
                    reference(t, body, Some("x=q"))
                );
            }
        }
    }

    #[test]
    fn payload_from_the_tape_equals_serde_json() {
        for body in [
            &br#"{"a":1,"b":[1,2.5,-3,"x",null,true,{"c":{}}],"a":"dup","big":18446744073709551615,"neg":-9223372036854775808}"#[..],
            br#"[{"k":"\u00e9\n"}]"#,
            b"1000000000000000000000000",
            b"1e400",
            b"  {\"x\" : [ ] }  ",
        ] {
            assert_eq!(build(body, Some("a=q")), build_with_serde_json(body, Some("a=q")));
        }
    }

    #[test]
    fn a_parse_inside_a_parse_gets_its_own_buffers() {
        let outer = with_parsed(br#"{"a":"outer"}"#, None, |p| {
            let inner = build(br#"{"a":"inner"}"#, None);
            (p.payload(), inner)
        });
        assert_eq!(Value::Object(outer.0), json!({"a":"outer"}));
        assert_eq!(Value::Object(outer.1), json!({"a":"inner"}));
    }

    proptest! {
        #[test]
        fn keys_agree_with_the_reference(
            v in arb_json(),
            paths in proptest::collection::vec("[a-c]{1,2}(\\[[0-2]\\])?(\\.[a-c]{1,2}(\\[[0-2]\\])?){0,2}", 1..4),
            q in "([a-c]=[a-z%0-9]{0,3}&?){0,3}",
        ) {
            let body = serde_json::to_vec(&v).unwrap();
            let t: String = paths.iter().map(|p| format!("<${{workflow.input.{p}}}>")).collect();
            let q = Some(q.as_str());
            prop_assert_eq!(idempotency_key(&t, &body, q), reference(&t, &body, q));
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            "[a-zé\"\\\\ ]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
