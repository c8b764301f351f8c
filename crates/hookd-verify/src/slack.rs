//! `SLACK_BASED`: Slack request signing and the `url_verification` handshake.
//!
//! **Until the URL is verified** only a `url_verification` challenge is answered; anything else —
//! even a correctly signed event — is refused with [`Reject::ChallengeRequired`] (401) and never
//! published (Orkes: "all requests will be ignored until the URL verification is completed via
//! the challenge mechanism"). Slash commands and interactivity send no challenge: verify such a
//! URL once by posting a `url_verification` body yourself (signed with `hookd sign slack` when a
//! signing secret is configured).
//!
//! **With a signing secret** (recommended): every request, the challenge included, must carry
//! `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp: <unix>`; the signature is
//! HMAC-SHA256 keyed with the signing secret's UTF-8 bytes (it looks like hex but is *not*
//! hex-decoded) over `"v0:{timestamp}:" + raw body`, and the timestamp must be within the
//! tolerance of the local clock in **both** directions (`slack_sdk` semantics; tolerance 0
//! disables the clock check). This holds before and after the URL is verified — unlike Orkes,
//! which stops checking once the URL is verified.
//!
//! **Without a signing secret** (Orkes compatibility, weak): once the URL is verified, **every
//! request is accepted unauthenticated**, exactly like Orkes. Configure a signing secret to
//! avoid this.
//!
//! **Challenge**: only a JSON object body with `"type": "url_verification"` and a string
//! `challenge` is a challenge (whatever the `Content-Type`); a later event that merely has a
//! top-level `challenge` member is a normal event. It is answered synchronously with the raw
//! challenge as `text/plain`, or `{"challenge": "…"}` as `application/json` when the request's
//! `Accept` header mentions `application/json`.
//!
//! The delivery id is the body's `event_id` (Events API); slash commands and interactivity
//! (form bodies) have none.

use std::fmt;

use super::hmac::{any_of, decode_hex, Sha256Key, SHA256_LEN};
use super::{json_strings, outside_window, parse_unix, required_header, KeyError, Outcome};
use super::{Reject, Reply, RequestParts, Secret, VerifyContext};

/// Signature header.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// Timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// Default tolerance (Slack's documented five minutes), seconds.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Verifier for Slack webhooks.
#[derive(Clone)]
pub struct SlackVerifier {
    key: Option<Sha256Key>,
    /// Earlier signing secrets still accepted during a rotation.
    previous: Vec<Sha256Key>,
    tolerance_secs: u64,
}

impl SlackVerifier {
    /// Metrics label of this verifier (`SLACK_BASED` webhooks).
    pub const KIND: &'static str = "slack";

    /// Builds the verifier. `secret` = the app's signing secret (`None` = Orkes-compatible
    /// challenge-only mode, see the module docs); `tolerance_secs` = allowed clock difference
    /// (callers pass 300 by default; 0 disables the clock check). An empty secret is refused.
    pub fn new(secret: Option<Secret>, tolerance_secs: u64) -> Result<Self, KeyError> {
        let key = match secret {
            Some(s) if s.is_empty() => return Err(KeyError::Missing("secretValue")),
            Some(s) => Some(Sha256Key::new(s.expose())),
            None => None,
        };
        Ok(SlackVerifier {
            key,
            previous: Vec::new(),
            tolerance_secs,
        })
    }

    /// Also accepts signatures made with `previous` signing secrets (a rotation). Needs a
    /// current secret; an empty one → [`KeyError`] naming `previousSecretValues`.
    pub fn with_previous(mut self, previous: &[Secret]) -> Result<Self, KeyError> {
        if previous.is_empty() {
            return Ok(self);
        }
        if self.key.is_none() {
            return Err(KeyError::Missing("secretValue"));
        }
        for p in previous {
            if p.is_empty() {
                return Err(KeyError::Missing("previousSecretValues"));
            }
            self.previous.push(Sha256Key::new(p.expose()));
        }
        Ok(self)
    }

    /// Whether a signing secret is configured.
    pub fn has_secret(&self) -> bool {
        self.key.is_some()
    }

    /// Verifies a request (see the module docs). With a secret: absent headers →
    /// [`Reject::MissingSignature`], a non-integer timestamp → [`Reject::Malformed`], a wrong
    /// signature → [`Reject::BadSignature`], an authentic request outside the window →
    /// [`Reject::StaleTimestamp`]. Not yet verified (with or without a secret): anything but a
    /// challenge → [`Reject::ChallengeRequired`].
    pub fn verify(&self, req: &RequestParts<'_>, ctx: &VerifyContext) -> Result<Outcome, Reject> {
        if let Some(key) = &self.key {
            self.check_signature(key, req, ctx)?;
        }
        let [ty, challenge, event_id] = json_strings(req.body, ["type", "challenge", "event_id"]);
        if let (Some("url_verification"), Some(challenge)) = (ty.as_deref(), challenge) {
            return Ok(challenge_response(req, challenge));
        }
        if !ctx.url_verified {
            return Err(Reject::ChallengeRequired);
        }
        Ok(Outcome::Accept {
            delivery_id: event_id,
        })
    }

    fn check_signature(
        &self,
        key: &Sha256Key,
        req: &RequestParts<'_>,
        ctx: &VerifyContext,
    ) -> Result<(), Reject> {
        let sig = required_header(req.headers, SIGNATURE_HEADER, Reject::BadSignature)?;
        let ts = required_header(
            req.headers,
            TIMESTAMP_HEADER,
            Reject::Malformed("X-Slack-Request-Timestamp is not visible ASCII"),
        )?;
        let ts_num = parse_unix(ts, "X-Slack-Request-Timestamp is not a Unix timestamp")?;
        let hex = sig.strip_prefix("v0=").ok_or(Reject::BadSignature)?;
        let tag = decode_hex::<SHA256_LEN>(hex.trim()).ok_or(Reject::BadSignature)?;
        let signed: &[&[u8]] = &[b"v0:", ts.as_bytes(), b":", req.body];
        if !any_of(std::iter::once(key).chain(&self.previous), |k| {
            k.verify(signed, &tag)
        }) {
            return Err(Reject::BadSignature);
        }
        if outside_window(ctx.now_unix, ts_num, self.tolerance_secs) {
            return Err(Reject::StaleTimestamp);
        }
        Ok(())
    }
}

/// The synchronous answer to a `url_verification` challenge.
fn challenge_response(req: &RequestParts<'_>, challenge: String) -> Outcome {
    let wants_json = req
        .headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("application/json"));
    if wants_json {
        let body = serde_json::json!({ "challenge": challenge }).to_string();
        Outcome::Reply(Reply::ok("application/json", body))
    } else {
        Outcome::Reply(Reply::ok("text/plain", challenge))
    }
}

impl fmt::Debug for SlackVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackVerifier")
            .field("has_secret", &self.key.is_some())
            .field("previous_secrets", &self.previous.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}
