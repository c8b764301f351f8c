//! Twilio: `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL ‖ params)), where URL is
//! the full URL Twilio requested (scheme, host, path and query — contract 0.3.0's
//! `request.url`) and params the POSTed form fields sorted by name, each as name then value,
//! concatenated without separators (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>).
//!
//! A JSON body is not signed field by field: Twilio adds `bodySHA256=<hex SHA-256 of the body>`
//! to the URL's query and signs the URL alone; the body must then hash to it. Like Twilio's
//! own validators, the URL is tried as given and with the scheme's default port added or
//! removed (Twilio signs whichever form it used). Several secrets = auth token rotation
//! (primary and secondary token). No signed timestamp; the delivery id is
//! `I-Twilio-Idempotency-Token`.
//!
//! Behind a load balancer hookd must know the public URL: set `[server] public_url`, or list
//! the balancer in `trusted_proxies` so its `X-Forwarded-Proto` / `X-Forwarded-Host` count.

use hookd_plugin_sdk::{
    crypto, encoding, export_verifier, log, RejectReason, Request, Verdict, Verifier,
};

struct Twilio;

impl Verifier for Twilio {
    fn verify(req: &Request) -> Verdict {
        let Some(sig) = req.header("x-twilio-signature") else {
            return Verdict::reject(RejectReason::MissingSignature);
        };
        let mut buf = [0u8; 24];
        let Some(given) = encoding::base64_decode_into(sig, &mut buf) else {
            return Verdict::reject(RejectReason::Malformed);
        };
        if req.url.is_empty() {
            log::error("no request URL: this hookd passes none (contract 0.3.0 needed)");
            return Verdict::reject(RejectReason::Malformed);
        }
        // The signed URL's query (the same as the target's, unless a proxy rewrote it).
        let query = req.url.split_once('?').map_or("", |(_, q)| q);
        let body_hash = hookd_plugin_sdk::form::parse(query.as_bytes())
            .into_iter()
            .find(|(k, _)| k == "bodySHA256")
            .map(|(_, v)| v);
        let signed_params = match &body_hash {
            // JSON (or any non-form) body: the URL alone is signed, the body hashes to the
            // query's bodySHA256.
            Some(hex) => {
                let digest = crypto::sha256(&req.body);
                let mut want = [0u8; 32];
                let ok = encoding::hex_decode_into(hex, &mut want)
                    .is_some_and(|w| crypto::ct_eq(w, &digest));
                if !ok {
                    return Verdict::reject(RejectReason::BadSignature);
                }
                String::new()
            }
            None => {
                let mut fields = req.form();
                fields.sort();
                fields.iter().fold(String::new(), |mut s, (k, v)| {
                    s.push_str(k);
                    s.push_str(v);
                    s
                })
            }
        };
        let urls = url_variants(&req.url);
        let ok = req.secrets().iter().any(|token| {
            urls.iter().flatten().any(|url| {
                crypto::hmac_sha1_matches(
                    token.as_bytes(),
                    &[url.as_bytes(), signed_params.as_bytes()],
                    &[given],
                )
            })
        });
        if !ok {
            return Verdict::reject(RejectReason::BadSignature);
        }
        Verdict::accept(
            req.header("i-twilio-idempotency-token")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        )
    }
}

/// The URL as given, and with the scheme's default port added (when it has none) or removed
/// (when it has it): `https://h/p` ↔ `https://h:443/p`.
fn url_variants(url: &str) -> [Option<String>; 2] {
    let (scheme, port) = if url.starts_with("https://") {
        ("https://", ":443")
    } else if url.starts_with("http://") {
        ("http://", ":80")
    } else {
        return [Some(url.to_owned()), None];
    };
    let rest = &url[scheme.len()..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let other = match authority.strip_suffix(port) {
        Some(host) => format!("{scheme}{host}{tail}"),
        None if !authority.contains(':') || authority.ends_with(']') => {
            format!("{scheme}{authority}{port}{tail}")
        }
        None => return [Some(url.to_owned()), None],
    };
    [Some(url.to_owned()), Some(other)]
}

export_verifier!(Twilio);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_variants_add_or_drop_the_default_port() {
        assert_eq!(
            url_variants("https://a.example/x?y=1"),
            [
                Some("https://a.example/x?y=1".into()),
                Some("https://a.example:443/x?y=1".into())
            ]
        );
        assert_eq!(
            url_variants("http://a.example:80/x")[1].as_deref(),
            Some("http://a.example/x")
        );
        assert_eq!(url_variants("https://a.example:8443/x")[1], None);
    }

    /// Twilio's documented example (webhooks-security): auth token 12345.
    #[test]
    fn the_documented_example_verifies_natively() {
        let body = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
        let req = |sig: &str| {
            Request::builder()
                .header("X-Twilio-Signature", sig)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .url("https://mycompany.com/myapp.php?foo=1&bar=2")
                .secret("12345")
                .build()
        };
        assert_eq!(
            Twilio::verify(&req("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")),
            Verdict::accept(None)
        );
        assert_eq!(
            Twilio::verify(&req("1/KCTR6DLpKmkAf8muzZqo1nDgQ=")),
            Verdict::reject(RejectReason::BadSignature)
        );
    }
}
