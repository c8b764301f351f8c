//! Benchmark plugin: the fixed cost of a call. The webhook's first secret selects what it does
//! before rejecting with `missing-signature`: nothing (any other secret, or none), `headers`
//! (looks up the three Standard Webhooks headers) or `headers10` (ten times). A secret rather
//! than `pluginParams`, because params cost the host an allocation per call and the floor is
//! what this measures.

use hookd_plugin_sdk::{export_verifier, RejectReason, Request, Verdict, Verifier};

struct Noop;

impl Verifier for Noop {
    fn verify(req: &Request) -> Verdict {
        let rounds = match req.secrets().first().map(String::as_str) {
            Some("headers") => 1,
            Some("headers10") => 10,
            _ => 0,
        };
        let mut n = 0;
        for _ in 0..rounds {
            n += ["webhook-id", "webhook-timestamp", "webhook-signature"]
                .iter()
                .filter(|h| req.header(core::hint::black_box(h)).is_some())
                .count();
        }
        core::hint::black_box(n);
        Verdict::reject(RejectReason::MissingSignature)
    }
}

export_verifier!(Noop);
