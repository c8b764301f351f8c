//! Provider signature verification over the raw request bytes: hookd's built-in webhook
//! verifiers as pure functions, with no I/O and no runtime (no tokio, Kafka or wasmtime), so that
//! fuzzers, benchmarks and other tools can use them alone.
//!
//! A [`Builtin`] verifier is built once per webhook configuration (keys decoded and parsed up
//! front, errors reported as [`KeyError`]) and then run on every request with
//! [`Builtin::verify`]. It sees only [`RequestParts`] (method, headers, query, raw body) and a
//! [`VerifyContext`] (clock and whether the URL is already verified), and answers with an
//! [`Outcome`] (queue the event, or answer a handshake) or a [`Reject`] (status + short reason
//! code, never secret material, never the received signature). The daemon wraps [`Builtin`]
//! together with its WebAssembly verifier plugins, which share [`Outcome`] and [`Reject`]
//! (hence [`Outcome::Handshake`] and [`Reject::PluginError`], which no built-in verifier
//! returns).
//!
//! Schemes (described in `docs/verifiers.md`):
//!
//! | verifier | module | headers |
//! |---|---|---|
//! | `HEADER_BASED` | [`header`] | configured names, exact values |
//! | `SIGNATURE_BASED` (GitHub) | [`github`] | `X-Hub-Signature-256: sha256=<hex>` (legacy `X-Hub-Signature: sha1=<hex>`) |
//! | `STRIPE` | [`stripe`] | `Stripe-Signature: t=…,v1=…` |
//! | `SLACK_BASED` | [`slack`] | `X-Slack-Signature`, `X-Slack-Request-Timestamp`; `url_verification` challenge |
//! | `HMAC_BASED` (Teams) | [`teams`] | `Authorization: HMAC <base64>` |
//! | `SENDGRID` | [`sendgrid`] | `X-Twilio-Email-Event-Webhook-Signature`/`-Timestamp` (ECDSA P-256) |
//! | `TWITTER` (X) | [`twitter`] | `X-Twitter-Webhooks-Signature: sha256=<base64>`; `GET ?crc_token=` challenge |
//!
//! [`sign`] generates the same signatures (tests, benches, `hookd sign`); [`hmac`] holds the
//! keyed-HMAC and encoding helpers they share.

#![warn(missing_docs)]

pub mod github;
pub mod header;
pub mod hmac;
pub mod secret;
pub mod sendgrid;
pub mod sign;
pub mod slack;
pub mod stripe;
pub mod teams;
pub mod twitter;

#[cfg(test)]
mod tests;

use std::fmt;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

pub use secret::Secret;

/// What the verifier sees of an unverified request.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// Request method.
    pub method: &'a Method,
    /// Request headers (looked up case-insensitively).
    pub headers: &'a HeaderMap,
    /// Raw query string (without `?`), if any.
    pub query: Option<&'a str>,
    /// Raw body bytes, exactly as received; every signature is checked over these.
    pub body: &'a [u8],
}

/// Context of one verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyContext {
    /// Current time, Unix seconds (injectable for tests with fixed-timestamp vectors).
    pub now_unix: i64,
    /// Whether a request to this webhook has already passed verification (Slack accepts only
    /// its `url_verification` challenge until then).
    pub url_verified: bool,
}

/// Successful verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The request is authentic; queue it. `delivery_id` is the provider's delivery id when one
    /// is known (GitHub `X-GitHub-Delivery`, Slack body `event_id`, Stripe body `id`, Teams body
    /// `id`; none for SendGrid and header-based webhooks).
    Accept {
        /// Provider delivery id, for de-duplication.
        delivery_id: Option<String>,
    },
    /// A handshake to answer synchronously instead of queueing: Slack's `url_verification`, or a
    /// plugin's (Zoom `endpoint.url_validation`, Discord PING, Meta `hub.challenge` …). Nothing
    /// is queued; it marks the URL verified like an `Accept`.
    Reply(Reply),
}

/// The answer to a handshake: status (2xx), content type and body, sent as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Response status (2xx).
    pub status: StatusCode,
    /// Response `Content-Type`.
    pub content_type: HeaderValue,
    /// Response body.
    pub body: bytes::Bytes,
}

impl Reply {
    /// A `200` with a static content type.
    pub fn ok(content_type: &'static str, body: impl Into<bytes::Bytes>) -> Self {
        Reply {
            status: StatusCode::OK,
            content_type: HeaderValue::from_static(content_type),
            body: body.into(),
        }
    }
}

/// Why a request was refused. Never carries secret material or the received signature.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Reject {
    /// A required signature/timestamp header is absent (401 `missing_signature`).
    #[error("a required signature header is missing")]
    MissingSignature,
    /// No signature or header value matches (401 `bad_signature`).
    #[error("the signature does not match")]
    BadSignature,
    /// The signed timestamp is outside the tolerance window (401 `stale_timestamp`).
    #[error("the signed timestamp is outside the tolerance window")]
    StaleTimestamp,
    /// An unparsable header, timestamp or encoding (400 `malformed`); the text is a short
    /// detail without secret material, e.g. `Stripe-Signature has no t=`.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// Slack webhook whose URL is not verified yet, and the body is not a `url_verification`
    /// challenge (401 `challenge_required`).
    #[error("the URL is not verified yet; only a Slack url_verification challenge is accepted")]
    ChallengeRequired,
    /// The webhook's verifier plugin trapped, ran past its deadline, exceeded its memory or
    /// returned an invalid verdict (500 `plugin_error`; counted in `hookd_plugin_errors_total`).
    #[error("the verifier plugin failed")]
    PluginError,
}

impl Reject {
    /// Short machine-readable reason code for responses and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Reject::MissingSignature => "missing_signature",
            Reject::BadSignature => "bad_signature",
            Reject::StaleTimestamp => "stale_timestamp",
            Reject::Malformed(_) => "malformed",
            Reject::ChallengeRequired => "challenge_required",
            Reject::PluginError => "plugin_error",
        }
    }

    /// HTTP status to answer with: 400 for [`Reject::Malformed`], 500 for
    /// [`Reject::PluginError`], 401 otherwise.
    pub fn status(&self) -> StatusCode {
        match self {
            Reject::Malformed(_) => StatusCode::BAD_REQUEST,
            Reject::PluginError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// Error building a verifier from configuration (admin API validation answers 400 with it).
/// Messages name the configuration field, never the secret.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// A required secret or key is absent or empty; the field is named.
    #[error("{0} is required and must not be empty")]
    Missing(&'static str),
    /// `HEADER_BASED` without any header.
    #[error("HEADER_BASED needs at least one entry in headers")]
    NoHeaders,
    /// A configured header name is not a valid HTTP header name (names are not secret).
    #[error("{field}: `{name}` is not a valid header name")]
    HeaderName {
        /// Configuration field (`headers`, `headerKey`).
        field: &'static str,
        /// The offending name.
        name: String,
    },
    /// A configured header value is empty.
    #[error("headers.{0} must not be empty")]
    EmptyHeaderValue(String),
    /// Key material that must be base64 is not (e.g. the Teams security token).
    #[error("{0} is not valid base64")]
    Base64(&'static str),
    /// The SendGrid verification key does not parse.
    #[error("secretKey is not a P-256 public key (base64 DER SubjectPublicKeyInfo)")]
    PublicKey,
    /// A signing key (for [`sign::sendgrid`]) does not parse.
    #[error("the private key is not a P-256 private key (PKCS#8 or SEC1, PEM or base64 DER)")]
    PrivateKey,
}

/// One configured built-in verifier, ready to run (keys already decoded/parsed).
#[derive(Debug, Clone)]
pub enum Builtin {
    /// `HEADER_BASED`: fixed header values.
    Header(header::HeaderVerifier),
    /// `SLACK_BASED`: Slack request signing and `url_verification`.
    Slack(slack::SlackVerifier),
    /// `SIGNATURE_BASED`: GitHub-style `sha256=<hex>` body HMAC.
    GitHub(github::GitHubVerifier),
    /// `STRIPE`: `Stripe-Signature`.
    Stripe(stripe::StripeVerifier),
    /// `HMAC_BASED`: Microsoft Teams outgoing webhooks.
    Teams(teams::TeamsVerifier),
    /// `SENDGRID`: Signed Event Webhook (ECDSA P-256).
    SendGrid(sendgrid::SendGridVerifier),
    /// `TWITTER`: X's CRC challenge and `X-Twitter-Webhooks-Signature`.
    Twitter(twitter::TwitterVerifier),
}

impl Builtin {
    /// Verifies one request over its raw bytes.
    pub fn verify(&self, req: &RequestParts<'_>, ctx: &VerifyContext) -> Result<Outcome, Reject> {
        match self {
            Builtin::Header(v) => v.verify(req, ctx),
            Builtin::Slack(v) => v.verify(req, ctx),
            Builtin::GitHub(v) => v.verify(req, ctx),
            Builtin::Stripe(v) => v.verify(req, ctx),
            Builtin::Teams(v) => v.verify(req, ctx),
            Builtin::SendGrid(v) => v.verify(req, ctx),
            Builtin::Twitter(v) => v.verify(req, ctx),
        }
    }

    /// Whether the scheme answers `GET` (a handshake: X's CRC); the others take only `POST`.
    pub fn answers_get(&self) -> bool {
        matches!(self, Builtin::Twitter(_))
    }

    /// Label for metrics: `header`, `slack`, `github`, `stripe`, `teams`, `sendgrid`, `twitter`
    /// (the `KIND` of the variant's verifier).
    pub fn kind(&self) -> &'static str {
        match self {
            Builtin::Header(_) => header::HeaderVerifier::KIND,
            Builtin::Slack(_) => slack::SlackVerifier::KIND,
            Builtin::GitHub(_) => github::GitHubVerifier::KIND,
            Builtin::Stripe(_) => stripe::StripeVerifier::KIND,
            Builtin::Teams(_) => teams::TeamsVerifier::KIND,
            Builtin::SendGrid(_) => sendgrid::SendGridVerifier::KIND,
            Builtin::Twitter(_) => twitter::TwitterVerifier::KIND,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the verifiers.

/// Parses a configured header name (`None` or blank → `default`).
pub(crate) fn header_name(
    field: &'static str,
    configured: Option<String>,
    default: &'static str,
) -> Result<http::HeaderName, KeyError> {
    let name = configured
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(default);
    http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| KeyError::HeaderName {
        field,
        name: name.to_owned(),
    })
}

/// The first value of a required header, as text; absent → [`Reject::MissingSignature`],
/// not visible ASCII → `bad` (callers pass `BadSignature` for signatures, `Malformed` for
/// timestamps).
pub(crate) fn required_header<K: http::header::AsHeaderName>(
    headers: &HeaderMap,
    name: K,
    bad: Reject,
) -> Result<&str, Reject> {
    let v: &HeaderValue = headers.get(name).ok_or(Reject::MissingSignature)?;
    v.to_str().map(str::trim).map_err(|_| bad)
}

/// Parses a decimal Unix timestamp (seconds).
pub(crate) fn parse_unix(s: &str, what: &'static str) -> Result<i64, Reject> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject::Malformed(what));
    }
    s.parse::<i64>().map_err(|_| Reject::Malformed(what))
}

/// `|now - ts| > tolerance` (no overflow); a tolerance of 0 disables the check.
pub(crate) fn outside_window(now: i64, ts: i64, tolerance_secs: u64) -> bool {
    tolerance_secs > 0 && (i128::from(now) - i128::from(ts)).unsigned_abs() > tolerance_secs.into()
}

/// Top-level string members `keys` of a JSON object body, cheaply: the body is parsed only when
/// it starts with `{` after whitespace, other members are skipped without building values, a
/// member that is not a string yields `None`, and on a duplicate key the last one wins. Any
/// parse error yields all `None`.
pub(crate) fn json_strings<const N: usize>(body: &[u8], keys: [&str; N]) -> [Option<String>; N] {
    let none = || std::array::from_fn(|_| None);
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return none();
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match (Probe { keys: &keys }).deserialize(&mut de) {
        Ok(v) if de.end().is_ok() => v,
        _ => none(),
    }
}

/// `json_strings(body, [key])[0]`.
pub(crate) fn json_string(body: &[u8], key: &str) -> Option<String> {
    let [v] = json_strings(body, [key]);
    v
}

struct Probe<'k, const N: usize> {
    keys: &'k [&'k str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for Probe<'_, N> {
    type Value = [Option<String>; N];
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Probe<'_, N> {
    type Value = [Option<String>; N];
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
        while let Some(idx) = map.next_key_seed(KeyIndex { keys: self.keys })? {
            match idx {
                Some(i) => out[i] = map.next_value::<MaybeString>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// Deserializes an object key into its index in `keys` without allocating.
struct KeyIndex<'k, const N: usize> {
    keys: &'k [&'k str; N],
}

impl<'de, const N: usize> DeserializeSeed<'de> for KeyIndex<'_, N> {
    type Value = Option<usize>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<const N: usize> Visitor<'_> for KeyIndex<'_, N> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.keys.iter().position(|k| *k == v))
    }
}

/// A JSON value that is kept only when it is a string.
struct MaybeString(Option<String>);

impl<'de> de::Deserialize<'de> for MaybeString {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MaybeStringVisitor)
    }
}

struct MaybeStringVisitor;

impl<'de> Visitor<'de> for MaybeStringVisitor {
    type Value = MaybeString;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<MaybeString, E> {
        Ok(MaybeString(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<MaybeString, E> {
        Ok(MaybeString(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_none<E: de::Error>(self) -> Result<MaybeString, E> {
        Ok(MaybeString(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeString, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MaybeString, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MaybeString(None))
    }
}
