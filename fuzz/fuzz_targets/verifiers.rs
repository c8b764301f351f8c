//! Every built-in verifier over arbitrary headers and bodies: never panics, and never accepts a
//! request that is not signed with the configured secret. Uses `hookd-verify` alone.
#![no_main]

use std::sync::OnceLock;

use hookd_verify::github::GitHubVerifier;
use hookd_verify::header::HeaderVerifier;
use hookd_verify::sendgrid::SendGridVerifier;
use hookd_verify::slack::SlackVerifier;
use hookd_verify::stripe::StripeVerifier;
use hookd_verify::teams::TeamsVerifier;
use hookd_verify::twitter::TwitterVerifier;
use hookd_verify::{Builtin, Outcome, RequestParts, Secret, VerifyContext};
use libfuzzer_sys::fuzz_target;

/// The verifiers as hookd builds them with default `[verify]` settings (5-minute Stripe and
/// Slack windows, no SendGrid window); built once, they hold no per-request state.
fn verifiers() -> &'static [Builtin] {
    static V: OnceLock<Vec<Builtin>> = OnceLock::new();
    V.get_or_init(|| {
        let s = || Secret::new("s3cret");
        vec![
            Builtin::GitHub(GitHubVerifier::new(None, vec![s()]).unwrap()),
            Builtin::GitHub(GitHubVerifier::new(Some("X-Hub-Signature".into()), vec![s()]).unwrap()),
            Builtin::Stripe(StripeVerifier::new(vec![Secret::new("whsec_x")], 300).unwrap()),
            Builtin::Slack(SlackVerifier::new(Some(s()), 300).unwrap()),
            Builtin::Teams(
                TeamsVerifier::new(None, &Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="))
                    .unwrap(),
            ),
            Builtin::SendGrid(
                SendGridVerifier::new("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqqRIlFTXTUGPoL7h7JQH/9OKXd9BrT1b1CaJ0hbH41uCzOoqKrb648TOXRKoyxBi/HUFpurkQfz4WqpnEkohqA==", None)
                    .unwrap(),
            ),
            Builtin::Header(HeaderVerifier::new(vec![("X-Token".into(), s())]).unwrap()),
            Builtin::Twitter(TwitterVerifier::new(&s()).unwrap()),
        ]
    })
}

const NAMES: [&str; 10] = [
    "x-hub-signature-256", "x-hub-signature", "stripe-signature", "x-slack-signature",
    "x-slack-request-timestamp", "authorization", "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp", "x-token", "x-twitter-webhooks-signature",
];

fuzz_target!(|data: &[u8]| {
    // layout: [n headers] then per header [name idx][len][value bytes], then the body
    let mut headers = http::HeaderMap::new();
    let mut i = 1;
    for _ in 0..data.first().copied().unwrap_or(0) % 6 {
        if i + 2 > data.len() {
            break;
        }
        let name = NAMES[data[i] as usize % NAMES.len()];
        let len = (data[i + 1] as usize).min(data.len() - i - 2);
        if let Ok(v) = http::HeaderValue::from_bytes(&data[i + 2..i + 2 + len]) {
            headers.append(name, v);
        }
        i += 2 + len;
    }
    let body = &data[i.min(data.len())..];
    let parts = RequestParts { method: &http::Method::POST, headers: &headers, query: None, body };
    for verified in [false, true] {
        let ctx = VerifyContext { now_unix: 1_700_000_000, url_verified: verified };
        for v in verifiers() {
            if let Ok(Outcome::Accept { .. }) = v.verify(&parts, &ctx) {
                // header-based: the "signature" is the secret itself, which the fuzzer may find
                let has_secret = headers.get_all("x-token").iter().any(|h| h == "s3cret");
                assert!(v.kind() == "header" && has_secret, "{} accepted a fuzzed request", v.kind());
            }
        }
    }
});
