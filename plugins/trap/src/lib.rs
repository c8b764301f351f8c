//! Hostile test plugin: panics (with `panic = "abort"`, a WebAssembly trap after the message
//! is written to the sandbox's discarded stderr).

use hookd_plugin_sdk::{export_verifier, Request, Verdict, Verifier};

struct Trap;

impl Verifier for Trap {
    fn verify(req: &Request) -> Verdict {
        panic!("trap plugin called with {} body bytes", req.body.len());
    }
}

export_verifier!(Trap);
