//! Building requests by hand, for a plugin's native unit tests:
//!
//! ```
//! use hookd_plugin_sdk::Request;
//! let req = Request::builder()
//!     .header("X-Acme-Signature", "abc")
//!     .body("{}")
//!     .secret("s3cret")
//!     .now(1_700_000_000)
//!     .build();
//! assert_eq!(req.header("x-acme-signature"), Some("abc"));
//! assert_eq!(req.url, "https://hooks.example.com/webhook/test");
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use crate::{Headers, Request, Scheme, Settings};

/// A [`Request`] under construction ([`Request::builder`]). Defaults: `POST` to
/// `https://hooks.example.com/webhook/test`, no headers, an empty body, time 0, URL not
/// verified, no secrets or params.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    now: i64,
    url_verified: bool,
    settings: Settings,
    scheme: Scheme,
    authority: String,
    url: Option<String>,
}

impl RequestBuilder {
    pub(crate) fn new() -> RequestBuilder {
        RequestBuilder {
            method: "POST".into(),
            target: "/webhook/test".into(),
            headers: Vec::new(),
            body: Vec::new(),
            now: 0,
            url_verified: false,
            settings: Settings {
                secrets: Vec::new(),
                params: Vec::new(),
                tolerance_seconds: None,
            },
            scheme: Scheme::Https,
            authority: "hooks.example.com".into(),
            url: None,
        }
    }

    /// The method (upper case).
    pub fn method(mut self, m: &str) -> Self {
        self.method = m.into();
        self
    }

    /// The target: path and raw query.
    pub fn target(mut self, t: &str) -> Self {
        self.target = t.into();
        self
    }

    /// Adds a header (the name is lower-cased, as hookd does).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.trim().into()));
        self
    }

    /// The raw body.
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }

    /// hookd's clock, Unix seconds.
    pub fn now(mut self, unix_seconds: i64) -> Self {
        self.now = unix_seconds;
        self
    }

    /// Whether the webhook's URL is verified already.
    pub fn url_verified(mut self, v: bool) -> Self {
        self.url_verified = v;
        self
    }

    /// Adds a secret (`secretValue`, then `pluginSecrets`, in the order added).
    pub fn secret(mut self, s: &str) -> Self {
        self.settings.secrets.push(s.into());
        self
    }

    /// Adds a `pluginParams` entry (kept sorted by name, as hookd passes them).
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.settings.params.push((name.into(), value.into()));
        self.settings.params.sort();
        self
    }

    /// The webhook's `toleranceSeconds`.
    pub fn tolerance(mut self, secs: u64) -> Self {
        self.settings.tolerance_seconds = Some(secs);
        self
    }

    /// The scheme the request arrived with.
    pub fn scheme(mut self, s: Scheme) -> Self {
        self.scheme = s;
        self
    }

    /// The request's authority.
    pub fn authority(mut self, a: &str) -> Self {
        self.authority = a.into();
        self
    }

    /// The public URL (default: scheme, authority and target).
    pub fn url(mut self, u: &str) -> Self {
        self.url = Some(u.into());
        self
    }

    /// The request.
    pub fn build(self) -> Request {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let url = self
            .url
            .unwrap_or_else(|| alloc::format!("{scheme}://{}{}", self.authority, self.target));
        let block: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| alloc::format!("{n}: {v}"))
            .collect();
        Request {
            method: self.method,
            target: self.target,
            headers: Headers::new(block.join("\n")),
            body: self.body,
            now_unix_seconds: self.now,
            url_verified: self.url_verified,
            settings: self.settings,
            scheme: self.scheme,
            authority: self.authority,
            url,
        }
    }
}
