//! Test plugin for contract 0.3.0: logs a line through the `log` import, prints one line to
//! standard output and one to standard error, then answers a `200 text/plain` handshake whose
//! body is `{scheme} {authority} {url}` — what hookd told it about where the request was sent.
//! With the secret `panic` it panics instead (its message must reach the log).

use hookd_plugin_sdk::{export_verifier, log, Request, Scheme, Verdict, Verifier};

struct Chatty;

impl Verifier for Chatty {
    fn verify(req: &Request) -> Verdict {
        log::warn("chatty: hello from the log import");
        println!("chatty: printed to stdout");
        eprintln!("chatty: printed to stderr");
        if req.secrets().first().is_some_and(|s| s == "panic") {
            panic!("chatty: asked to panic");
        }
        let scheme = match req.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        Verdict::handshake(
            200,
            "text/plain",
            format!("{scheme} {} {}", req.authority, req.url),
        )
    }
}

export_verifier!(Chatty);
