//! Signed webhook requests in the shapes providers send: GitHub `push`, Stripe `event`, Slack
//! `event_callback`, at an exact body size.
//!
//! Every body starts with `{"bench_id":"<run>-<seq>",` so that the record read back from Kafka
//! can be matched to the request that produced it without parsing the body; the provider's own
//! delivery id (`X-GitHub-Delivery`, Stripe `id`, Slack `event_id`) carries the same id, so
//! hookd's record key is unique per request too. The rest is padded with incompressible-ish
//! text so that lz4 on the producer does not make large bodies artificially cheap.

use bytes::Bytes;
use clap::ValueEnum;
use hookd::verify::sign;
use http::{HeaderName, HeaderValue};

/// The provider whose request shape and signature scheme is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// GitHub `push` event, `X-Hub-Signature-256` (verifier `SIGNATURE_BASED`).
    Github,
    /// Stripe `payment_intent.succeeded` event, `Stripe-Signature` (verifier `STRIPE`).
    Stripe,
    /// Slack Events API `event_callback`, `X-Slack-Signature` (verifier `SLACK_BASED`).
    Slack,
    /// A Standard Webhooks (Svix) event, `webhook-id`/`-timestamp`/`-signature`, verified by
    /// the `standard-webhooks` plugin (verifier `WASM_PLUGIN`; hookd needs `[plugins] dir`
    /// holding `standard-webhooks.wasm`). The secret must be `whsec_<base64>`.
    StandardWebhooks,
}

impl Provider {
    /// The admin-API JSON that creates a webhook for this provider with `secret`.
    pub fn webhook_json(self, name: &str, secret: &str) -> serde_json::Value {
        let (platform, verifier) = match self {
            Provider::Github => ("Github", "SIGNATURE_BASED"),
            Provider::Stripe => ("Stripe", "STRIPE"),
            Provider::Slack => ("Slack", "SLACK_BASED"),
            Provider::StandardWebhooks => ("Custom", "WASM_PLUGIN"),
        };
        let mut v = serde_json::json!({
            "name": name,
            "sourcePlatform": platform,
            "verifier": verifier,
            "secretValue": secret,
            "workflowsToStart": {"hookd_bench": 1},
        });
        match self {
            Provider::Github => v["headerKey"] = "X-Hub-Signature-256".into(),
            Provider::StandardWebhooks => v["plugin"] = "standard-webhooks".into(),
            _ => {}
        }
        v
    }

    /// Lower-case name (`github`, `stripe`, `slack`, `standard-webhooks`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Stripe => "stripe",
            Provider::Slack => "slack",
            Provider::StandardWebhooks => "standard-webhooks",
        }
    }
}

/// Length of a bench id: 8 hex digits of run id, `-`, 12 decimal digits of sequence.
pub const ID_LEN: usize = 21;
/// What every body starts with, before the bench id.
pub const BODY_PREFIX: &[u8] = b"{\"bench_id\":\"";

/// The bench id of request `seq` of run `run`.
pub fn bench_id(run: u32, seq: u64) -> String {
    format!("{run:08x}-{seq:012}")
}

/// Reads the bench id back from a record value, when it is one of ours.
pub fn parse_bench_id(value: &[u8]) -> Option<(u32, u64)> {
    let rest = value.strip_prefix(BODY_PREFIX)?;
    let id = std::str::from_utf8(rest.get(..ID_LEN)?).ok()?;
    let (run, seq) = id.split_once('-')?;
    Some((u32::from_str_radix(run, 16).ok()?, seq.parse().ok()?))
}

/// One signed request, ready to send.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The exact body.
    pub body: Bytes,
    /// Headers to send with it (content type, signature, provider headers).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Makes signed requests of one provider shape and size.
#[derive(Debug, Clone)]
pub struct Generator {
    provider: Provider,
    size: usize,
    secret: Vec<u8>,
    run: u32,
    padding: Vec<u8>,
}

/// Error for body sizes too small for the provider's shape.
#[derive(Debug, thiserror::Error)]
#[error("a {provider} body needs at least {min} bytes, {size} asked")]
pub struct TooSmall {
    provider: &'static str,
    min: usize,
    size: usize,
}

impl Generator {
    /// A generator of `size`-byte bodies for `provider`, signed with `secret`, in run `run`.
    pub fn new(provider: Provider, size: usize, secret: &str, run: u32) -> Result<Self, TooSmall> {
        // Deterministic pseudo-random alphanumerics: compress like real text does, not like "aaaa".
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
        let mut rng = fastrand::Rng::with_seed(u64::from(run) ^ size as u64);
        let padding = (0..size).map(|_| ALNUM[rng.usize(..ALNUM.len())]).collect();
        let g = Self {
            provider,
            size,
            secret: secret.as_bytes().to_vec(),
            run,
            padding,
        };
        let min = g.skeleton(0, 0).len() + 2;
        if size < min {
            return Err(TooSmall {
                provider: provider.as_str(),
                min,
                size,
            });
        }
        Ok(g)
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Body without padding and closing brace: `{"bench_id":…,<provider fields>,"padding":"`.
    fn skeleton(&self, seq: u64, now: i64) -> String {
        let id = bench_id(self.run, seq);
        let fields = match self.provider {
            Provider::Github => format!(
                r#""ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5","created":false,"deleted":false,"forced":false,"repository":{{"id":1296269,"name":"Hello-World","full_name":"octocat/Hello-World","private":false,"owner":{{"login":"octocat","id":1}}}},"pusher":{{"name":"octocat","email":"octocat@github.com"}},"sender":{{"login":"octocat","id":1,"type":"User"}},"head_commit":{{"id":"59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5","message":"bench {id}","timestamp":"2024-05-01T12:00:00Z"}}"#
            ),
            Provider::Stripe => format!(
                r#""id":"evt_{id}","object":"event","api_version":"2024-06-20","created":{now},"livemode":false,"pending_webhooks":1,"type":"payment_intent.succeeded","data":{{"object":{{"id":"pi_3MtwBwLkdIwHu7ix28a3tqPa","object":"payment_intent","amount":2000,"currency":"usd","status":"succeeded","customer":"cus_NffrFeUfNV2Hib"}}}}"#
            ),
            Provider::Slack => format!(
                r#""token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T0001","api_app_id":"A0001","type":"event_callback","event_id":"Ev{id}","event_time":{now},"event":{{"type":"message","channel":"C2147483705","user":"U2147483697","text":"bench {id}","ts":"1355517523.000005"}}"#
            ),
            Provider::StandardWebhooks => format!(
                r#""type":"invoice.paid","timestamp":"2024-05-01T12:00:00Z","data":{{"id":"in_1MtHbELkdIwHu7ixl4OzzPMv","object":"invoice","amount_paid":2000,"currency":"usd","customer":"cus_NffrFeUfNV2Hib","created":{now}}}"#
            ),
        };
        format!(r#"{{"bench_id":"{id}",{fields},"padding":""#)
    }

    /// The request that verifies a new webhook's URL before any event is accepted, when the
    /// provider has one: Slack's signed `url_verification` challenge (hookd answers only that
    /// until the URL is verified). Sent once per webhook before the load starts.
    pub fn handshake(&self, now: i64) -> Option<SignedRequest> {
        if self.provider != Provider::Slack {
            return None;
        }
        let body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"hookd-bench","type":"url_verification"}"#;
        let h = |n: &'static str, v: String| {
            (
                HeaderName::from_static(n),
                HeaderValue::try_from(v).expect("generated header values are visible ASCII"),
            )
        };
        Some(SignedRequest {
            headers: vec![
                h("content-type", "application/json".into()),
                h("x-slack-request-timestamp", now.to_string()),
                h("x-slack-signature", sign::slack(&self.secret, now, body)),
            ],
            body: Bytes::from_static(body),
        })
    }

    /// Request `seq`, signed at `now` (Unix seconds).
    pub fn make(&self, seq: u64, now: i64) -> SignedRequest {
        let mut body = self.skeleton(seq, now).into_bytes();
        let pad = self.size - body.len() - 2;
        body.extend_from_slice(&self.padding[..pad]);
        body.extend_from_slice(b"\"}");
        debug_assert_eq!(body.len(), self.size);
        let id = bench_id(self.run, seq);
        let h = |n: &'static str, v: String| {
            (
                HeaderName::from_static(n),
                HeaderValue::try_from(v).expect("generated header values are visible ASCII"),
            )
        };
        let headers = match self.provider {
            Provider::Github => vec![
                h("content-type", "application/json".into()),
                h("user-agent", "GitHub-Hookshot/hookd-bench".into()),
                h("x-github-event", "push".into()),
                h("x-github-delivery", id),
                h(
                    "x-hub-signature-256",
                    sign::github_sha256(&self.secret, &body),
                ),
            ],
            Provider::Stripe => vec![
                h("content-type", "application/json; charset=utf-8".into()),
                h(
                    "user-agent",
                    "Stripe/1.0 (+https://stripe.com/docs/webhooks)".into(),
                ),
                h("stripe-signature", sign::stripe(&self.secret, now, &body)),
            ],
            Provider::Slack => vec![
                h("content-type", "application/json".into()),
                h(
                    "user-agent",
                    "Slackbot 1.0 (+https://api.slack.com/robots)".into(),
                ),
                h("x-slack-request-timestamp", now.to_string()),
                h("x-slack-signature", sign::slack(&self.secret, now, &body)),
            ],
            Provider::StandardWebhooks => {
                let msg_id = format!("msg_{id}");
                let sig = standard_webhooks_signature(&self.secret, &msg_id, now, &body);
                vec![
                    h("content-type", "application/json".into()),
                    h("user-agent", "Svix-Webhooks/1.24.0 (hookd-bench)".into()),
                    h("webhook-id", msg_id),
                    h("webhook-timestamp", now.to_string()),
                    h("webhook-signature", sig),
                ]
            }
        };
        SignedRequest {
            body: Bytes::from(body),
            headers,
        }
    }
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>` with the key decoded from `whsec_<b64>`
/// (an undecodable secret signs with its bytes, which the plugin then rejects).
fn standard_webhooks_signature(secret: &[u8], msg_id: &str, ts: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let s = std::str::from_utf8(secret).unwrap_or_default();
    let key = b64
        .decode(s.strip_prefix("whsec_").unwrap_or(s))
        .unwrap_or_else(|_| secret.to_vec());
    let ts = ts.to_string();
    let mac = hookd::verify::hmac::hmac_sha256(
        &key,
        &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    format!("v1,{}", b64.encode(mac))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookd::config::VerifyConfig;
    use hookd::model::WebhookConfig;
    use hookd::verify::{Outcome, RequestParts, VerifyContext};

    fn verify(p: Provider, size: usize) -> Outcome {
        let secret = "whsec_bench-secret";
        let cfg: WebhookConfig =
            serde_json::from_value(p.webhook_json("w", secret)).expect("valid webhook json");
        let v = hookd::webhook::SpecBuilder::without_plugins(VerifyConfig::default())
            .build(&cfg)
            .expect("verifier")
            .verifier;
        let g = Generator::new(p, size, secret, 0xabcd).unwrap();
        let now = 1_700_000_000;
        let r = g.make(42, now);
        assert_eq!(r.body.len(), size);
        let v2: serde_json::Value = serde_json::from_slice(&r.body).expect("body is JSON");
        assert_eq!(v2["bench_id"], "0000abcd-000000000042");
        assert_eq!(parse_bench_id(&r.body), Some((0xabcd, 42)));
        let mut headers = http::HeaderMap::new();
        for (k, v) in r.headers {
            headers.insert(k, v);
        }
        let parts = RequestParts {
            method: &http::Method::POST,
            headers: &headers,
            query: None,
            body: &r.body,
        };
        let ctx = VerifyContext {
            now_unix: now,
            url_verified: true,
        };
        v.verify(&parts, &ctx).expect("hookd accepts the request")
    }

    #[test]
    fn every_shape_verifies_with_its_delivery_id() {
        for size in [1024, 7 * 1024, 64 * 1024] {
            let want = |prefix: &str| Outcome::Accept {
                delivery_id: Some(format!("{prefix}0000abcd-000000000042")),
            };
            assert_eq!(verify(Provider::Github, size), want(""));
            assert_eq!(verify(Provider::Stripe, size), want("evt_"));
            assert_eq!(verify(Provider::Slack, size), want("Ev"));
        }
    }

    #[test]
    fn standard_webhooks_shape_signs_like_the_shared_vectors() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/providers.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for sw in v["standardwebhooks"].as_array().unwrap() {
            let s = |k: &str| sw[k].as_str().unwrap();
            let body =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s("body_b64"))
                    .unwrap();
            let ts: i64 = s("webhook-timestamp").parse().unwrap();
            let got =
                standard_webhooks_signature(s("secret").as_bytes(), s("webhook-id"), ts, &body);
            assert!(s("webhook-signature").split(' ').any(|w| w == got), "{got}");
        }
        let g = Generator::new(Provider::StandardWebhooks, 1024, "whsec_c2VjcmV0", 7).unwrap();
        let r = g.make(3, 1_700_000_000);
        assert_eq!(r.body.len(), 1024);
        let hv = |n: &str| r.headers.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(hv("webhook-id"), "msg_00000007-000000000003");
        assert_eq!(
            hv("webhook-signature"),
            standard_webhooks_signature(
                b"whsec_c2VjcmV0",
                "msg_00000007-000000000003",
                1_700_000_000,
                &r.body
            )
            .as_str()
        );
    }

    #[test]
    fn too_small_is_refused() {
        assert!(Generator::new(Provider::Github, 100, "s", 1).is_err());
    }

    #[test]
    fn foreign_values_have_no_bench_id() {
        assert_eq!(parse_bench_id(b"{\"a\":1}"), None);
        assert_eq!(parse_bench_id(b"{\"bench_id\":\"zz\"}"), None);
    }
}
