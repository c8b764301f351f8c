//! PagerDuty (V3 webhook subscriptions): `X-PagerDuty-Signature` is a comma-separated list of
//! `v1=<hex HMAC-SHA256(signing secret, raw body)>` — several while PagerDuty rotates the
//! secret; the request is authentic when any of them matches
//! (<https://developer.pagerduty.com/docs/webhooks/webhook-signatures>). Signatures of other
//! versions are ignored (PagerDuty may add some). No signed timestamp; the delivery id is
//! `X-Webhook-Id`.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier,
};

/// Signatures considered per request (PagerDuty sends one or two).
const MAX_SIGNATURES: usize = 8;

struct PagerDuty;

impl Verifier for PagerDuty {
    fn verify(req: &Request) -> Verdict {
        let Some(header) = req.header("x-pagerduty-signature") else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        let mut given: Vec<[u8; 32]> = Vec::new();
        for item in header
            .split(',')
            .filter_map(|s| s.trim().strip_prefix("v1="))
            .take(MAX_SIGNATURES)
        {
            let mut buf = [0u8; 32];
            if encoding::hex_decode_into(item, &mut buf).is_some_and(|d| d.len() == 32) {
                given.push(buf);
            }
        }
        if given.is_empty() {
            return Verdict::reject(RejectReason::BadSignature);
        }
        let given: Vec<&[u8]> = given.iter().map(|b| &b[..]).collect();
        let ok = req
            .secrets()
            .iter()
            .any(|s| crypto::hmac_sha256_matches(s.as_bytes(), &[&req.body], &given));
        if !ok {
            return Verdict::reject(RejectReason::BadSignature);
        }
        Verdict::accept(
            req.header("x-webhook-id")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        )
    }
}

export_verifier!(PagerDuty);
