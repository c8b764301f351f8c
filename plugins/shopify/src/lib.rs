//! Shopify: `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app client secret, raw body)).
//!
//! The secret is used as UTF-8 bytes. Several secrets = rotation (Shopify takes up to an hour to
//! switch to a new client secret). No signed timestamp. The delivery id is
//! `X-Shopify-Webhook-Id`.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier,
};

struct Shopify;

impl Verifier for Shopify {
    fn verify(req: &Request) -> Verdict {
        let Some(sig) = req.header("x-shopify-hmac-sha256") else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        let mut buf = [0u8; 48];
        let Some(given) = encoding::base64_decode_into(sig, &mut buf) else {
            return Verdict::reject(RejectReason::BadSignature);
        };
        let ok = req
            .secrets()
            .iter()
            .any(|s| crypto::hmac_sha256_matches(s.as_bytes(), &[&req.body], &[given]));
        if !ok {
            return Verdict::reject(RejectReason::BadSignature);
        }
        Verdict::accept(
            req.header("x-shopify-webhook-id")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        )
    }
}

export_verifier!(Shopify);
