//! [Standard Webhooks](https://www.standardwebhooks.com/) (and Svix, which sends the same values
//! as `svix-id` / `svix-timestamp` / `svix-signature`).
//!
//! - `webhook-signature` is a space-separated list of `<version>,<base64>`; `v1` is
//!   base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")). Other versions
//!   (e.g. `v1a`, Ed25519) are ignored. Any `v1` signature matching any secret accepts, so a
//!   sender signing with an old and a new key during rotation is accepted with either.
//! - Secrets are `whsec_<base64>` (the prefix is optional); the HMAC key is the decoded bytes.
//!   A secret that does not decode matches nothing.
//! - `webhook-timestamp` (Unix seconds) must be within ±`toleranceSeconds` (default 300) of now.
//! - The delivery id is `webhook-id` (constant across retries).

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, time, RejectReason, Request, Verdict, Verifier,
};

/// Default timestamp window, seconds (the spec's and the SDKs' ±5 minutes).
const DEFAULT_TOLERANCE_SECS: u64 = 300;

struct StandardWebhooks;

/// The Standard Webhooks header, else its Svix twin.
fn header<'a>(req: &'a Request, standard: &str, svix: &str) -> Option<&'a str> {
    req.header(standard).or_else(|| req.header(svix))
}

fn key(secret: &str) -> Option<Vec<u8>> {
    encoding::base64_decode(secret.trim().strip_prefix("whsec_").unwrap_or(secret))
}

impl Verifier for StandardWebhooks {
    fn verify(req: &Request) -> Verdict {
        let (Some(id), Some(ts), Some(sigs)) = (
            header(req, "webhook-id", "svix-id"),
            header(req, "webhook-timestamp", "svix-timestamp"),
            header(req, "webhook-signature", "svix-signature"),
        ) else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        let Some(t) = time::parse_unix_seconds(ts) else {
            return Verdict::reject(RejectReason::Malformed);
        };
        if !time::within(
            req.now_unix_seconds,
            t,
            req.tolerance_or(DEFAULT_TOLERANCE_SECS),
        ) {
            return Verdict::reject(RejectReason::StaleTimestamp);
        }
        let given: Vec<Vec<u8>> = sigs
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(encoding::base64_decode)
            .collect();
        if given.is_empty() {
            return Verdict::reject(RejectReason::BadSignature);
        }
        let signed = [id.as_bytes(), b".", ts.as_bytes(), b".", &req.body];
        for secret in req.secrets() {
            let Some(k) = key(secret) else { continue };
            let mac = crypto::hmac_sha256_parts(&k, &signed);
            if given.iter().any(|g| crypto::ct_eq(&mac, g)) {
                return Verdict::accept(Some(id.to_owned()));
            }
        }
        Verdict::reject(RejectReason::BadSignature)
    }
}

export_verifier!(StandardWebhooks);
