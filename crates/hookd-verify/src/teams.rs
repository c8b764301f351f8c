//! `HMAC_BASED` (Microsoft Teams outgoing webhooks): `Authorization: HMAC <base64>`.
//!
//! The value is `base64(HMAC-SHA256(key, raw body))` where the key is the **base64-decoded**
//! security token shown by Teams when the outgoing webhook is created (Microsoft's samples:
//! `Convert.FromBase64String`, `Buffer(secret, "base64")`). The received value is decoded and
//! compared as bytes in constant time. The `HMAC` scheme word is matched case-insensitively and
//! may be omitted (useful with a custom `headerKey`). No timestamp; the delivery id is the
//! activity's `id` from the JSON body.

use std::fmt;

use http::HeaderName;

use super::hmac::{any_of, decode_b64, decode_b64_key, Sha256Key};
use super::{header_name, json_string, required_header, KeyError, Outcome, Reject};
use super::{RequestParts, Secret, VerifyContext};

/// Default signature header.
pub const DEFAULT_HEADER: &str = "Authorization";
/// Scheme word before the base64 MAC.
pub const SCHEME: &str = "HMAC";

/// Verifier for Teams outgoing webhooks.
#[derive(Clone)]
pub struct TeamsVerifier {
    header: HeaderName,
    /// The current token first, then earlier ones still accepted during a rotation.
    keys: Vec<Sha256Key>,
}

impl TeamsVerifier {
    /// Metrics label of this verifier (`HMAC_BASED` webhooks).
    pub const KIND: &'static str = "teams";

    /// Builds the verifier. `header_name` defaults to `Authorization`; `security_token_b64` is
    /// the security token as Teams shows it (base64; standard or URL-safe alphabet, padding
    /// optional, surrounding whitespace ignored). Not base64 or empty → [`KeyError`].
    pub fn new(
        header_name_cfg: Option<String>,
        security_token_b64: &Secret,
    ) -> Result<Self, KeyError> {
        let header = header_name("headerKey", header_name_cfg, DEFAULT_HEADER)?;
        Ok(TeamsVerifier {
            header,
            keys: vec![token_key(security_token_b64, "secretValue")?],
        })
    }

    /// Also accepts HMACs keyed with `previous` tokens (a rotation; same encoding as the
    /// current token). An empty or non-base64 one → [`KeyError`] naming `previousSecretValues`.
    pub fn with_previous(mut self, previous: &[Secret]) -> Result<Self, KeyError> {
        for p in previous {
            self.keys.push(token_key(p, "previousSecretValues")?);
        }
        Ok(self)
    }

    /// The header the signature is read from.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// Verifies the body HMAC. Absent header → [`Reject::MissingSignature`]; another scheme,
    /// bad base64, wrong length or a mismatch → [`Reject::BadSignature`].
    pub fn verify(&self, req: &RequestParts<'_>, _ctx: &VerifyContext) -> Result<Outcome, Reject> {
        let value = required_header(req.headers, &self.header, Reject::BadSignature)?;
        let b64 = strip_scheme(value).ok_or(Reject::BadSignature)?;
        let tag = decode_b64(b64).ok_or(Reject::BadSignature)?;
        if !any_of(&self.keys, |k| k.verify(&[req.body], &tag)) {
            return Err(Reject::BadSignature);
        }
        Ok(Outcome::Accept {
            delivery_id: json_string(req.body, "id"),
        })
    }
}

/// The HMAC key of a security token as Teams shows it (base64).
fn token_key(token_b64: &Secret, field: &'static str) -> Result<Sha256Key, KeyError> {
    let token = std::str::from_utf8(token_b64.expose()).map_err(|_| KeyError::Base64(field))?;
    if token.trim().is_empty() {
        return Err(KeyError::Missing(field));
    }
    let key = Secret::new(decode_b64_key(token).ok_or(KeyError::Base64(field))?);
    if key.is_empty() {
        return Err(KeyError::Missing(field));
    }
    Ok(Sha256Key::new(key.expose()))
}

/// `"HMAC <b64>"` (any case, any whitespace) or a bare `"<b64>"` → the base64 part; another
/// scheme (`"Bearer x"`) → `None`.
fn strip_scheme(value: &str) -> Option<&str> {
    let value = value.trim();
    match value.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case(SCHEME) => Some(rest.trim()),
        Some(_) => None,
        None => Some(value),
    }
}

impl fmt::Debug for TeamsVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsVerifier")
            .field("header", &self.header)
            .field("secrets", &self.keys.len())
            .finish()
    }
}
