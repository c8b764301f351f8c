//! `HEADER_BASED`: every configured header must be present with exactly the configured value.
//!
//! This is a shared-secret check (GitLab's `X-Gitlab-Token`, custom integrations): there is no
//! MAC over the body and no timestamp, so it protects only against senders who do not know the
//! values. Names are matched case-insensitively; values byte-exactly and in constant time (a
//! length mismatch may return early, which leaks only the length).

use std::fmt;

use http::HeaderName;
use subtle::ConstantTimeEq;

use super::{KeyError, Outcome, Reject, RequestParts, Secret, VerifyContext};

/// Verifier for `HEADER_BASED` webhooks.
#[derive(Clone)]
pub struct HeaderVerifier {
    headers: Vec<(HeaderName, Secret)>,
}

impl HeaderVerifier {
    /// Metrics label of this verifier (`HEADER_BASED` webhooks).
    pub const KIND: &'static str = "header";

    /// Builds the verifier from `(header name, expected value)` pairs. At least one header is
    /// required; names must be valid HTTP header names and values must not be empty.
    pub fn new(headers: Vec<(String, Secret)>) -> Result<Self, KeyError> {
        if headers.is_empty() {
            return Err(KeyError::NoHeaders);
        }
        let mut out = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            let parsed = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                KeyError::HeaderName {
                    field: "headers",
                    name: name.clone(),
                }
            })?;
            if value.is_empty() {
                return Err(KeyError::EmptyHeaderValue(name));
            }
            out.push((parsed, value));
        }
        Ok(HeaderVerifier { headers: out })
    }

    /// Checks every configured header: one absent → [`Reject::MissingSignature`], one with a
    /// different value → [`Reject::BadSignature`]. With a repeated header, any of its values may
    /// match. Accepts with no delivery id.
    pub fn verify(&self, req: &RequestParts<'_>, _ctx: &VerifyContext) -> Result<Outcome, Reject> {
        let mut missing = false;
        let mut all_match = true;
        for (name, expected) in &self.headers {
            let mut present = false;
            let mut matched = false;
            for got in req.headers.get_all(name) {
                present = true;
                matched |= bool::from(got.as_bytes().ct_eq(expected.expose()));
            }
            missing |= !present;
            all_match &= matched;
        }
        if missing {
            Err(Reject::MissingSignature)
        } else if !all_match {
            Err(Reject::BadSignature)
        } else {
            Ok(Outcome::Accept { delivery_id: None })
        }
    }

    /// Names of the configured headers (not secret).
    pub fn header_names(&self) -> impl Iterator<Item = &HeaderName> {
        self.headers.iter().map(|(n, _)| n)
    }
}

impl fmt::Debug for HeaderVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderVerifier")
            .field("headers", &self.header_names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
