//! [`Sensitive`]: a configured secret (token, key) that never prints.

use std::fmt;
use std::ops::Deref;

use serde::Deserialize;

/// A secret read from the configuration file or environment: the admin and metrics tokens,
/// the token-signing secret, the sealing keys, Conductor's key secret.
///
/// `Debug` prints `<redacted>`, so a configuration logged or shown in an error
/// (`{:?}` of [`Config`](super::Config)) never carries one. There is deliberately no `Display`:
/// `to_string()` of a secret is a compile error, not a silent `<redacted>`. The value is read through `Deref`
/// (`&str`) where it is used: comparing (constant-time, in `auth`), deriving keys, signing.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
}

impl Deref for Sensitive {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Sensitive {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl PartialEq<&str> for Sensitive {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Sensitive::new("hunter2-admin-token");
        assert_eq!(
            format!("{s:?} {:?}", Some(&s)),
            "<redacted> Some(<redacted>)"
        );
        assert_eq!(&*s, "hunter2-admin-token");
    }

    #[test]
    fn a_whole_config_debug_prints_no_secret() {
        let toml = "[server]\nadmin_token = \"admin-token-9f8e7d\"\nmetrics_token = \"metrics-token-1a2b3c\"\n\
                    token_secret = \"token-secret-0123456789abcdef0123456789\"\n\
                    secrets_keys = [\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"]\n\
                    [kafka.producer]\n\"sasl.password\" = \"sasl-password-55\"\n\
                    [conductor]\nurl = \"http://c/api\"\nkey_id = \"k\"\nkey_secret = \"conductor-secret-77\"\n";
        let c = super::super::Config::from_toml(toml).unwrap();
        let printed = format!("{c:?}");
        for secret in [
            "admin-token-9f8e7d",
            "metrics-token-1a2b3c",
            "token-secret-0123456789abcdef0123456789",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "conductor-secret-77",
            "sasl-password-55",
        ] {
            assert!(!printed.contains(secret), "{secret} printed");
        }
        assert!(printed.contains("<redacted>"));
    }
}
