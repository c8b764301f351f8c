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
    crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier,
};

/// Default timestamp window, seconds (the spec's and the SDKs' ±5 minutes).
const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// `v1` signatures considered per request (senders send one, two while rotating).
const MAX_SIGNATURES: usize = 8;

struct StandardWebhooks;

/// The Standard Webhooks header, else its Svix twin.
fn header<'a>(req: &'a Request, standard: &str, svix: &str) -> Option<&'a str> {
    req.header(standard).or_else(|| req.header(svix))
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
        if let Err(r) = req.check_timestamp(ts, DEFAULT_TOLERANCE_SECS) {
            return Verdict::reject(r);
        }
        // Decoded on the stack: a v1 signature is a 32-byte MAC.
        let mut bufs = [[0u8; 48]; MAX_SIGNATURES];
        let mut given: [&[u8]; MAX_SIGNATURES] = [&[]; MAX_SIGNATURES];
        let mut n = 0;
        for (sig, buf) in sigs
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .zip(bufs.iter_mut())
        {
            if let Some(mac) = encoding::base64_decode_into(sig, buf) {
                given[n] = mac;
                n += 1;
            }
        }
        if n == 0 {
            return Verdict::reject(RejectReason::BadSignature);
        }
        let signed = [id.as_bytes(), b".", ts.as_bytes(), b".", &req.body];
        let mut key = [0u8; 256];
        for secret in req.secrets() {
            let secret = secret.trim();
            let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
            // Keys are short; a longer one is decoded onto the heap.
            let long;
            let k = match encoding::base64_decode_into(b64, &mut key) {
                Some(k) => k,
                None => match encoding::base64_decode(b64) {
                    Some(k) => {
                        long = k;
                        &long
                    }
                    None => continue,
                },
            };
            if crypto::hmac_sha256_matches(k, &signed, &given[..n]) {
                return Verdict::accept(Some(id.to_owned()));
            }
        }
        Verdict::reject(RejectReason::BadSignature)
    }
}

export_verifier!(StandardWebhooks);
