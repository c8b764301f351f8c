//! Zoom: `x-zm-signature: v0=<hex HMAC-SHA256(secret token, "v0:{x-zm-request-timestamp}:{body}")>`.
//!
//! - The secret token is used as UTF-8 bytes; several secrets = rotation.
//! - `endpoint.url_validation` (sent on setup and every 72 h) is answered
//!   `200 application/json {"plainToken": "<same>", "encryptedToken": "<hex HMAC-SHA256(secret,
//!   plainToken)>"}` with the first secret — but only when the request itself is correctly
//!   signed: answering unsigned challenges would let anyone obtain HMACs of chosen text, i.e.
//!   forge signatures.
//! - Zoom documents no timestamp window; with `toleranceSeconds` set it is enforced. A timestamp
//!   that is not a Unix time is always rejected.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier,
};

struct Zoom;

impl Verifier for Zoom {
    fn verify(req: &Request) -> Verdict {
        let (Some(sig), Some(ts)) = (
            req.header("x-zm-signature"),
            req.header("x-zm-request-timestamp"),
        ) else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        let Some(given) = sig.strip_prefix("v0=").and_then(encoding::hex_decode) else {
            return Verdict::reject(RejectReason::BadSignature);
        };
        let signed = [b"v0:", ts.as_bytes(), b":", &req.body[..]];
        let Some(secret) = req
            .secrets()
            .iter()
            .find(|s| crypto::hmac_sha256_matches(s.as_bytes(), &signed, &[&given]))
        else {
            return Verdict::reject(RejectReason::BadSignature);
        };
        // No documented window: only a `toleranceSeconds` sets one.
        if let Err(r) = req.check_timestamp(ts, 0) {
            return Verdict::reject(r);
        }
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
            return Verdict::reject(RejectReason::Malformed);
        };
        if body.get("event").and_then(|e| e.as_str()) == Some("endpoint.url_validation") {
            let Some(plain) = body.pointer("/payload/plainToken").and_then(|t| t.as_str()) else {
                return Verdict::reject(RejectReason::Malformed);
            };
            let encrypted =
                encoding::hex_encode(&crypto::hmac_sha256(secret.as_bytes(), plain.as_bytes()));
            let answer = serde_json::json!({"plainToken": plain, "encryptedToken": encrypted});
            return Verdict::handshake_json(answer.to_string());
        }
        Verdict::accept(None)
    }
}

export_verifier!(Zoom);
