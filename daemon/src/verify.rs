//! Provider signature verification: the built-in schemes of the `hookd-verify` crate plus
//! WebAssembly verifier plugins.
//!
//! The schemes themselves (GitHub, Stripe, Slack, Teams, SendGrid, X/Twitter, header-based), [`Secret`],
//! [`sign`], the HMAC helpers and the request/outcome types live in `hookd-verify`, which
//! depends on no runtime (no tokio, no Kafka, no wasmtime) and is re-exported here (the HMAC
//! helpers only with the `testing` feature), so `crate::verify::X` paths are unchanged. What
//! stays in the daemon is [`Verifier`], which adds the `WASM_PLUGIN` case
//! ([`crate::plugin::PluginVerifier`]) to the built-in ones. The schemes are described in
//! `docs/verifiers.md`.

pub use hookd_verify::{
    github, header, sendgrid, sign, slack, stripe, teams, twitter, Builtin, KeyError, Outcome, Reject,
    Reply, RequestParts, Secret, VerifyContext,
};

/// The HMAC helpers (the benches sign with them; the daemon's plugin host uses
/// `hookd_verify::hmac` directly).
#[cfg(feature = "testing")]
pub use hookd_verify::hmac;

/// One configured verifier, ready to run (keys already decoded/parsed): a built-in scheme or a
/// plugin. The built-in variants mirror [`Builtin`]'s (convert with `From<Builtin>`).
#[derive(Debug, Clone)]
pub enum Verifier {
    /// `HEADER_BASED`: fixed header values.
    Header(header::HeaderVerifier),
    /// `SLACK_BASED`: Slack request signing and `url_verification`.
    Slack(slack::SlackVerifier),
    /// `SIGNATURE_BASED`: GitHub-style `sha256=<hex>` body HMAC.
    GitHub(github::GitHubVerifier),
    /// `STRIPE`: `Stripe-Signature`.
    Stripe(stripe::StripeVerifier),
    /// `HMAC_BASED`: Microsoft Teams outgoing webhooks.
    Teams(teams::TeamsVerifier),
    /// `SENDGRID`: Signed Event Webhook (ECDSA P-256).
    SendGrid(sendgrid::SendGridVerifier),
    /// `TWITTER`: X's CRC challenge and `X-Twitter-Webhooks-Signature`.
    Twitter(twitter::TwitterVerifier),
    /// `WASM_PLUGIN`: a sandboxed WebAssembly verifier plugin.
    Plugin(crate::plugin::PluginVerifier),
    /// The webhook's stored secrets are sealed with a key this instance does not hold
    /// (`crate::seal`): ingress answers `503 secrets_unavailable` before reading the body, and
    /// should `verify` be called anyway it refuses every request.
    Unavailable,
}

impl Verifier {
    /// Verifies one request over its raw bytes.
    pub fn verify(&self, req: &RequestParts<'_>, ctx: &VerifyContext) -> Result<Outcome, Reject> {
        match self {
            Verifier::Header(v) => v.verify(req, ctx),
            Verifier::Slack(v) => v.verify(req, ctx),
            Verifier::GitHub(v) => v.verify(req, ctx),
            Verifier::Stripe(v) => v.verify(req, ctx),
            Verifier::Teams(v) => v.verify(req, ctx),
            Verifier::SendGrid(v) => v.verify(req, ctx),
            Verifier::Twitter(v) => v.verify(req, ctx),
            Verifier::Plugin(v) => v.verify(req, ctx),
            Verifier::Unavailable => Err(Reject::BadSignature),
        }
    }

    /// Label for metrics: `header`, `slack`, `github`, `stripe`, `teams`, `sendgrid`, `twitter`
    /// (the built-in labels of [`Builtin::kind`]), `plugin` or `unavailable`.
    pub fn kind(&self) -> &'static str {
        match self {
            Verifier::Header(_) => header::HeaderVerifier::KIND,
            Verifier::Slack(_) => slack::SlackVerifier::KIND,
            Verifier::GitHub(_) => github::GitHubVerifier::KIND,
            Verifier::Stripe(_) => stripe::StripeVerifier::KIND,
            Verifier::Teams(_) => teams::TeamsVerifier::KIND,
            Verifier::SendGrid(_) => sendgrid::SendGridVerifier::KIND,
            Verifier::Twitter(_) => twitter::TwitterVerifier::KIND,
            Verifier::Plugin(_) => "plugin",
            Verifier::Unavailable => "unavailable",
        }
    }

    /// Whether it answers `GET` besides `POST`: handshakes such as X's CRC
    /// ([`Builtin::answers_get`]) or a plugin's (Meta's `hub.challenge`, …). Every other
    /// verifier takes only `POST` (ingress answers `405`).
    pub fn answers_get(&self) -> bool {
        matches!(self, Verifier::Plugin(_) | Verifier::Twitter(_))
    }

    /// Whether the webhook's secrets could not be opened (see [`Verifier::Unavailable`]).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Verifier::Unavailable)
    }
}

impl From<Builtin> for Verifier {
    fn from(b: Builtin) -> Self {
        match b {
            Builtin::Header(v) => Verifier::Header(v),
            Builtin::Slack(v) => Verifier::Slack(v),
            Builtin::GitHub(v) => Verifier::GitHub(v),
            Builtin::Stripe(v) => Verifier::Stripe(v),
            Builtin::Teams(v) => Verifier::Teams(v),
            Builtin::SendGrid(v) => Verifier::SendGrid(v),
            Builtin::Twitter(v) => Verifier::Twitter(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_kinds_carry_over() {
        let builtins = [
            Builtin::GitHub(github::GitHubVerifier::new(None, vec![Secret::new("x")]).unwrap()),
            Builtin::Stripe(stripe::StripeVerifier::new(vec![Secret::new("x")], 300).unwrap()),
            Builtin::Slack(slack::SlackVerifier::new(None, 300).unwrap()),
            Builtin::Teams(teams::TeamsVerifier::new(None, &Secret::new("AAAA")).unwrap()),
            Builtin::Header(
                header::HeaderVerifier::new(vec![("a".into(), Secret::new("b"))]).unwrap(),
            ),
            Builtin::Twitter(twitter::TwitterVerifier::new(&Secret::new("c")).unwrap()),
        ];
        for b in builtins {
            let v = Verifier::from(b.clone());
            assert_eq!(v.kind(), b.kind());
            assert_eq!(v.answers_get(), b.answers_get());
        }
    }
}
