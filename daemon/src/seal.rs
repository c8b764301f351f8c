//! Webhook secrets sealed at rest: every secret field of a definition (see
//! [`WebhookConfig::secrets_mut`]) is encrypted with AES-256-GCM before it reaches the config
//! topic or the state file, and opened when the definition is registered.
//!
//! - **Keys**: `server.secrets_keys` (or `HOOKD_SERVER__SECRETS_KEYS`, comma-separated), base64
//!   of 32 random bytes each, newest first. Any listed key opens; the newest seals. A key's id is
//!   derived from the key (8 hex digits of a SHA-256), so keys need no names.
//! - **Form**: `hookd:sealed:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, a random
//!   96-bit nonce per value. The associated data binds a value to its webhook id and field:
//!   a sealed value copied into another webhook or field does not open.
//! - **Without keys** values are stored as given (the daemon warns at start); with keys, values
//!   in clear (written before keys were configured) still open as themselves and are re-sealed
//!   at start, like values sealed with an older key (`webhook::ConfigSync`).
//!
//! Why AES-256-GCM from `ring`: an AEAD is what the job needs (confidentiality and integrity,
//! associated data for the binding), and `ring` is already linked through rustls, constant-time
//! and hardware-accelerated. Random nonces are safe far beyond the number of secret writes a
//! key will ever see (NIST's 2^32 messages per key).

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

use crate::model::WebhookConfig;
use hookd_verify::Secret;

/// What every sealed value starts with (values in clear may not).
pub const PREFIX: &str = "hookd:sealed:v1:";

/// Length of a sealing key, bytes.
pub const KEY_LEN: usize = 32;

struct SealKey {
    id: String,
    aead: LessSafeKey,
    raw: Secret,
}

/// The configured sealing keys, newest first.
pub struct Keyring {
    keys: Vec<SealKey>,
    rng: SystemRandom,
}

/// Why a sealed value could not be opened. Names the field and the key id, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Sealed with a key that is not in `server.secrets_keys`.
    #[error("{field} is sealed with key {key_id}, which is not in server.secrets_keys")]
    UnknownKey {
        /// The field.
        field: String,
        /// The id of the key it was sealed with.
        key_id: String,
    },
    /// Not a well-formed sealed value, or it fails authentication (altered, or bound to another
    /// webhook or field).
    #[error("{field} is sealed but does not open (altered, or bound to another webhook)")]
    Damaged {
        /// The field.
        field: String,
    },
}

/// Decodes one configured key (base64 of exactly 32 bytes); the error never shows the key.
pub fn decode_key(b64: &str) -> Result<Secret, &'static str> {
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|_| "is not base64 (generate one with `openssl rand -base64 32`)")?;
    if bytes.len() != KEY_LEN {
        return Err("must be base64 of exactly 32 bytes (`openssl rand -base64 32`)");
    }
    Ok(Secret::new(bytes))
}

/// The id of a key: 8 hex digits of SHA-256 over a label and the key (safe to log).
fn key_id(raw: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"hookd seal key id\0");
    h.update(raw);
    hex::encode(&h.finalize()[..4])
}

/// The key id of a sealed value, `None` for a value in clear.
pub fn sealed_key_id(value: &str) -> Option<&str> {
    value.strip_prefix(PREFIX)?.split_once(':').map(|(k, _)| k)
}

fn aad(webhook: &str, field: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(PREFIX.len() + webhook.len() + field.len() + 2);
    a.extend_from_slice(PREFIX.as_bytes());
    a.extend_from_slice(webhook.as_bytes());
    a.push(0);
    a.extend_from_slice(field.as_bytes());
    a
}

impl Keyring {
    /// A keyring from base64 keys, newest first (`server.secrets_keys`, already validated).
    pub fn new<S: AsRef<str>>(b64_keys: &[S]) -> Result<Self, String> {
        let mut keys: Vec<SealKey> = Vec::with_capacity(b64_keys.len());
        for (i, k) in b64_keys.iter().enumerate() {
            let raw = decode_key(k.as_ref())
                .map_err(|e| format!("server.secrets_keys[{i}] {e}"))?;
            let id = key_id(raw.expose());
            if keys.iter().any(|k| k.id == id) {
                return Err(format!("server.secrets_keys[{i}] is listed twice"));
            }
            let unbound = UnboundKey::new(&AES_256_GCM, raw.expose())
                .map_err(|_| format!("server.secrets_keys[{i}] is not an AES-256 key"))?;
            keys.push(SealKey {
                id,
                aead: LessSafeKey::new(unbound),
                raw,
            });
        }
        Ok(Keyring {
            keys,
            rng: SystemRandom::new(),
        })
    }

    /// True without keys: secrets are stored in clear.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Ids of the keys, newest first (safe to log).
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    /// Keys derived from each sealing key for another purpose (`label`), newest first, with the
    /// sealing key's id: HKDF-SHA256, so a derived key reveals nothing of the sealing key.
    pub fn derive(&self, label: &str) -> Vec<(String, Secret)> {
        struct Len;
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                KEY_LEN
            }
        }
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"hookd");
        self.keys
            .iter()
            .map(|k| {
                let mut out = [0u8; KEY_LEN];
                let info = [label.as_bytes()];
                salt.extract(k.raw.expose())
                    .expand(&info, Len)
                    .and_then(|okm| okm.fill(&mut out))
                    .expect("32 bytes is a valid HKDF-SHA256 output length");
                let s = Secret::new(out.to_vec());
                out.fill(0);
                (k.id.clone(), s)
            })
            .collect()
    }

    /// Seals one value of `webhook`'s `field` with the newest key (without keys: the value
    /// itself). A value that already looks sealed is refused: it would be ambiguous at rest.
    pub fn seal(&self, webhook: &str, field: &str, plain: &str) -> Result<String, String> {
        if plain.starts_with(PREFIX) {
            return Err(format!("{field} must not start with `{PREFIX}`"));
        }
        let Some(k) = self.keys.first() else {
            return Ok(plain.to_string());
        };
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| "the system random generator failed".to_string())?;
        let mut buf = plain.as_bytes().to_vec();
        k.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(webhook, field)),
                &mut buf,
            )
            .map_err(|_| format!("{field} could not be sealed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}:{}", k.id, URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens one value of `webhook`'s `field`; a value in clear opens as itself.
    pub fn open(&self, webhook: &str, field: &str, value: &str) -> Result<String, OpenError> {
        let Some(rest) = value.strip_prefix(PREFIX) else {
            return Ok(value.to_string());
        };
        let damaged = || OpenError::Damaged {
            field: field.to_string(),
        };
        let (kid, b64) = rest.split_once(':').ok_or_else(damaged)?;
        let k = self
            .keys
            .iter()
            .find(|k| k.id == kid)
            .ok_or_else(|| OpenError::UnknownKey {
                field: field.to_string(),
                key_id: kid.chars().take(16).collect(),
            })?;
        let mut bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| damaged())?;
        if bytes.len() < NONCE_LEN {
            return Err(damaged());
        }
        let mut ct = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| damaged())?;
        let plain = k
            .aead
            .open_in_place(nonce, Aad::from(aad(webhook, field)), &mut ct)
            .map_err(|_| damaged())?;
        let s = String::from_utf8(plain.to_vec()).map_err(|_| damaged());
        ct.fill(0);
        s
    }

    /// A copy of `c` (whose id is `webhook`) with every secret sealed with the newest key.
    pub fn seal_config(&self, webhook: &str, c: &WebhookConfig) -> Result<WebhookConfig, String> {
        let mut out = c.clone();
        for (field, v) in out.secrets_mut() {
            *v = self.seal(webhook, &field, v)?;
        }
        Ok(out)
    }

    /// A copy of `c` (whose id is `webhook`) with every secret opened.
    pub fn open_config(
        &self,
        webhook: &str,
        c: &WebhookConfig,
    ) -> Result<WebhookConfig, OpenError> {
        let mut out = c.clone();
        for (field, v) in out.secrets_mut() {
            *v = self.open(webhook, &field, v)?;
        }
        Ok(out)
    }

    /// Whether `c` holds a secret that is not sealed with the newest key (sealed with an older
    /// one, or in clear while keys are configured).
    pub fn needs_reseal(&self, c: &WebhookConfig) -> bool {
        let Some(newest) = self.keys.first() else {
            return false;
        };
        let mut c = c.clone();
        c.secrets_mut()
            .into_iter()
            .any(|(_, v)| sealed_key_id(v) != Some(newest.id.as_str()))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("ids", &self.ids()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

    fn cfg() -> WebhookConfig {
        serde_json::from_value(serde_json::json!({
            "name": "gh", "verifier": "SIGNATURE_BASED", "secretValue": "plain-secret-1",
            "headers": {"X-Token": "plain-header-2"}, "previousSecretValues": ["plain-prev-3"],
            "workflowsToStart": {"wf": 1}
        }))
        .unwrap()
    }

    #[test]
    fn seals_every_secret_and_opens_it_again() {
        let ring = Keyring::new(&[K1]).unwrap();
        let sealed = ring.seal_config("w1", &cfg()).unwrap();
        let text = serde_json::to_string(&sealed).unwrap();
        for plain in ["plain-secret-1", "plain-header-2", "plain-prev-3"] {
            assert!(!text.contains(plain), "{plain} in clear: {text}");
        }
        assert_eq!(text.matches(PREFIX).count(), 3, "{text}");
        assert_eq!(ring.open_config("w1", &sealed).unwrap(), cfg());
        assert!(!ring.needs_reseal(&sealed));
        assert!(ring.needs_reseal(&cfg()), "values in clear need sealing");
        // Two seals of the same value differ (random nonce).
        assert_ne!(
            ring.seal("w1", "secretValue", "x").unwrap(),
            ring.seal("w1", "secretValue", "x").unwrap()
        );
    }

    #[test]
    fn bound_to_webhook_and_field() {
        let ring = Keyring::new(&[K1]).unwrap();
        let v = ring.seal("w1", "secretValue", "s").unwrap();
        assert_eq!(ring.open("w1", "secretValue", &v).unwrap(), "s");
        assert!(matches!(
            ring.open("w2", "secretValue", &v),
            Err(OpenError::Damaged { .. })
        ));
        assert!(matches!(
            ring.open("w1", "secretKey", &v),
            Err(OpenError::Damaged { .. })
        ));
        // A flipped bit in the ciphertext does not open either.
        let mut bad = v.clone().into_bytes();
        let last = bad.len() - 3;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(ring.open("w1", "secretValue", &bad).is_err());
        assert!(ring.open("w1", "secretValue", "hookd:sealed:v1:zz").is_err());
    }

    #[test]
    fn newest_seals_any_opens_unknown_is_reported() {
        let old = Keyring::new(&[K1]).unwrap();
        let both = Keyring::new(&[K2, K1]).unwrap();
        let new = Keyring::new(&[K2]).unwrap();
        let by_old = old.seal_config("w", &cfg()).unwrap();
        assert!(both.needs_reseal(&by_old));
        let opened = both.open_config("w", &by_old).unwrap();
        let by_new = both.seal_config("w", &opened).unwrap();
        assert_eq!(
            sealed_key_id(by_new.secret_value.as_deref().unwrap()),
            Some(both.ids()[0])
        );
        assert_eq!(new.open_config("w", &by_new).unwrap(), cfg());
        let e = new.open_config("w", &by_old).unwrap_err();
        assert!(matches!(&e, OpenError::UnknownKey { key_id, .. } if key_id == old.ids()[0]));
        assert!(!e.to_string().contains("plain"), "{e}");
        // Without keys: stored as given, and a sealed value does not open.
        let none = Keyring::new::<&str>(&[]).unwrap();
        assert_eq!(none.seal_config("w", &cfg()).unwrap(), cfg());
        assert!(!none.needs_reseal(&cfg()));
        assert!(none.open_config("w", &by_new).is_err());
    }

    #[test]
    fn refuses_look_alikes_and_bad_keys() {
        let ring = Keyring::new(&[K1]).unwrap();
        assert!(ring.seal("w", "secretValue", "hookd:sealed:v1:x:y").is_err());
        assert!(Keyring::new(&["not base64!"]).is_err());
        assert!(Keyring::new(&["AAAA"]).unwrap_err().contains("32 bytes"));
        assert!(Keyring::new(&[K1, K1]).unwrap_err().contains("twice"));
        assert!(!format!("{ring:?}").contains(K1));
    }

    #[test]
    fn derived_keys_differ_by_label_and_key() {
        let ring = Keyring::new(&[K2, K1]).unwrap();
        let a = ring.derive("a");
        let b = ring.derive("b");
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].0, ring.ids()[0]);
        assert_ne!(a[0].1.expose(), b[0].1.expose());
        assert_ne!(a[0].1.expose(), a[1].1.expose());
        assert_eq!(a[0].1.len(), KEY_LEN);
    }
}
