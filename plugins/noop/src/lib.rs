//! Benchmark plugin: the fixed cost of a call. `pluginParams.mode` selects what it does before
//! rejecting with `missing-signature`: nothing (default), or `headers` (looks up the three
//! Standard Webhooks headers).

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
        if n == 4 {
            return Verdict::accept(None);
        }
        Verdict::reject(RejectReason::MissingSignature)
    }
}

export_verifier!(Noop);
