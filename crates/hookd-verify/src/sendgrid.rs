//! `SENDGRID`: Signed Event Webhook, ECDSA P-256 / SHA-256.
//!
//! - `X-Twilio-Email-Event-Webhook-Signature`: base64 of the DER `SEQUENCE { r, s }`;
//! - `X-Twilio-Email-Event-Webhook-Timestamp`: Unix seconds as text;
//! - signed message: the timestamp's bytes immediately followed by the raw body bytes (no
//!   separator; SendGrid bodies end with `\r\n`, which is signed too);
//! - key: the verification key as SendGrid shows it, base64 DER SubjectPublicKeyInfo (a PEM
//!   `-----BEGIN PUBLIC KEY-----` block is accepted too).
//!
//! **High-S signatures are accepted**: SendGrid's own signatures often have `s > n/2` (vectors
//! SG-0, SG-0b), and OpenSSL and the SendGrid SDKs accept them. ring's ECDSA verification (used
//! here: ~5× cheaper than RustCrypto's `p256`, and already linked through rustls) accepts any
//! `s` in `[1, n−1]` and enforces no low-S rule; the shared vectors include both forms of every
//! signature (`tests.rs`, `sendgrid_vectors`). Keys are parsed with `p256` (SPKI, PEM or base64
//! DER, compressed or uncompressed points) and handed to ring as the uncompressed point.
//!
//! SendGrid documents no replay window and the SDKs check none; an optional tolerance (both
//! directions) can be configured. No delivery id (a batch carries one `sg_event_id` per event).

use std::fmt;

use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePublicKey;
use p256::PublicKey;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};

use super::hmac::{any_of, decode_b64, decode_b64_key};
use super::{outside_window, parse_unix, required_header, KeyError, Outcome, Reject};
use super::{RequestParts, VerifyContext};

/// Signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Email-Event-Webhook-Signature";
/// Timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Twilio-Email-Event-Webhook-Timestamp";

/// Verifier for SendGrid signed event webhooks.
#[derive(Clone)]
pub struct SendGridVerifier {
    /// The current key first, then earlier ones still accepted during a rotation.
    keys: Vec<UnparsedPublicKey<Vec<u8>>>,
    tolerance_secs: Option<u64>,
}

impl SendGridVerifier {
    /// Metrics label of this verifier (`SENDGRID` webhooks).
    pub const KIND: &'static str = "sendgrid";

    /// Builds the verifier from the public key as SendGrid shows it (base64 DER SPKI, or PEM)
    /// and an optional tolerance in seconds (`None` or `Some(0)`: no timestamp check, SendGrid's
    /// documented behaviour).
    pub fn new(public_key_b64_der: &str, tolerance_secs: Option<u64>) -> Result<Self, KeyError> {
        Ok(SendGridVerifier {
            keys: vec![public_key(public_key_b64_der)?],
            tolerance_secs: tolerance_secs.filter(|t| *t > 0),
        })
    }

    /// Also accepts signatures that verify with `previous` public keys (a key rotation; same
    /// encodings as the current key).
    pub fn with_previous<S: AsRef<str>>(mut self, previous: &[S]) -> Result<Self, KeyError> {
        for p in previous {
            self.keys.push(public_key(p.as_ref())?);
        }
        Ok(self)
    }

    /// Verifies a request. Absent headers → [`Reject::MissingSignature`]; bad base64/DER or a
    /// signature that does not verify → [`Reject::BadSignature`]; with a tolerance: a
    /// non-integer timestamp → [`Reject::Malformed`], outside the window →
    /// [`Reject::StaleTimestamp`].
    pub fn verify(&self, req: &RequestParts<'_>, ctx: &VerifyContext) -> Result<Outcome, Reject> {
        let sig_b64 = required_header(req.headers, SIGNATURE_HEADER, Reject::BadSignature)?;
        let ts = required_header(
            req.headers,
            TIMESTAMP_HEADER,
            Reject::Malformed("X-Twilio-Email-Event-Webhook-Timestamp is not visible ASCII"),
        )?;
        let der = decode_b64(sig_b64).ok_or(Reject::BadSignature)?;
        // ring hashes the message itself and has no incremental form: the signed message is
        // the timestamp's bytes followed by the body, built once.
        let mut msg = Vec::with_capacity(ts.len() + req.body.len());
        msg.extend_from_slice(ts.as_bytes());
        msg.extend_from_slice(req.body);
        if !any_of(&self.keys, |k| k.verify(&msg, &der).is_ok()) {
            return Err(Reject::BadSignature);
        }
        if let Some(tol) = self.tolerance_secs {
            let t = parse_unix(
                ts,
                "X-Twilio-Email-Event-Webhook-Timestamp is not a Unix timestamp",
            )?;
            if outside_window(ctx.now_unix, t, tol) {
                return Err(Reject::StaleTimestamp);
            }
        }
        Ok(Outcome::Accept { delivery_id: None })
    }
}

fn public_key(text: &str) -> Result<UnparsedPublicKey<Vec<u8>>, KeyError> {
    let der = pem_or_base64(text, "PUBLIC KEY").ok_or(KeyError::PublicKey)?;
    let key = PublicKey::from_public_key_der(&der).map_err(|_| KeyError::PublicKey)?;
    let point = key.to_encoded_point(false).as_bytes().to_vec();
    Ok(UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point))
}

/// Decodes a key given as bare base64 DER or as a PEM block with the expected `label`
/// (other labels → `None`).
pub(crate) fn pem_or_base64(text: &str, label: &str) -> Option<Vec<u8>> {
    pem_block(text)
        .map(|(l, b64)| (l == label).then(|| decode_b64_key(&b64)).flatten())
        .unwrap_or_else(|| decode_b64_key(text))
}

/// Splits a PEM block into its label and its base64 body (whitespace removed); `None` when the
/// text has no `-----BEGIN ` line.
pub(crate) fn pem_block(text: &str) -> Option<(&str, String)> {
    let text = text.trim();
    let rest = text.strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let end = format!("-----END {label}-----");
    let (body, _) = rest.split_once(end.as_str())?;
    let b64 = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    Some((label, b64))
}

impl fmt::Debug for SendGridVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendGridVerifier")
            .field("keys", &self.keys.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}
