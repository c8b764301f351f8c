//! Write hookd webhook verifier plugins in Rust.
//!
//! A plugin is a WebAssembly component implementing the WIT world `hookd:verifier/verifier`
//! (`wit/verifier.wit` in this crate documents every field). This crate hides the bindings: you
//! implement [`Verifier`] for a type and name it in [`export_verifier!`]; the helpers cover what
//! webhook schemes need — HMAC-SHA256/SHA-1 and Ed25519 computed natively by the host
//! ([`crypto`]), constant-time comparison, hex and base64 ([`encoding`]), case-insensitive header
//! lookup ([`Request::header`]) and timestamp windows ([`time`]).
//!
//! # A complete plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "acme-verifier"
//! version = "0.1.0"
//! edition = "2021"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! hookd-plugin-sdk = { path = "../hookd/plugin-sdk" }
//!
//! [profile.release]
//! opt-level = 3
//! panic = "abort"
//! ```
//!
//! `src/lib.rs` — Acme signs `"{X-Acme-Timestamp}.{body}"` with HMAC-SHA256 and sends
//! `X-Acme-Signature: <hex>`:
//!
//! ```ignore
//! use hookd_plugin_sdk::{crypto, encoding, export_verifier, RejectReason, Request, Verdict, Verifier};
//!
//! struct Acme;
//!
//! impl Verifier for Acme {
//!     fn verify(req: &Request) -> Verdict {
//!         let (Some(sig), Some(ts)) = (req.header("x-acme-signature"), req.header("x-acme-timestamp")) else {
//!             return Verdict::reject(RejectReason::MissingSignature);
//!         };
//!         // Malformed, or outside the webhook's toleranceSeconds (default 5 minutes).
//!         if let Err(r) = req.check_timestamp(ts, 300) {
//!             return Verdict::reject(r);
//!         }
//!         let mut buf = [0u8; 32];
//!         let Some(expected) = encoding::hex_decode_into(sig, &mut buf) else {
//!             return Verdict::reject(RejectReason::BadSignature);
//!         };
//!         let signed = [ts.as_bytes(), b".", &req.body];
//!         // Several secrets = rotation: any of them may have signed. hookd hashes `signed`
//!         // in place and compares in constant time.
//!         let ok = req.secrets().iter().any(|s| {
//!             crypto::hmac_sha256_matches(s.as_bytes(), &signed, &[expected])
//!         });
//!         if ok {
//!             Verdict::accept(req.header("x-acme-delivery").map(str::to_owned))
//!         } else {
//!             Verdict::reject(RejectReason::BadSignature)
//!         }
//!     }
//! }
//!
//! export_verifier!(Acme);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (once: `rustup target add
//! wasm32-wasip2`), copy `target/wasm32-wasip2/release/acme_verifier.wasm` into hookd's
//! `[plugins] dir` as `acme.wasm`, reload (`SIGHUP` or `POST /api/admin/plugins/reload`) and
//! create a webhook with `"verifier": "WASM_PLUGIN", "plugin": "acme"`. See `README.md`.

#![warn(missing_docs)]

extern crate alloc;
// The generated bindings name this crate by its external name, also from inside it.
extern crate self as hookd_plugin_sdk;

use alloc::string::String;
use alloc::vec::Vec;

#[doc(hidden)]
pub mod __private {
    //! Generated bindings (used by [`export_verifier!`](crate::export_verifier)); not a stable API.
    #![allow(missing_docs)]
    // `verify`'s flattened arguments (16 values) in the generated export glue.
    #![allow(clippy::too_many_arguments)]
    wit_bindgen::generate!({
        world: "verifier",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_verifier_world",
        default_bindings_module: "hookd_plugin_sdk::__private",
        runtime_path: "hookd_plugin_sdk::__private::wit_bindgen::rt",
        // Verdicts compare in plugins' unit tests.
        additional_derives: [PartialEq, Eq],
        generate_all,
    });
    pub use wit_bindgen;
}

pub use __private::hookd::verifier::types::{Handshake, RejectReason, Scheme, Settings, Verdict};

pub mod form;
mod headers;
pub mod log;
#[cfg(not(target_arch = "wasm32"))]
mod native;
mod testing;
pub use headers::Headers;
pub use testing::RequestBuilder;

/// One request as received by hookd, not yet trusted (the WIT `request`, plus a header index).
///
/// The fields are the WIT record's, moved in without copying; see `wit/verifier.wit` for each.
#[derive(Debug)]
pub struct Request {
    /// Request method in upper case: `POST`, or `GET` for handshakes that use GET.
    pub method: String,
    /// Path and raw query as received (`/webhook/id` or `/webhook/id?a=b`); see
    /// [`Request::path`] and [`Request::query`].
    pub target: String,
    /// Every header: names lower-cased, in the order received. Look them up with
    /// [`Request::header`].
    pub headers: Headers,
    /// The raw body, byte for byte as received.
    pub body: Vec<u8>,
    /// hookd's clock at receipt, Unix seconds (the only clock a plugin has).
    pub now_unix_seconds: i64,
    /// Whether the webhook's URL has been verified already.
    pub url_verified: bool,
    /// The webhook's settings: secrets, params, tolerance.
    pub settings: Settings,
    /// How the request reached hookd: [`Scheme::Https`] over TLS (and HTTP/3).
    pub scheme: Scheme,
    /// The request's authority as received (`:authority` on HTTP/2 and HTTP/3, `Host` on
    /// HTTP/1.1), e.g. `hooks.example.com`; empty when it had none.
    pub authority: String,
    /// The full URL the sender called, as hookd reconstructs it (`[server] public_url`, or a
    /// trusted proxy's `X-Forwarded-Proto` / `X-Forwarded-Host`, else `scheme` and
    /// `authority`), then the target: what URL-signing providers (Twilio …) sign.
    pub url: String,
}

impl From<__private::hookd::verifier::types::Request> for Request {
    fn from(r: __private::hookd::verifier::types::Request) -> Request {
        Request {
            method: r.method,
            target: r.target,
            headers: Headers::new(r.headers),
            body: r.body,
            now_unix_seconds: r.now_unix_seconds,
            url_verified: r.url_verified,
            settings: r.settings,
            scheme: r.scheme,
            authority: r.authority,
            url: r.url,
        }
    }
}

/// What a plugin implements: one decision per request.
///
/// Called on a fresh or reused sandbox instance; keep no state between calls that matters.
/// Panicking is allowed and safe (hookd answers that request 500 `plugin_error`), but a verdict
/// is always better: reject what you cannot verify.
pub trait Verifier {
    /// Decides about one request: accept it (it is published to Kafka), reject it (401/400), or
    /// answer a handshake.
    fn verify(request: &Request) -> Verdict;
}

/// Exports a [`Verifier`] implementation as the plugin's `verify` function. Use it exactly once,
/// at the crate root of a `cdylib`.
#[macro_export]
macro_rules! export_verifier {
    ($ty:ty) => {
        const _: () = {
            struct HookdPluginExport;
            impl $crate::__private::Guest for HookdPluginExport {
                fn verify(
                    request: $crate::__private::hookd::verifier::types::Request,
                ) -> $crate::Verdict {
                    <$ty as $crate::Verifier>::verify(&$crate::Request::from(request))
                }
            }
            $crate::__private::__export_verifier_world!(HookdPluginExport with_types_in $crate::__private);
        };
    };
}

impl Request {
    /// The path, without the query (e.g. `/webhook/7f3c…`).
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The raw query string without `?`, not decoded; empty when there is none.
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, q)| q)
    }

    /// The body's `application/x-www-form-urlencoded` fields, decoded, in the order sent
    /// (see [`form`]). Check the signature over the raw [`Request::body`]; use this for what
    /// the scheme signs field by field (Twilio) or for values to read.
    pub fn form(&self) -> alloc::vec::Vec<(String, String)> {
        form::parse(&self.body)
    }

    /// The query string's fields, decoded, in the order sent.
    pub fn query_pairs(&self) -> alloc::vec::Vec<(String, String)> {
        form::parse(self.query().as_bytes())
    }

    /// A request to build by hand, for a plugin's native unit tests (`cargo test`).
    pub fn builder() -> RequestBuilder {
        RequestBuilder::new()
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Every value of header `name` (case-insensitive), in the order received.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.get_all(name)
    }

    /// The webhook's secrets (`secretValue`, then `pluginSecrets`); several = rotation.
    pub fn secrets(&self) -> &[String] {
        &self.settings.secrets
    }

    /// The webhook's `pluginParams` value for `name` (exact match).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.settings
            .params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The webhook's `toleranceSeconds`, or `default` when it has none.
    pub fn tolerance_or(&self, default: u64) -> u64 {
        self.settings.tolerance_seconds.unwrap_or(default)
    }

    /// Checks a signed timestamp header value against hookd's clock ([`time::check`]): the
    /// window is the webhook's `toleranceSeconds`, or `default_tolerance` when it has none (0:
    /// no window, for providers that document none; `ts` must still be a Unix timestamp).
    pub fn check_timestamp(&self, ts: &str, default_tolerance: u64) -> Result<(), RejectReason> {
        time::check(
            ts,
            self.now_unix_seconds,
            self.tolerance_or(default_tolerance),
        )
    }
}

impl Verdict {
    /// Accept, with the provider's delivery id when there is one (for de-duplication).
    pub fn accept(delivery_id: Option<String>) -> Verdict {
        Verdict::Accept(delivery_id)
    }

    /// Reject with `reason`.
    pub fn reject(reason: RejectReason) -> Verdict {
        Verdict::Reject(reason)
    }

    /// Answer a handshake with `status` (200–299), `content_type` and `body`.
    pub fn handshake(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Verdict {
        Verdict::Handshake(Handshake {
            status,
            content_type: content_type.into(),
            body: body.into(),
        })
    }

    /// Answer a handshake `200 application/json` with `json` as the body.
    pub fn handshake_json(json: impl Into<Vec<u8>>) -> Verdict {
        Verdict::handshake(200, "application/json", json)
    }
}

/// Cryptography run natively by the host, reading the arguments in place (nothing is copied
/// out of the plugin). A message is given as `parts` that are hashed as if concatenated, e.g.
/// `[id, b".", ts, b".", &req.body]`: the host takes the last part as is and the others joined
/// on the plugin's stack, so the body is never copied.
pub mod crypto {
    use alloc::vec::Vec;

    #[cfg(target_arch = "wasm32")]
    use crate::__private::hookd::verifier::crypto as host;
    // Natively (unit tests) the SDK stands in for hookd.
    #[cfg(not(target_arch = "wasm32"))]
    use crate::native::crypto as host;
    use crate::with_joined;

    /// HMAC-SHA256 of `data` with `key`; 32 bytes.
    pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
        host::hmac_sha256(key, &[], data)
    }

    /// HMAC-SHA256 of the concatenation of `parts`; 32 bytes.
    pub fn hmac_sha256_parts(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        split(parts, |prefix, data| host::hmac_sha256(key, prefix, data))
    }

    /// Whether HMAC-SHA256(`key`, concatenation of `parts`) equals any of `expected` (e.g. the
    /// decoded signatures of a header that carries several), compared in constant time. The
    /// usual check of a verifier: one host call, and the MAC never enters the plugin.
    pub fn hmac_sha256_matches(key: &[u8], parts: &[&[u8]], expected: &[&[u8]]) -> bool {
        matches(parts, expected, 32, |p, d, e| {
            host::hmac_sha256_matches(key, p, d, e)
        })
    }

    /// HMAC-SHA1 of `data` with `key`; 20 bytes (legacy schemes only).
    pub fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
        host::hmac_sha1(key, &[], data)
    }

    /// HMAC-SHA1 of the concatenation of `parts`; 20 bytes.
    pub fn hmac_sha1_parts(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        split(parts, |prefix, data| host::hmac_sha1(key, prefix, data))
    }

    /// [`hmac_sha256_matches`] with HMAC-SHA1 (20-byte MACs).
    pub fn hmac_sha1_matches(key: &[u8], parts: &[&[u8]], expected: &[&[u8]]) -> bool {
        matches(parts, expected, 20, |p, d, e| {
            host::hmac_sha1_matches(key, p, d, e)
        })
    }

    /// SHA-256 of `data`; 32 bytes.
    pub fn sha256(data: &[u8]) -> Vec<u8> {
        host::sha256(&[], data)
    }

    /// Constant-time equality (time depends only on the lengths). Use it for every comparison
    /// of a received signature or token with an expected one. Runs in the plugin (`subtle`):
    /// cheaper than the host's `constant-time-eq` import for signature-sized inputs.
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        a.ct_eq(b).into()
    }

    /// Ed25519 signature check of `message`: `public_key` 32 bytes, `signature` 64 bytes.
    pub fn ed25519_verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        host::ed25519_verify(public_key, &[], message, signature)
    }

    /// Ed25519 signature check of the concatenation of `parts`.
    pub fn ed25519_verify_parts(public_key: &[u8], parts: &[&[u8]], signature: &[u8]) -> bool {
        split(parts, |prefix, data| {
            host::ed25519_verify(public_key, prefix, data, signature)
        })
    }

    /// Calls `f(prefix, data)`: `data` the last part, `prefix` the others joined.
    fn split<R>(parts: &[&[u8]], f: impl FnOnce(&[u8], &[u8]) -> R) -> R {
        match parts {
            [] => f(&[], &[]),
            [init @ .., last] => with_joined(init.iter().copied(), |prefix| f(prefix, last)),
        }
    }

    /// Joins the candidates of the right length (others cannot match) and asks the host.
    fn matches(
        parts: &[&[u8]],
        expected: &[&[u8]],
        len: usize,
        f: impl FnOnce(&[u8], &[u8], &[u8]) -> bool,
    ) -> bool {
        let candidates = expected.iter().copied().filter(|e| e.len() == len);
        if candidates.clone().next().is_none() {
            return false;
        }
        with_joined(candidates, |e| split(parts, |p, d| f(p, d, e)))
    }
}

/// Calls `f` with `parts` concatenated: borrowed when there is only one, else joined on the
/// stack when they fit in 512 bytes, on the heap otherwise.
fn with_joined<'a, R>(
    parts: impl Iterator<Item = &'a [u8]> + Clone,
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    let mut first_two = parts.clone();
    match (first_two.next(), first_two.next()) {
        (None, _) => f(&[]),
        (Some(one), None) => f(one),
        _ => {
            let len: usize = parts.clone().map(<[u8]>::len).sum();
            let mut stack = [0u8; 512];
            let mut heap = Vec::new();
            let buf: &mut [u8] = if len <= stack.len() {
                &mut stack[..len]
            } else {
                heap.resize(len, 0);
                &mut heap
            };
            let mut at = 0;
            for p in parts {
                buf[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            f(buf)
        }
    }
}

/// Hex and base64 (standard alphabet, padded), as webhook signatures use them.
pub mod encoding {
    use alloc::string::String;
    use alloc::vec::Vec;

    use base64::Engine as _;

    /// Lower-case hex.
    pub fn hex_encode(bytes: &[u8]) -> String {
        hex::encode(bytes)
    }

    /// Decodes hex (either case); `None` if it is not hex.
    pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
        hex::decode(s.trim()).ok()
    }

    /// Decodes hex (either case) into `buf`, without allocating; `None` if it is not hex or
    /// does not fit. Returns the decoded bytes.
    pub fn hex_decode_into<'a>(s: &str, buf: &'a mut [u8]) -> Option<&'a [u8]> {
        let s = s.trim();
        let out = buf.get_mut(..s.len() / 2)?;
        hex::decode_to_slice(s, out).ok()?;
        Some(out)
    }

    /// Standard base64 with padding.
    pub fn base64_encode(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Decodes standard base64 (padding required); `None` if it is not.
    pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok()
    }

    /// Decodes standard base64 (padding required) into `buf`, without allocating; `None` if it
    /// is not base64 or does not fit. Returns the decoded bytes.
    pub fn base64_decode_into<'a>(s: &str, buf: &'a mut [u8]) -> Option<&'a [u8]> {
        let n = base64::engine::general_purpose::STANDARD
            .decode_slice(s.trim(), buf)
            .ok()?;
        Some(&buf[..n])
    }
}

/// Timestamp windows.
pub mod time {
    use crate::RejectReason;

    /// Checks a signed timestamp header value: [`RejectReason::Malformed`] when it is not a
    /// decimal Unix timestamp, [`RejectReason::StaleTimestamp`] when it is more than
    /// `tolerance_secs` away from `now` in either direction (0 disables the window).
    pub fn check(ts: &str, now: i64, tolerance_secs: u64) -> Result<(), RejectReason> {
        let t = parse_unix_seconds(ts).ok_or(RejectReason::Malformed)?;
        if within(now, t, tolerance_secs) {
            Ok(())
        } else {
            Err(RejectReason::StaleTimestamp)
        }
    }

    /// Parses a decimal Unix timestamp in seconds (digits only).
    pub fn parse_unix_seconds(s: &str) -> Option<i64> {
        let s = s.trim();
        if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }

    /// Whether `|now - ts| <= tolerance_secs` (both directions). A tolerance of 0 disables the
    /// check (always true).
    pub fn within(now: i64, ts: i64, tolerance_secs: u64) -> bool {
        tolerance_secs == 0
            || (i128::from(now) - i128::from(ts)).unsigned_abs() <= u128::from(tolerance_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_timestamp_uses_the_webhooks_tolerance_else_the_default() {
        let req = |tolerance_seconds| Request {
            method: "POST".into(),
            target: "/webhook/x".into(),
            headers: Headers::new(String::new()),
            body: Vec::new(),
            now_unix_seconds: 1_700_000_000,
            url_verified: false,
            settings: Settings {
                secrets: Vec::new(),
                params: Vec::new(),
                tolerance_seconds,
            },
            scheme: Scheme::Https,
            authority: String::new(),
            url: String::new(),
        };
        let hour_ago = "1699996400";
        assert_eq!(req(None).check_timestamp(hour_ago, 0), Ok(()), "no window");
        assert_eq!(
            req(None).check_timestamp(hour_ago, 300),
            Err(RejectReason::StaleTimestamp)
        );
        assert_eq!(req(Some(7200)).check_timestamp(hour_ago, 300), Ok(()));
        assert_eq!(
            req(Some(60)).check_timestamp(hour_ago, 0),
            Err(RejectReason::StaleTimestamp)
        );
        assert_eq!(
            req(None).check_timestamp("soon", 0),
            Err(RejectReason::Malformed),
            "a window or not, the value must be a Unix timestamp"
        );
    }

    /// The native stand-in for the host gives the RFC answers (HMAC: RFC 4231 / 2202,
    /// Ed25519: RFC 8032 test 1), so plugin unit tests check real signatures.
    #[test]
    fn the_native_host_computes_real_crypto() {
        let mac = crypto::hmac_sha256_parts(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        assert_eq!(
            encoding::hex_encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(crypto::hmac_sha256_matches(
            b"Jefe",
            &[b"what do ya want for nothing?"],
            &[b"wrong", &mac]
        ));
        assert!(!crypto::hmac_sha256_matches(b"Jefe", &[b"x"], &[&mac]));
        let sha1 = crypto::hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            encoding::hex_encode(&sha1),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert!(crypto::hmac_sha1_matches(
            b"Jefe",
            &[b"what do ya want for nothing?"],
            &[&sha1]
        ));
        assert_eq!(
            encoding::hex_encode(&crypto::sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let pk = encoding::hex_decode(
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        )
        .unwrap();
        let sig = encoding::hex_decode("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b").unwrap();
        assert!(crypto::ed25519_verify(&pk, b"", &sig));
        assert!(!crypto::ed25519_verify(&pk, b"x", &sig));
        assert!(!crypto::ed25519_verify(&pk[..31], b"", &sig));
    }

    #[test]
    fn native_log_lines_are_kept_for_tests() {
        log::info("hello");
        log::warn("careful");
        assert_eq!(
            log::take_lines(),
            vec![
                (log::Level::Info, String::from("hello")),
                (log::Level::Warn, String::from("careful"))
            ]
        );
        assert!(log::take_lines().is_empty());
    }

    #[test]
    fn the_builder_and_form_helpers() {
        let req = Request::builder()
            .target("/webhook/x?b=2&a=%20")
            .header("X-Twilio-Signature", " sig ")
            .body("To=%2B1&Body=hi+there")
            .param("b", "2")
            .param("a", "1")
            .build();
        assert_eq!(req.header("x-twilio-signature"), Some("sig"));
        assert_eq!(req.url, "https://hooks.example.com/webhook/x?b=2&a=%20");
        assert_eq!(req.param("a"), Some("1"));
        assert_eq!(
            req.settings.params[0].0, "a",
            "sorted like hookd sends them"
        );
        assert_eq!(
            req.form(),
            vec![
                ("To".into(), "+1".into()),
                ("Body".into(), "hi there".into())
            ]
        );
        assert_eq!(req.query_pairs()[1], ("a".into(), " ".into()));
    }

    #[test]
    fn with_joined_borrows_one_part_and_joins_several() {
        let parts: [&[u8]; 3] = [b"id", b".", b"17"];
        assert_eq!(with_joined(parts.iter().copied(), |j| j.to_vec()), b"id.17");
        assert_eq!(
            with_joined(parts[..1].iter().copied(), |j| j.as_ptr()),
            parts[0].as_ptr()
        );
        assert_eq!(with_joined(core::iter::empty(), |j| j.len()), 0);
        let big = [7u8; 400];
        let joined = with_joined([&big[..], &big[..]].into_iter(), |j| j.to_vec());
        assert_eq!(joined.len(), 800, "past the stack buffer");
        assert!(joined.iter().all(|&b| b == 7));
    }

    #[test]
    fn timestamp_check_answers_the_reject_reason() {
        let now = 1_700_000_000;
        assert_eq!(time::check("1700000000", now, 300), Ok(()));
        assert_eq!(time::check(" 1699999700 ", now, 300), Ok(()));
        assert_eq!(
            time::check("1699999699", now, 300),
            Err(RejectReason::StaleTimestamp)
        );
        assert_eq!(
            time::check("1700000301", now, 300),
            Err(RejectReason::StaleTimestamp)
        );
        assert_eq!(time::check("1", now, 0), Ok(()), "0 disables the window");
        for bad in ["", "-5", "17e8", "1700000000.5", "99999999999999999999"] {
            assert_eq!(
                time::check(bad, now, 300),
                Err(RejectReason::Malformed),
                "{bad}"
            );
        }
    }
}
