//! Discord interactions: `X-Signature-Ed25519` (hex) is an Ed25519 signature over
//! `X-Signature-Timestamp` followed by the raw body, checked with the application's public key.
//!
//! - Settings: `pluginParams.publicKey` = the application's public key, hex (Developer Portal).
//! - Every request must carry a valid signature; Discord deliberately sends invalid ones and
//!   removes the endpoint unless they get 401.
//! - A PING (`"type": 1`) is answered `200 application/json {"type":1}` (a handshake, which also
//!   marks the URL verified); every other interaction is accepted with its `id` as delivery id.
//! - Discord documents no timestamp window; with `toleranceSeconds` set, older or newer
//!   timestamps are rejected. A timestamp that is not a Unix time is always rejected.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier,
};

struct Discord;

impl Verifier for Discord {
    fn verify(req: &Request) -> Verdict {
        let (Some(sig), Some(ts)) = (
            req.header("x-signature-ed25519"),
            req.header("x-signature-timestamp"),
        ) else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        let Some(key) = req.param("publicKey").and_then(encoding::hex_decode) else {
            // Misconfigured webhook: nothing can verify.
            return Verdict::reject(RejectReason::BadSignature);
        };
        let Some(sig) = encoding::hex_decode(sig) else {
            return Verdict::reject(RejectReason::BadSignature);
        };
        if !crypto::ed25519_verify_parts(&key, &[ts.as_bytes(), &req.body], &sig) {
            return Verdict::reject(RejectReason::BadSignature);
        }
        // No documented window: only a `toleranceSeconds` sets one.
        if let Err(r) = req.check_timestamp(ts, 0) {
            return Verdict::reject(r);
        }
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
            return Verdict::reject(RejectReason::Malformed);
        };
        if body.get("type").and_then(serde_json::Value::as_u64) == Some(1) {
            return Verdict::handshake_json(&br#"{"type":1}"#[..]);
        }
        Verdict::accept(body.get("id").and_then(|v| v.as_str()).map(str::to_owned))
    }
}

export_verifier!(Discord);
