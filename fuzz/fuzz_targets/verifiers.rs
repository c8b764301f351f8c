//! Every built-in verifier over arbitrary headers and bodies: never panics, and never accepts a
//! request that is not signed with the configured secret.
#![no_main]

use hookd::model::WebhookConfig;
use hookd::verify::{Outcome, RequestParts, VerifyContext};
use libfuzzer_sys::fuzz_target;

fn verifiers() -> Vec<hookd::verify::Verifier> {
    let d = hookd::config::VerifyConfig::default();
    [
        r#"{"name":"x","verifier":"SIGNATURE_BASED","secretValue":"s3cret","workflowsToStart":{"w":1}}"#,
        r#"{"name":"x","verifier":"SIGNATURE_BASED","headerKey":"X-Hub-Signature","secretValue":"s3cret","workflowsToStart":{"w":1}}"#,
        r#"{"name":"x","verifier":"STRIPE","secretValue":"whsec_x","workflowsToStart":{"w":1}}"#,
        r#"{"name":"x","verifier":"SLACK_BASED","secretValue":"s3cret","workflowsToStart":{"w":1}}"#,
        r#"{"name":"x","verifier":"HMAC_BASED","secretValue":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","workflowsToStart":{"w":1}}"#,
        r#"{"name":"x","verifier":"SENDGRID","secretKey":"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqqRIlFTXTUGPoL7h7JQH/9OKXd9BrT1b1CaJ0hbH41uCzOoqKrb648TOXRKoyxBi/HUFpurkQfz4WqpnEkohqA==","workflowsToStart":{"w":1}}"#,
        r#"{"name":"x","verifier":"HEADER_BASED","headers":{"X-Token":"s3cret"},"workflowsToStart":{"w":1}}"#,
    ]
    .iter()
    .map(|j| serde_json::from_str::<WebhookConfig>(j).unwrap().build_verifier(&d).unwrap())
    .collect()
}

const NAMES: [&str; 9] = [
    "x-hub-signature-256", "x-hub-signature", "stripe-signature", "x-slack-signature",
    "x-slack-request-timestamp", "authorization", "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp", "x-token",
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
