//! The request and vector files of `hookd plugin call` and `hookd plugin test`
//! (`docs/plugin-vectors.md` documents the format).
//!
//! A vector file is `{"cases": [case, …]}`; a case is a request, the webhook's settings and
//! the expected verdict; `hookd plugin call --request FILE` takes one case (its `expect`, if
//! any, is checked too).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::plugin::sandbox::bindings::hookd::verifier::types::{Request, Scheme, Settings};
use crate::plugin::sandbox::{Checked, Failure};
use crate::verify::{Outcome, Reject};

/// A vector file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VectorFile {
    /// What the vectors are for (free text, shown).
    #[serde(default)]
    pub description: Option<String>,
    /// The cases, run in order.
    pub cases: Vec<Case>,
}

/// One request to a plugin, with the webhook's settings, and what it should answer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    /// Shown in the output.
    #[serde(default)]
    pub name: Option<String>,
    /// The request.
    #[serde(default)]
    pub request: CaseRequest,
    /// `secretValue` then `pluginSecrets`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// `pluginParams`.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// `toleranceSeconds`.
    #[serde(default)]
    pub tolerance_seconds: Option<u64>,
    /// The verdict expected (none: not checked).
    #[serde(default)]
    pub expect: Option<Expect>,
}

/// The request of a case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseRequest {
    /// Default `POST`.
    #[serde(default = "d_method")]
    pub method: String,
    /// Path and raw query; default `/webhook/test`.
    #[serde(default = "d_target")]
    pub target: String,
    /// `[name, value]` pairs in order, or an object.
    #[serde(default)]
    pub headers: Headers,
    /// The body as text …
    #[serde(default)]
    pub body: Option<String>,
    /// … or as base64 (for bytes that are not UTF-8).
    #[serde(default)]
    pub body_base64: Option<String>,
    /// hookd's clock, Unix seconds (default 0).
    #[serde(default)]
    pub now: i64,
    /// Whether the webhook's URL is verified already.
    #[serde(default)]
    pub url_verified: bool,
    /// `http` or `https` (default `https`).
    #[serde(default = "d_scheme")]
    pub scheme: String,
    /// Default `hooks.example.com`.
    #[serde(default = "d_authority")]
    pub authority: String,
    /// The public URL; default `scheme://authority` + `target`.
    #[serde(default)]
    pub url: Option<String>,
}

impl Default for CaseRequest {
    fn default() -> Self {
        serde_json::from_str("{}").expect("defaults")
    }
}

fn d_method() -> String {
    "POST".into()
}
fn d_target() -> String {
    "/webhook/test".into()
}
fn d_scheme() -> String {
    "https".into()
}
fn d_authority() -> String {
    "hooks.example.com".into()
}

/// Headers as pairs (order and repetition kept) or as an object.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Headers {
    /// `[["X-A", "1"], …]`
    Pairs(Vec<(String, String)>),
    /// `{"X-A": "1"}`
    Map(BTreeMap<String, String>),
}

impl Default for Headers {
    fn default() -> Self {
        Headers::Pairs(Vec::new())
    }
}

impl Headers {
    fn pairs(&self) -> Vec<(&str, &str)> {
        match self {
            Headers::Pairs(v) => v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            Headers::Map(m) => m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        }
    }
}

/// A verdict, as expected in a case and as printed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Expect {
    /// Accepted; `delivery_id` checked when given (`null`: none).
    Accept {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "double_option"
        )]
        delivery_id: Option<Option<String>>,
    },
    /// Rejected with `reason` (`missing_signature`, `bad_signature`, `stale_timestamp`,
    /// `malformed`).
    Reject { reason: String },
    /// A handshake; each field checked when given.
    Handshake {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// No verdict: the plugin trapped, ran out of time or memory, or returned garbage (`kind`
    /// checked when given).
    PluginError {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
    },
}

/// `Option<Option<T>>` telling an absent field from `null`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::deserialize(d)?))
    }

    pub fn serialize<S: Serializer>(v: &Option<Option<String>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().unwrap_or(&None).serialize(s)
    }
}

impl Expect {
    /// What a call produced, in full.
    pub fn of(result: &Result<Checked, Failure>) -> Expect {
        match result {
            Ok(Ok(Outcome::Accept { delivery_id })) => Expect::Accept {
                delivery_id: Some(delivery_id.clone()),
            },
            Ok(Ok(Outcome::Reply(r))) => Expect::Handshake {
                status: Some(r.status.as_u16()),
                content_type: r.content_type.to_str().ok().map(str::to_owned),
                body: Some(String::from_utf8_lossy(&r.body).into_owned()),
            },
            Ok(Err(r)) => Expect::Reject {
                reason: match r {
                    Reject::Malformed(_) => "malformed".into(),
                    other => other.reason().into(),
                },
            },
            Err(f) => Expect::PluginError {
                kind: Some(f.kind().into()),
            },
        }
    }

    /// Whether `got` (from [`Expect::of`]) is what `self` expects (unset fields match anything).
    pub fn matches(&self, got: &Expect) -> bool {
        fn field<T: PartialEq>(want: &Option<T>, got: &Option<T>) -> bool {
            want.is_none() || want == got
        }
        match (self, got) {
            (Expect::Accept { delivery_id: w }, Expect::Accept { delivery_id: g }) => field(w, g),
            (Expect::Reject { reason: w }, Expect::Reject { reason: g }) => w == g,
            (
                Expect::Handshake {
                    status: ws,
                    content_type: wc,
                    body: wb,
                },
                Expect::Handshake {
                    status: gs,
                    content_type: gc,
                    body: gb,
                },
            ) => field(ws, gs) && field(wc, gc) && field(wb, gb),
            (Expect::PluginError { kind: w }, Expect::PluginError { kind: g }) => field(w, g),
            _ => false,
        }
    }
}

/// A case's request in owned form, lent to the plugin as the contract's borrowed request.
pub(crate) struct Owned {
    method: String,
    target: String,
    headers: String,
    body: Vec<u8>,
    now: i64,
    url_verified: bool,
    secrets: Vec<String>,
    params: Vec<(String, String)>,
    tolerance: Option<u64>,
    https: bool,
    authority: String,
    url: String,
}

impl Owned {
    /// Checks `case` and lays it out.
    pub fn new(case: &Case) -> Result<Owned, String> {
        let r = &case.request;
        let body = match (&r.body, &r.body_base64) {
            (Some(_), Some(_)) => return Err("give body or body_base64, not both".into()),
            (Some(b), None) => b.clone().into_bytes(),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .map_err(|e| format!("body_base64: {e}"))?,
            (None, None) => Vec::new(),
        };
        let https = match r.scheme.as_str() {
            "https" => true,
            "http" => false,
            other => return Err(format!("scheme `{other}`: must be http or https")),
        };
        let mut lines = Vec::new();
        for (n, v) in r.headers.pairs() {
            let name = http::HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| format!("header name `{n}` is not valid"))?;
            let value = http::HeaderValue::from_str(v.trim())
                .map_err(|_| format!("header `{n}`: the value is not valid"))?;
            lines.push((name, value));
        }
        let mut map = http::HeaderMap::new();
        for (n, v) in lines {
            map.append(n, v);
        }
        let url = r
            .url
            .clone()
            .unwrap_or_else(|| format!("{}://{}{}", r.scheme, r.authority, r.target));
        Ok(Owned {
            method: r.method.to_ascii_uppercase(),
            target: r.target.clone(),
            headers: crate::plugin::verifier::header_block(&map),
            body,
            now: r.now,
            url_verified: r.url_verified,
            secrets: case.secrets.clone(),
            params: case
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            tolerance: case.tolerance_seconds,
            https,
            authority: r.authority.clone(),
            url,
        })
    }

    /// Calls `f` with the request as the plugin sees it.
    pub fn with<R>(&self, f: impl FnOnce(Request<'_>) -> R) -> R {
        let secrets: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        f(Request {
            method: &self.method,
            target: &self.target,
            headers: &self.headers,
            body: &self.body,
            now_unix_seconds: self.now,
            url_verified: self.url_verified,
            settings: Settings {
                secrets: &secrets,
                params: &params,
                tolerance_seconds: self.tolerance,
            },
            scheme: if self.https {
                Scheme::Https
            } else {
                Scheme::Http
            },
            authority: &self.authority,
            url: &self.url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_match_what_they_name() {
        let accept: Expect = serde_json::from_str(r#"{"verdict":"accept"}"#).unwrap();
        let with_id = Expect::Accept {
            delivery_id: Some(Some("d1".into())),
        };
        assert!(accept.matches(&with_id), "delivery_id not given: any");
        let none: Expect =
            serde_json::from_str(r#"{"verdict":"accept","delivery_id":null}"#).unwrap();
        assert!(!none.matches(&with_id), "null: must be none");
        let reject: Expect =
            serde_json::from_str(r#"{"verdict":"reject","reason":"bad_signature"}"#).unwrap();
        assert!(!reject.matches(&with_id));
        assert!(reject.matches(&Expect::Reject {
            reason: "bad_signature".into()
        }));
        assert!(serde_json::from_str::<Expect>(r#"{"verdict":"maybe"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&with_id).unwrap(),
            r#"{"verdict":"accept","delivery_id":"d1"}"#
        );
    }

    #[test]
    fn a_case_lays_out_its_request() {
        let case: Case = serde_json::from_str(
            r#"{"request":{"target":"/webhook/t?a=1","headers":[["X-Sig","1"],["x-sig","2"]],
                "body_base64":"AAE="},"secrets":["s"],"params":{"b":"2","a":"1"}}"#,
        )
        .unwrap();
        let o = Owned::new(&case).unwrap();
        assert_eq!(o.headers, "x-sig: 1\nx-sig: 2");
        assert_eq!(o.body, [0, 1]);
        assert_eq!(o.url, "https://hooks.example.com/webhook/t?a=1");
        assert_eq!(o.params[0].0, "a");
        let bad: Case = serde_json::from_str(r#"{"request":{"scheme":"ftp"}}"#).unwrap();
        assert!(Owned::new(&bad).is_err());
    }
}
