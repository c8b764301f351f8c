//! `STRIPE`: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`.
//!
//! Exactly what the official SDKs do (`stripe-python` `WebhookSignature.verify_header`,
//! `stripe-node` `webhooks.signature.verifyHeader`):
//!
//! - split the header on `,`, each item on its first `=` (spaces around items, keys and values
//!   are tolerated); `t` is the timestamp (the last one wins, as in the SDKs), every `v1` is a
//!   candidate signature, **every other scheme is ignored** (`v0` is a fake test-mode signature;
//!   falling back to it would be a downgrade);
//! - signed payload = `"{t}." + raw body`, HMAC-SHA256 keyed with the endpoint secret string
//!   as-is (including `whsec_`, not base64-decoded), lowercase hex;
//! - accept when any `v1` matches any configured secret (during a secret roll Stripe sends one
//!   `v1` per active secret; several configured secrets cover the receiver side);
//! - then the timestamp: reject when `|now - t| > tolerance` — stale *or too far in the future*
//!   (the SDKs let future timestamps pass; hookd does not, so a request signed with a timestamp
//!   years ahead cannot be replayed for years); tolerance 0 disables the check. Signature
//!   first, then timestamp, as in the SDKs.
//!
//! The delivery id is the event's `id` from the JSON body.

use std::fmt;

use super::hmac::{any_of, decode_hex, Sha256Key, SHA256_LEN};
use super::{
    json_string, outside_window, required_header, KeyError, Outcome, Reject, RequestParts,
};
use super::{Secret, VerifyContext};

/// Signature header.
pub const HEADER: &str = "Stripe-Signature";
/// Default tolerance of the official libraries, seconds.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;
/// At most this many `v1` entries are considered (a real header has one per active secret).
const MAX_SIGNATURES: usize = 16;

/// Verifier for Stripe webhooks.
#[derive(Clone)]
pub struct StripeVerifier {
    keys: Vec<Sha256Key>,
    tolerance_secs: u64,
}

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedHeader {
    /// `t=`.
    pub timestamp: i64,
    /// Every decodable `v1=` (undecodable ones are dropped: they cannot match).
    pub v1: Vec<[u8; SHA256_LEN]>,
    /// Whether any `v1=` item was present at all (decodable or not).
    pub has_v1: bool,
}

impl StripeVerifier {
    /// Metrics label of this verifier (`STRIPE` webhooks).
    pub const KIND: &'static str = "stripe";

    /// Builds the verifier from the endpoint signing secret(s) (`whsec_…`, used as UTF-8 bytes)
    /// and the tolerance in seconds (0 disables the timestamp check).
    pub fn new(secrets: Vec<Secret>, tolerance_secs: u64) -> Result<Self, KeyError> {
        if secrets.is_empty() || secrets.iter().any(Secret::is_empty) {
            return Err(KeyError::Missing("secretValue"));
        }
        Ok(StripeVerifier {
            keys: secrets.iter().map(|s| Sha256Key::new(s.expose())).collect(),
            tolerance_secs,
        })
    }

    /// Verifies a request. Absent header → [`Reject::MissingSignature`]; no `t=` or a
    /// non-integer `t` → [`Reject::Malformed`]; no `v1=` (e.g. only `v0=`) or no match →
    /// [`Reject::BadSignature`]; authentic but further than the tolerance from now (either way)
    /// → [`Reject::StaleTimestamp`].
    pub fn verify(&self, req: &RequestParts<'_>, ctx: &VerifyContext) -> Result<Outcome, Reject> {
        let value = required_header(
            req.headers,
            HEADER,
            Reject::Malformed("Stripe-Signature is not visible ASCII"),
        )?;
        let parsed = parse_header(value)?;
        if !parsed.has_v1 {
            return Err(Reject::BadSignature);
        }
        let t = parsed.timestamp.to_string();
        let payload: &[&[u8]] = &[t.as_bytes(), b".", req.body];
        let ok = any_of(&self.keys, |k| {
            let expected = k.mac(payload);
            any_of(&parsed.v1, |sig| {
                bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &sig[..]))
            })
        });
        if !ok {
            return Err(Reject::BadSignature);
        }
        if outside_window(ctx.now_unix, parsed.timestamp, self.tolerance_secs) {
            return Err(Reject::StaleTimestamp);
        }
        Ok(Outcome::Accept {
            delivery_id: json_string(req.body, "id"),
        })
    }
}

/// Parses a `Stripe-Signature` value (see the module docs). Errors: no `t=` or a non-integer
/// `t` → [`Reject::Malformed`].
pub fn parse_header(value: &str) -> Result<ParsedHeader, Reject> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut has_v1 = false;
    for item in value.split(',') {
        let Some((k, v)) = item.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k {
            "t" => timestamp = Some(v),
            "v1" => {
                has_v1 = true;
                if v1.len() < MAX_SIGNATURES {
                    if let Some(sig) = decode_hex::<SHA256_LEN>(v) {
                        v1.push(sig);
                    }
                }
            }
            _ => {}
        }
    }
    let t = timestamp.ok_or(Reject::Malformed("Stripe-Signature has no t="))?;
    let timestamp = super::parse_unix(t, "Stripe-Signature t= is not a Unix timestamp")?;
    Ok(ParsedHeader {
        timestamp,
        v1,
        has_v1,
    })
}

impl fmt::Debug for StripeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeVerifier")
            .field("secrets", &self.keys.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}
