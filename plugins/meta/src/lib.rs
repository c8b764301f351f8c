//! Meta Graph webhooks (Facebook, Instagram, Messenger, WhatsApp Cloud API).
//!
//! - Subscription check: `GET …?hub.mode=subscribe&hub.verify_token=<token>&hub.challenge=<n>`
//!   is answered `200 text/plain <n>` when the token equals `pluginParams.verifyToken`
//!   (compared in constant time); otherwise 401. This handshake marks the URL verified.
//! - Events: `POST` with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`;
//!   the app secret is the webhook's secret (several = rotation). No delivery id, no timestamp.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier,
};

/// Longest `hub.challenge` echoed back (Meta sends a short integer).
const MAX_CHALLENGE: usize = 128;

struct Meta;

fn subscribe(req: &Request) -> Verdict {
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for (k, v) in form_urlencoded::parse(req.query().as_bytes()) {
        match &*k {
            "hub.mode" => mode = Some(v),
            "hub.verify_token" => token = Some(v),
            "hub.challenge" => challenge = Some(v),
            _ => {}
        }
    }
    let (Some(mode), Some(token), Some(challenge)) = (mode, token, challenge) else {
        return Verdict::reject(RejectReason::MissingSignature);
    };
    let Some(expected) = req.param("verifyToken").filter(|t| !t.is_empty()) else {
        return Verdict::reject(RejectReason::BadSignature);
    };
    if mode != "subscribe"
        || challenge.is_empty()
        || challenge.len() > MAX_CHALLENGE
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Verdict::reject(RejectReason::Malformed);
    }
    if !crypto::ct_eq(token.as_bytes(), expected.as_bytes()) {
        return Verdict::reject(RejectReason::BadSignature);
    }
    Verdict::handshake(200, "text/plain", challenge.as_bytes())
}

impl Verifier for Meta {
    fn verify(req: &Request) -> Verdict {
        if req.method == "GET" {
            return subscribe(req);
        }
        let Some(sig) = req.header("x-hub-signature-256") else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        let mut buf = [0u8; 32];
        let Some(given) = sig
            .strip_prefix("sha256=")
            .and_then(|h| encoding::hex_decode_into(h, &mut buf))
        else {
            return Verdict::reject(RejectReason::BadSignature);
        };
        let ok = req
            .secrets()
            .iter()
            .any(|s| crypto::hmac_sha256_matches(s.as_bytes(), &[&req.body], &[given]));
        if ok {
            Verdict::accept(None)
        } else {
            Verdict::reject(RejectReason::BadSignature)
        }
    }
}

export_verifier!(Meta);
