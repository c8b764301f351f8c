//! `[server]` keys about secrets and identities: the sealing keys of webhook secrets
//! (`secrets_keys`), the application keys that exchange their secret for a token
//! (`[[server.application_keys]]`), the tokens' lifetime and signing secret.

use base64::Engine as _;
use serde::{Deserialize, Deserializer};

use super::{invalid, ConfigError, Sensitive, ServerConfig};

/// One `[[server.application_keys]]`: an identity that may call the admin API with a token
/// obtained at `POST /api/token` (`{"keyId": id, "keySecret": <secret>}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationKey {
    /// The key id (`keyId`; recorded as `createdBy` of what it creates).
    pub id: String,
    /// Hex SHA-256 of the key secret (the secret itself is never in the file).
    pub secret_sha256: String,
    /// What the key may do.
    pub role: KeyRole,
}

/// What an application key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    /// Everything the static `admin_token` may do.
    Admin,
    /// `GET` requests only (others answer `403`).
    Read,
}

/// `secrets_keys` as a TOML list, or as one comma-separated string (how
/// `HOOKD_SERVER__SECRETS_KEYS` arrives).
pub(super) fn key_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Sensitive>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Keys {
        List(Vec<Sensitive>),
        Text(Sensitive),
    }
    Ok(match Keys::deserialize(d)? {
        Keys::List(l) => l,
        Keys::Text(t) => t
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Sensitive::new)
            .collect(),
    })
}

/// Longest token lifetime accepted (a week).
const MAX_TTL_SECS: u64 = 7 * 24 * 3600;

/// Checks the keys; errors name the field, never a key.
pub(super) fn validate(s: &ServerConfig) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for (i, k) in s.secrets_keys.iter().enumerate() {
        let field = format!("server.secrets_keys[{i}]");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(k.trim())
            .map_err(|_| invalid(&field, "is not base64 (`openssl rand -base64 32`)"))?;
        if bytes.len() != 32 {
            return Err(invalid(&field, "must be base64 of exactly 32 bytes"));
        }
        if !seen.insert(bytes) {
            return Err(invalid(&field, "is listed twice"));
        }
    }
    if !(1..=MAX_TTL_SECS).contains(&s.token_ttl_secs) {
        return Err(invalid(
            "server.token_ttl_secs",
            format!("must be between 1 and {MAX_TTL_SECS}"),
        ));
    }
    if s.token_secret.as_ref().is_some_and(|t| t.len() < 32) {
        return Err(invalid(
            "server.token_secret",
            "must be at least 32 characters (`openssl rand -base64 32`)",
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for (i, k) in s.application_keys.iter().enumerate() {
        let field = format!("server.application_keys[{i}]");
        if k.id.is_empty()
            || k.id.len() > 128
            || !k
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        {
            return Err(invalid(
                format!("{field}.id"),
                "must be 1-128 characters of letters, digits, '-', '_', '.' or '@'",
            ));
        }
        if !ids.insert(k.id.as_str()) {
            return Err(invalid(format!("{field}.id"), "duplicate id"));
        }
        let h = &k.secret_sha256;
        if h.len() != 64 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(invalid(
                format!("{field}.secret_sha256"),
                "must be the 64 hex digits of the secret's SHA-256 (`printf %s \"$SECRET\" | sha256sum`)",
            ));
        }
    }
    if !s.application_keys.is_empty() && s.token_secret.is_none() && s.secrets_keys.is_empty() {
        return Err(invalid(
            "server.application_keys",
            "tokens need a signing key: set server.token_secret or server.secrets_keys",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const MIN: &str = "[server]\nadmin_token = \"secret-token\"\n";
    const K: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const H: &str = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";

    fn err(extra: &str) -> String {
        Config::from_toml(&format!("{MIN}{extra}"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn keys_from_file_and_environment() {
        let c = Config::from_toml(&format!("{MIN}secrets_keys = [\"{K}\"]\n")).unwrap();
        assert_eq!(c.server.secrets_keys, [K]);
        assert_eq!(c.server.token_ttl_secs, 3600);
        let env = [(
            "HOOKD_SERVER__SECRETS_KEYS".to_string(),
            format!("{K}, ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="),
        )];
        let c =
            Config::from_toml_with_env(&format!("{MIN}secrets_keys = [\"{K}\"]\n"), env).unwrap();
        assert_eq!(c.server.secrets_keys.len(), 2);
    }

    #[test]
    fn bad_values_are_named_and_not_shown() {
        let e = err("secrets_keys = [\"AAAA\"]\n");
        assert!(
            e.contains("server.secrets_keys[0]") && !e.contains("AAAA"),
            "{e}"
        );
        assert!(err(&format!("secrets_keys = [\"{K}\", \"{K}\"]\n")).contains("twice"));
        assert!(err("token_ttl_secs = 0\n").contains("server.token_ttl_secs"));
        let e = err("token_secret = \"short-secret\"\n");
        assert!(
            e.contains("server.token_secret") && !e.contains("short-secret"),
            "{e}"
        );
        let signer = format!("token_secret = \"{}\"\n", "x".repeat(32));
        let table = |id: &str, h: &str, role: &str| {
            format!("[[server.application_keys]]\nid = \"{id}\"\nsecret_sha256 = \"{h}\"\nrole = \"{role}\"\n")
        };
        let key = |id: &str, h: &str, role: &str| format!("{signer}{}", table(id, h, role));
        assert!(err(&key("a b", H, "admin")).contains("application_keys[0].id"));
        assert!(err(&key("a", "abc", "admin")).contains("application_keys[0].secret_sha256"));
        assert!(err(&key("a", H, "owner")).contains("role"));
        let two = format!("{}{}", key("a", H, "read"), table("a", H, "admin"));
        assert!(
            err(&two).contains("application_keys[1].id"),
            "{}",
            err(&two)
        );
        Config::from_toml(&format!("{MIN}{}", key("dash@board", H, "read"))).unwrap();
        let no_signer = format!(
            "[[server.application_keys]]\nid = \"a\"\nsecret_sha256 = \"{H}\"\nrole = \"read\"\n"
        );
        assert!(err(&no_signer).contains("server.application_keys"));
    }
}
