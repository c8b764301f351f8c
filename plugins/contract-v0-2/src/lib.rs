//! A plugin built for contract 0.2.0, straight from its frozen WIT
//! (`plugin-sdk/wit/since_v0.2.0/verifier.wit`) as a 0.2.0 plugin was built: hookd must keep
//! loading and calling it unchanged next to 0.3.0 plugins. It accepts a request whose
//! `x-token` header equals the webhook's first secret, with the header `x-delivery` as the
//! delivery id, checked with the host's constant-time `crypto` import; otherwise
//! `bad-signature` (`missing-signature` without the header).

// `verify`'s flattened arguments (16 values) in the generated export glue.
#![allow(clippy::too_many_arguments)]

wit_bindgen::generate!({
    world: "verifier",
    path: "../../plugin-sdk/wit/since_v0.2.0",
});

use hookd::verifier::crypto;
use hookd::verifier::types::RejectReason;

struct V02;

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (n, v) = l.split_once(": ")?;
        (n == name).then_some(v)
    })
}

impl Guest for V02 {
    fn verify(request: Request) -> Verdict {
        let Some(token) = header(&request.headers, "x-token") else {
            return Verdict::Reject(RejectReason::MissingSignature);
        };
        let ok = request
            .settings
            .secrets
            .first()
            .is_some_and(|s| crypto::constant_time_eq(s.as_bytes(), token.as_bytes()));
        if ok {
            Verdict::Accept(header(&request.headers, "x-delivery").map(str::to_owned))
        } else {
            Verdict::Reject(RejectReason::BadSignature)
        }
    }
}

export!(V02);
