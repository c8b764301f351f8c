//! Hostile test plugin: never returns. The host's deadline must stop it.

use hookd_plugin_sdk::{export_verifier, Request, Verdict, Verifier};

struct Loop;

impl Verifier for Loop {
    fn verify(req: &Request) -> Verdict {
        let mut x = req.body.len() as u64;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

export_verifier!(Loop);
