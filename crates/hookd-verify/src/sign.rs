//! Signature *generation*, the mirror image of the verifiers: for tests, benches and the
//! `hookd sign` command (to send hand-made deliveries to a webhook).
//!
//! Every function produces exactly the header value the provider sends (see the verifier
//! modules for the schemes); timestamps are Unix seconds chosen by the caller.

use base64::Engine as _;
use p256::ecdsa::signature::DigestSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use sha2::{Digest, Sha256};

use super::hmac::{decode_b64_key, encode_b64, hmac_sha1, hmac_sha256};
use super::sendgrid::pem_block;
use super::{KeyError, Secret};

/// GitHub `X-Hub-Signature-256` value: `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn github_sha256(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret, &[body])))
}

/// Legacy GitHub `X-Hub-Signature` value: `sha1=<hex HMAC-SHA1(secret, body)>`.
pub fn github_sha1(secret: &[u8], body: &[u8]) -> String {
    format!("sha1={}", hex::encode(hmac_sha1(secret, &[body])))
}

/// `Stripe-Signature` value: `t=<t>,v1=<hex HMAC-SHA256(secret, "{t}." + body)>` (the secret
/// string as-is, `whsec_` included).
pub fn stripe(secret: &[u8], t: i64, body: &[u8]) -> String {
    let ts = t.to_string();
    let mac = hmac_sha256(secret, &[ts.as_bytes(), b".", body]);
    format!("t={ts},v1={}", hex::encode(mac))
}

/// Slack `X-Slack-Signature` value for `X-Slack-Request-Timestamp: <ts>`:
/// `v0=<hex HMAC-SHA256(secret, "v0:{ts}:" + body)>`.
pub fn slack(secret: &[u8], ts: i64, body: &[u8]) -> String {
    let ts = ts.to_string();
    let mac = hmac_sha256(secret, &[b"v0:", ts.as_bytes(), b":", body]);
    format!("v0={}", hex::encode(mac))
}

/// X (Twitter) `X-Twitter-Webhooks-Signature` value: `sha256=<base64 HMAC-SHA256(consumer
/// secret, body)>`.
pub fn twitter(consumer_secret: &[u8], body: &[u8]) -> String {
    format!(
        "sha256={}",
        encode_b64(&hmac_sha256(consumer_secret, &[body]))
    )
}

/// X (Twitter) CRC `response_token` for `crc_token`: `sha256=<base64 HMAC-SHA256(consumer
/// secret, crc_token)>` (the same scheme as [`twitter`], over the token).
pub fn twitter_crc(consumer_secret: &[u8], crc_token: &str) -> String {
    twitter(consumer_secret, crc_token.as_bytes())
}

/// Teams `Authorization` value: `HMAC <base64 HMAC-SHA256(base64decode(key_b64), body)>`.
/// `key_b64` is the security token as Teams shows it; not base64 → [`KeyError::Base64`].
pub fn teams(key_b64: &str, body: &[u8]) -> Result<String, KeyError> {
    let key = Secret::new(decode_b64_key(key_b64).ok_or(KeyError::Base64("secretValue"))?);
    if key.is_empty() {
        return Err(KeyError::Missing("secretValue"));
    }
    Ok(format!(
        "HMAC {}",
        encode_b64(&hmac_sha256(key.expose(), &[body]))
    ))
}

/// SendGrid `X-Twilio-Email-Event-Webhook-Signature` value for
/// `X-Twilio-Email-Event-Webhook-Timestamp: <ts>`: base64 DER ECDSA P-256/SHA-256 signature
/// over `"{ts}" + body` (deterministic, RFC 6979).
///
/// The key is a P-256 private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as in the test
/// vectors), SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`), or bare base64 PKCS#8 DER. (PEM is
/// parsed here rather than with p256's `pem` feature, which the build does not enable.)
pub fn sendgrid(private_key_pkcs8_pem: &str, ts: i64, body: &[u8]) -> Result<String, KeyError> {
    let key = signing_key(private_key_pkcs8_pem)?;
    let digest = Sha256::new()
        .chain_update(ts.to_string().as_bytes())
        .chain_update(body);
    let sig: Signature = key.sign_digest(digest);
    Ok(base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes()))
}

/// Parses a P-256 signing key (see [`sendgrid`]).
fn signing_key(text: &str) -> Result<SigningKey, KeyError> {
    let (label, der) = match pem_block(text) {
        Some((label, b64)) => (Some(label), decode_b64_key(&b64)),
        None => (None, decode_b64_key(text)),
    };
    let der = Secret::new(der.ok_or(KeyError::PrivateKey)?);
    match label {
        Some("EC PRIVATE KEY") => p256::SecretKey::from_sec1_der(der.expose())
            .map(SigningKey::from)
            .map_err(|_| KeyError::PrivateKey),
        Some("PRIVATE KEY") | None => {
            SigningKey::from_pkcs8_der(der.expose()).map_err(|_| KeyError::PrivateKey)
        }
        Some(_) => Err(KeyError::PrivateKey),
    }
}
