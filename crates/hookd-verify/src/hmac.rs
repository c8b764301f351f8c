//! Shared HMAC and encoding helpers for the verifiers and for [`super::sign`].
//!
//! Keys are processed once when a verifier is built ([`Sha256Key`], [`Sha1Key`] hold the keyed
//! HMAC state and are cloned per request). Every comparison is constant-time
//! ([`hmac::Mac::verify_slice`], which also rejects a length mismatch), and every decoder
//! returns `None` instead of panicking on bad input.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Length of an HMAC-SHA256 tag.
pub const SHA256_LEN: usize = 32;
/// Length of an HMAC-SHA1 tag.
pub const SHA1_LEN: usize = 20;

/// A pre-keyed HMAC-SHA256. `Debug` does not show key material.
#[derive(Clone)]
pub struct Sha256Key(Hmac<Sha256>);

/// A pre-keyed HMAC-SHA1 (legacy GitHub `X-Hub-Signature`). `Debug` does not show key material.
#[derive(Clone)]
pub struct Sha1Key(Hmac<Sha1>);

impl Sha256Key {
    /// Keys an HMAC-SHA256 (any key length is valid for HMAC).
    pub fn new(key: &[u8]) -> Self {
        Sha256Key(Hmac::new_from_slice(key).expect("HMAC accepts keys of any length"))
    }

    /// HMAC-SHA256 over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; SHA256_LEN] {
        let mut m = self.0.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// Constant-time check of `tag` against the HMAC of the concatenation of `parts`
    /// (false on a length mismatch).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut m = self.0.clone();
        for p in parts {
            m.update(p);
        }
        m.verify_slice(tag).is_ok()
    }
}

impl Sha1Key {
    /// Keys an HMAC-SHA1.
    pub fn new(key: &[u8]) -> Self {
        Sha1Key(Hmac::new_from_slice(key).expect("HMAC accepts keys of any length"))
    }

    /// HMAC-SHA1 over the concatenation of `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; SHA1_LEN] {
        let mut m = self.0.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// Constant-time check of `tag` against the HMAC of the concatenation of `parts`.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut m = self.0.clone();
        for p in parts {
            m.update(p);
        }
        m.verify_slice(tag).is_ok()
    }
}

impl fmt::Debug for Sha256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256Key(***)")
    }
}

impl fmt::Debug for Sha1Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha1Key(***)")
    }
}

/// One-shot HMAC-SHA256 of the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; SHA256_LEN] {
    Sha256Key::new(key).mac(parts)
}

/// One-shot HMAC-SHA1 of the concatenation of `parts`.
pub fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> [u8; SHA1_LEN] {
    Sha1Key::new(key).mac(parts)
}

/// Decodes exactly `N` bytes of hex (either case); `None` on bad hex or a wrong length.
pub fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s.as_bytes(), &mut out).ok()?;
    Some(out)
}

/// Standard base64 alphabet, padding optional on decode (senders differ).
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// URL-safe base64 alphabet, padding optional on decode.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes standard base64 (padding optional); `None` on bad input. Used for received
/// signatures.
pub fn decode_b64(s: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT.decode(s.as_bytes()).ok()
}

/// Decodes configured key material: surrounding whitespace ignored, standard or URL-safe
/// alphabet, padding optional. `None` on bad input.
pub fn decode_b64_key(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    STANDARD_LENIENT
        .decode(s.as_bytes())
        .or_else(|_| URL_SAFE_LENIENT.decode(s.as_bytes()))
        .ok()
}

/// Standard base64 with padding (what every provider here sends).
pub fn encode_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// True when `f` holds for any item. Every item is evaluated (no early exit on a match), so the
/// timing does not reveal which secret or which listed signature matched.
pub fn any_of<T>(items: impl IntoIterator<Item = T>, mut f: impl FnMut(T) -> bool) -> bool {
    items.into_iter().fold(false, |acc, x| f(x) | acc)
}
