//! {{name}}: a hookd verifier plugin.
//!
//! The scheme (change it to your provider's): the sender signs `"{X-Timestamp}.{body}"` with
//! HMAC-SHA256 keyed with the webhook's secret and sends the hex digest in `X-Signature`, the
//! Unix time in `X-Timestamp` and a delivery id in `X-Delivery-Id`.
//!
//! Build: `cargo build --release --target wasm32-wasip2`; test natively: `cargo test`; test the
//! component: `hookd plugin test target/wasm32-wasip2/release/{{crate}}.wasm tests/vectors.json`.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, log, RejectReason, Request, Verdict, Verifier,
};

/// Default timestamp window when the webhook sets no `toleranceSeconds`.
const TOLERANCE_SECS: u64 = 300;

struct Plugin;

impl Verifier for Plugin {
    fn verify(req: &Request) -> Verdict {
        let (Some(sig), Some(ts)) = (req.header("x-signature"), req.header("x-timestamp")) else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        if let Err(r) = req.check_timestamp(ts, TOLERANCE_SECS) {
            log::info("timestamp outside the window");
            return Verdict::reject(r);
        }
        let mut buf = [0u8; 32];
        let Some(expected) = encoding::hex_decode_into(sig, &mut buf) else {
            return Verdict::reject(RejectReason::Malformed);
        };
        let signed = [ts.as_bytes(), b".", &req.body];
        // Several secrets = rotation: any of them may have signed. The host hashes `signed`
        // in place and compares in constant time.
        let ok = req
            .secrets()
            .iter()
            .any(|s| crypto::hmac_sha256_matches(s.as_bytes(), &signed, &[expected]));
        if ok {
            Verdict::accept(req.header("x-delivery-id").map(str::to_owned))
        } else {
            Verdict::reject(RejectReason::BadSignature)
        }
    }
}

export_verifier!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use hookd_plugin_sdk::Request;

    /// A request signed the way the sender signs (the SDK computes HMACs natively in tests).
    fn signed(secret: &str, ts: &str, body: &str) -> Request {
        let mac =
            crypto::hmac_sha256_parts(secret.as_bytes(), &[ts.as_bytes(), b".", body.as_bytes()]);
        Request::builder()
            .header("X-Signature", &encoding::hex_encode(&mac))
            .header("X-Timestamp", ts)
            .header("X-Delivery-Id", "d-1")
            .body(body)
            .secret("s3cret")
            .now(1_700_000_010)
            .build()
    }

    #[test]
    fn accepts_a_signed_request() {
        let v = Plugin::verify(&signed("s3cret", "1700000000", "{}"));
        assert_eq!(v, Verdict::accept(Some("d-1".into())));
    }

    #[test]
    fn refuses_a_wrong_secret_and_an_old_timestamp() {
        let v = Plugin::verify(&signed("other", "1700000000", "{}"));
        assert_eq!(v, Verdict::reject(RejectReason::BadSignature));
        let v = Plugin::verify(&signed("s3cret", "1600000000", "{}"));
        assert_eq!(v, Verdict::reject(RejectReason::StaleTimestamp));
        assert!(
            !log::take_lines().is_empty(),
            "the stale timestamp was logged"
        );
    }
}
