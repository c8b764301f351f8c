//! `SIGNATURE_BASED` (GitHub and look-alikes): HMAC of the raw body in a single header.
//!
//! - default header `X-Hub-Signature-256: sha256=<hex>` (GitHub, Meta);
//! - configured header `X-Hub-Signature` (any case): the legacy `sha1=<hex>` HMAC-SHA1 (GitHub,
//!   Intercom), and also `sha256=<hex>` in that header (Bitbucket Cloud, Jira);
//! - any other configured header name: `sha256=<hex>` only (no downgrade to SHA-1).
//!
//! Key = the secret's UTF-8 bytes. Several secrets = rotation: accept when any matches
//! (`verifyWithFallback` in `@octokit/webhooks-methods`). No timestamp; the delivery id
//! (`X-GitHub-Delivery`, constant across redeliveries) is returned for de-duplication.

use std::fmt;

use http::HeaderName;

use super::hmac::{any_of, decode_hex, Sha1Key, Sha256Key, SHA1_LEN, SHA256_LEN};
use super::VerifyContext;
use super::{header_name, required_header, KeyError, Outcome, Reject, RequestParts, Secret};

/// Default signature header.
pub const DEFAULT_HEADER: &str = "X-Hub-Signature-256";
/// Legacy header that carries `sha1=` (or, from Bitbucket/Jira, `sha256=`).
pub const LEGACY_HEADER: &str = "X-Hub-Signature";
/// Delivery id header.
pub const DELIVERY_HEADER: &str = "X-GitHub-Delivery";

/// Verifier for GitHub-style body HMACs.
#[derive(Clone)]
pub struct GitHubVerifier {
    header: HeaderName,
    sha256: Vec<Sha256Key>,
    /// Only for the legacy header.
    sha1: Vec<Sha1Key>,
}

impl GitHubVerifier {
    /// Metrics label of this verifier (`SIGNATURE_BASED` webhooks).
    pub const KIND: &'static str = "github";

    /// Builds the verifier. `header_name` defaults to `X-Hub-Signature-256`; `X-Hub-Signature`
    /// selects legacy mode (`sha1=` accepted too). At least one non-empty secret is required;
    /// several = rotation.
    pub fn new(header_name_cfg: Option<String>, secrets: Vec<Secret>) -> Result<Self, KeyError> {
        let header = header_name("headerKey", header_name_cfg, DEFAULT_HEADER)?;
        if secrets.is_empty() || secrets.iter().any(Secret::is_empty) {
            return Err(KeyError::Missing("secretValue"));
        }
        let legacy = header.as_str().eq_ignore_ascii_case(LEGACY_HEADER);
        let sha256 = secrets.iter().map(|s| Sha256Key::new(s.expose())).collect();
        let sha1 = if legacy {
            secrets.iter().map(|s| Sha1Key::new(s.expose())).collect()
        } else {
            Vec::new()
        };
        Ok(GitHubVerifier {
            header,
            sha256,
            sha1,
        })
    }

    /// The header the signature is read from.
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// Verifies the body HMAC. Absent header → [`Reject::MissingSignature`]; unknown or
    /// disallowed algorithm prefix, bad hex, wrong length or no matching secret →
    /// [`Reject::BadSignature`].
    pub fn verify(&self, req: &RequestParts<'_>, _ctx: &VerifyContext) -> Result<Outcome, Reject> {
        let value = required_header(req.headers, &self.header, Reject::BadSignature)?;
        let (algo, hex) = value.split_once('=').ok_or(Reject::BadSignature)?;
        let algo = algo.trim();
        let hex = hex.trim();
        let body: &[&[u8]] = &[req.body];
        let ok = if algo.eq_ignore_ascii_case("sha256") {
            let tag = decode_hex::<SHA256_LEN>(hex).ok_or(Reject::BadSignature)?;
            any_of(&self.sha256, |k| k.verify(body, &tag))
        } else if algo.eq_ignore_ascii_case("sha1") && !self.sha1.is_empty() {
            let tag = decode_hex::<SHA1_LEN>(hex).ok_or(Reject::BadSignature)?;
            any_of(&self.sha1, |k| k.verify(body, &tag))
        } else {
            false
        };
        if !ok {
            return Err(Reject::BadSignature);
        }
        let delivery_id = req
            .headers
            .get(DELIVERY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        Ok(Outcome::Accept { delivery_id })
    }
}

impl fmt::Debug for GitHubVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubVerifier")
            .field("header", &self.header)
            .field("secrets", &self.sha256.len())
            .field("legacy_sha1", &!self.sha1.is_empty())
            .finish()
    }
}
