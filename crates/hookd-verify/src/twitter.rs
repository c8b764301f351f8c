//! `TWITTER`: X (Twitter) Account Activity / webhooks — the Challenge-Response Check (CRC) and
//! the `X-Twitter-Webhooks-Signature` of every delivery. Both are HMAC-SHA256 keyed with the
//! app's **consumer secret** (API key secret, `secretValue`), base64-encoded, prefixed `sha256=`.
//!
//! **CRC**: X sends `GET /webhook/{id}?crc_token=<token>` when the webhook is registered and
//! periodically after; the answer is `200` `application/json`
//! `{"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, crc_token))}`. Nothing is
//! queued; like any handshake it marks the URL verified.
//!
//! **Deliveries**: `POST` with `X-Twitter-Webhooks-Signature: sha256=<base64 HMAC-SHA256(consumer
//! secret, raw body)>`, compared in constant time. X signs no timestamp and sends no delivery id.
//!
//! **The CRC is an HMAC oracle**, keyed like delivery signatures: anyone can ask for the HMAC of a
//! string of their choosing. hookd keeps the two sets of signed messages apart: a `crc_token`
//! that could be a delivery body (one that starts with `{` after JSON whitespace) is refused, and
//! a delivery body must be a JSON object (X's always are), so no CRC answer is ever a valid
//! delivery signature. `crc_token` is also limited to [`MAX_CRC_TOKEN`] bytes.

use std::fmt;

use super::hmac::{decode_b64, encode_b64, Sha256Key, SHA256_LEN};
use super::VerifyContext;
use super::{required_header, KeyError, Outcome, Reject, Reply, RequestParts, Secret};

/// Signature header of deliveries.
pub const SIGNATURE_HEADER: &str = "X-Twitter-Webhooks-Signature";
/// Query parameter of the CRC.
pub const CRC_PARAM: &str = "crc_token";
/// Longest `crc_token` answered, bytes (X's tokens are far shorter).
pub const MAX_CRC_TOKEN: usize = 512;

/// Verifier for X (Twitter) webhooks.
#[derive(Clone)]
pub struct TwitterVerifier {
    key: Sha256Key,
}

impl TwitterVerifier {
    /// Metrics label of this verifier (`TWITTER` webhooks).
    pub const KIND: &'static str = "twitter";

    /// Builds the verifier from the consumer secret (`secretValue`, required, non-empty).
    pub fn new(consumer_secret: &Secret) -> Result<Self, KeyError> {
        if consumer_secret.is_empty() {
            return Err(KeyError::Missing("secretValue"));
        }
        Ok(TwitterVerifier {
            key: Sha256Key::new(consumer_secret.expose()),
        })
    }

    /// `GET` with a `crc_token`: the CRC answer. `POST`: the delivery signature. A `GET`
    /// without a usable `crc_token` → [`Reject::Malformed`]; a `POST` without the header →
    /// [`Reject::MissingSignature`]; a wrong signature, or a body that is not a JSON object →
    /// [`Reject::BadSignature`].
    pub fn verify(&self, req: &RequestParts<'_>, _ctx: &VerifyContext) -> Result<Outcome, Reject> {
        if req.method == http::Method::GET {
            return self.crc(req.query);
        }
        let value = required_header(req.headers, SIGNATURE_HEADER, Reject::BadSignature)?;
        let b64 = value.strip_prefix("sha256=").ok_or(Reject::BadSignature)?;
        let tag = decode_b64(b64.trim()).ok_or(Reject::BadSignature)?;
        if tag.len() != SHA256_LEN || !starts_as_object(req.body) {
            return Err(Reject::BadSignature);
        }
        if !self.key.verify(&[req.body], &tag) {
            return Err(Reject::BadSignature);
        }
        Ok(Outcome::Accept { delivery_id: None })
    }

    fn crc(&self, query: Option<&str>) -> Result<Outcome, Reject> {
        let token = query
            .into_iter()
            .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
            .find(|(k, _)| k == CRC_PARAM)
            .map(|(_, v)| v)
            .ok_or(Reject::Malformed("GET needs a crc_token query parameter"))?;
        if token.is_empty() || token.len() > MAX_CRC_TOKEN {
            return Err(Reject::Malformed("crc_token is empty or too long"));
        }
        if starts_as_object(token.as_bytes()) {
            return Err(Reject::Malformed("crc_token may not start with '{'"));
        }
        Ok(Outcome::Reply(Reply::ok(
            "application/json",
            crc_response(&self.key, &token),
        )))
    }
}

/// The CRC answer body for `token`: `{"response_token":"sha256=<base64>"}`.
fn crc_response(key: &Sha256Key, token: &str) -> String {
    let mac = key.mac(&[token.as_bytes()]);
    serde_json::json!({ "response_token": format!("sha256={}", encode_b64(&mac)) }).to_string()
}

/// Whether `b` starts with `{` after JSON whitespace (space, tab, LF, CR): every JSON object
/// does, and a CRC token that does is refused, so the two never overlap.
fn starts_as_object(b: &[u8]) -> bool {
    b.iter()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|c| *c == b'{')
}

impl fmt::Debug for TwitterVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwitterVerifier").finish_non_exhaustive()
    }
}
