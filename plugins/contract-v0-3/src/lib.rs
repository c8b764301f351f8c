//! The twin of `contract-v0-2` built for contract 0.3.0 (`plugin-sdk/wit/`), line for line the
//! same code: `benches/benches/plugin.rs` compares the cost of a call under each contract. It
//! accepts a request whose
//! `x-token` header equals the webhook's first secret, with the header `x-delivery` as the
//! delivery id, checked with the host's constant-time `crypto` import; otherwise
//! `bad-signature` (`missing-signature` without the header).

wit_bindgen::generate!({
    world: "verifier",
    path: "../../plugin-sdk/wit",
});

use hookd::verifier::crypto;
use hookd::verifier::types::RejectReason;

struct V03;

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (n, v) = l.split_once(": ")?;
        (n == name).then_some(v)
    })
}

impl Guest for V03 {
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

export!(V03);
