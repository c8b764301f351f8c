//! Where a request was sent: the scheme and authority it arrived with, and the public URL the
//! sender called as hookd reconstructs it (contract 0.3.0's `scheme`, `authority`, `url`).
//!
//! The authority is `:authority` over HTTP/2 and HTTP/3 (hyper and h3 put it in the request
//! URI) and `Host` over HTTP/1.1. The URL's `scheme://host` part is, in order:
//! `[server] public_url` when set (the operator's word; its path, if any, is prefixed), else
//! `X-Forwarded-Proto` / `X-Forwarded-Host` (first value each) when the request came from one
//! of `[server] trusted_proxies` (from anyone else they are ignored, as `crate::client_addr`
//! ignores their `X-Forwarded-For`), else the request's own scheme and authority.

use http::uri::Authority;
use http::{HeaderMap, Uri};

/// Where one request was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Whether it arrived over TLS (a TLS listener or HTTP/3).
    pub https: bool,
    /// Its authority (`host[:port]`), empty when it had none or an invalid one.
    pub authority: String,
    /// `scheme://host[:port][/prefix]` of the public URL; the request target follows it.
    pub base: String,
}

impl Origin {
    /// The origin of a request with `uri` and `headers`, received over TLS or not, from a
    /// trusted proxy or not, on a hookd with `public_url` (see the module docs).
    pub fn of(
        uri: &Uri,
        headers: &HeaderMap,
        https: bool,
        from_trusted_proxy: bool,
        public_url: Option<&str>,
    ) -> Origin {
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| header_authority(headers, http::header::HOST.as_str()))
            .unwrap_or_default();
        let base = match public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => {
                let scheme = if https { "https" } else { "http" };
                let (mut scheme, mut host) = (scheme, authority.as_str());
                let fwd_host;
                if from_trusted_proxy {
                    if let Some(p) = first_value(headers, "x-forwarded-proto") {
                        if p.eq_ignore_ascii_case("https") {
                            scheme = "https";
                        } else if p.eq_ignore_ascii_case("http") {
                            scheme = "http";
                        }
                    }
                    fwd_host = header_authority(headers, "x-forwarded-host");
                    if let Some(h) = &fwd_host {
                        host = h;
                    }
                }
                format!("{scheme}://{host}")
            }
        };
        Origin {
            https,
            authority,
            base,
        }
    }

    /// The public URL of a request to `target` (path and query).
    pub fn url(&self, target: &str) -> String {
        let mut u = String::with_capacity(self.base.len() + target.len());
        u.push_str(&self.base);
        u.push_str(target);
        u
    }
}

/// The first comma-separated value of header `name`, trimmed.
fn first_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let v = headers.get(name)?.to_str().ok()?;
    let first = v.split(',').next()?.trim();
    (!first.is_empty()).then_some(first)
}

/// Header `name`'s first value when it is a valid authority without user info.
fn header_authority(headers: &HeaderMap, name: &str) -> Option<String> {
    let v = first_value(headers, name)?;
    let a: Authority = v.parse().ok()?;
    (!a.as_str().contains('@') && !a.host().is_empty()).then(|| a.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn authority_comes_from_the_uri_on_h2_and_host_on_h1() {
        let h1 = Origin::of(
            &"/webhook/a".parse().unwrap(),
            &headers(&[("host", "example.com:8080")]),
            false,
            false,
            None,
        );
        assert_eq!(h1.authority, "example.com:8080");
        assert_eq!(h1.url("/webhook/a?x=1"), "http://example.com:8080/webhook/a?x=1");
        let h2 = Origin::of(
            &"https://hooks.example.com/webhook/a".parse().unwrap(),
            &HeaderMap::new(),
            true,
            false,
            None,
        );
        assert_eq!(h2.authority, "hooks.example.com");
        assert_eq!(h2.url("/webhook/a"), "https://hooks.example.com/webhook/a");
        let bad = Origin::of(
            &"/x".parse().unwrap(),
            &headers(&[("host", "user@evil")]),
            false,
            false,
            None,
        );
        assert_eq!(bad.authority, "");
    }

    #[test]
    fn forwarded_headers_count_from_trusted_proxies_only() {
        let h = headers(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "hooks.example.com, inner.local"),
        ]);
        let uri: Uri = "/webhook/a".parse().unwrap();
        let trusted = Origin::of(&uri, &h, false, true, None);
        assert_eq!(trusted.url("/webhook/a"), "https://hooks.example.com/webhook/a");
        assert_eq!(trusted.authority, "10.0.0.5:8080", "the request's own");
        assert!(!trusted.https);
        let untrusted = Origin::of(&uri, &h, false, false, None);
        assert_eq!(untrusted.url("/webhook/a"), "http://10.0.0.5:8080/webhook/a");
        let junk = headers(&[
            ("host", "a.example"),
            ("x-forwarded-proto", "gopher"),
            ("x-forwarded-host", "bad host"),
        ]);
        assert_eq!(
            Origin::of(&uri, &junk, true, true, None).url("/w"),
            "https://a.example/w"
        );
    }

    #[test]
    fn public_url_wins() {
        let h = headers(&[("host", "internal"), ("x-forwarded-host", "other.example")]);
        let o = Origin::of(
            &"/webhook/a".parse().unwrap(),
            &h,
            false,
            true,
            Some("https://hooks.example.com/prefix/"),
        );
        assert_eq!(
            o.url("/webhook/a?b=c"),
            "https://hooks.example.com/prefix/webhook/a?b=c"
        );
    }
}
