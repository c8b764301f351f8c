//! [`Secret`]: key material that never shows up in logs, `Debug` output or error messages.

use std::fmt;

/// Secret bytes (an HMAC secret, a signing secret, a Teams security token, an expected header
/// value).
///
/// `Debug` and `Display` print `***`; the bytes are reachable only through [`Secret::expose`],
/// and are overwritten (best effort) when the value is dropped. Cloning is allowed: every clone
/// is just as opaque.
#[derive(Clone, Default)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes (for string secrets: their UTF-8 bytes, e.g.
    /// `Secret::new("whsec_…")`).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The secret bytes. Use only to key a MAC or to compare in constant time; never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length of the secret in bytes (safe to show).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best-effort wipe; `black_box` keeps the optimiser from treating the writes as dead.
        // (Copies made by earlier reallocations, or derived key schedules, are not covered.)
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}
