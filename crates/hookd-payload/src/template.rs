//! The `idempotencyKey` template of `workflowsToStart`: `${workflow.input.<path>}` placeholders
//! resolved against an event's payload.

use serde_json::{Map, Value};

use crate::matching::canonical;

/// Resolves an `idempotencyKey` template: every `${workflow.input.<path>}` is replaced by the
/// payload value at the dotted path (strings as-is, other values as canonical JSON); a missing
/// value resolves to empty. Other text is kept.
pub fn resolve(template: &str, payload: &Map<String, Value>) -> String {
    resolve_with(template, |path, out| {
        if let Some(v) = lookup_dotted(payload, path) {
            match v {
                Value::String(s) => out.push_str(s),
                Value::Null => {}
                other => out.push_str(&canonical(other)),
            }
        }
    })
}

/// The template's text with each placeholder's path handed to `value`, which appends what it
/// resolves to (nothing for a missing value).
pub(crate) fn resolve_with(template: &str, mut value: impl FnMut(&str, &mut String)) -> String {
    const OPEN: &str = "${workflow.input.";
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        value(&after[..end], &mut out);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn lookup_dotted<'a>(payload: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut segs = path.split('.');
    let first = segs.next()?;
    let (name, idx) = split_index(first);
    let mut cur = payload.get(name)?;
    for i in idx {
        cur = cur.get(i)?;
    }
    for seg in segs {
        let (name, idx) = split_index(seg);
        cur = cur.get(name)?;
        for i in idx {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

/// `items[0][2]` → (`items`, [0, 2]).
pub(crate) fn split_index(seg: &str) -> (&str, Vec<usize>) {
    match seg.find('[') {
        None => (seg, Vec::new()),
        Some(i) => {
            let idx = seg[i..]
                .split(['[', ']'])
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            (&seg[..i], idx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates() {
        let p = json!({"id": "o-1", "n": 5, "a": {"b": [ {"c": true} ]}});
        let p = p.as_object().unwrap();
        assert_eq!(resolve("order-${workflow.input.id}", p), "order-o-1");
        assert_eq!(
            resolve("${workflow.input.n}/${workflow.input.a.b[0].c}", p),
            "5/true"
        );
        assert_eq!(resolve("${workflow.input.missing}", p), "");
        assert_eq!(resolve("static", p), "static");
        assert_eq!(resolve("x-${workflow.input.id", p), "x-${workflow.input.id");
    }
}
