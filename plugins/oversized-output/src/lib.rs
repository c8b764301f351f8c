//! Hostile test plugin: returns verdicts the host must refuse. `pluginParams.mode` selects:
//!
//! - `body` (default): a 1 MiB handshake body (over `max_output_bytes`);
//! - `delivery-id`: a 1 MiB delivery id;
//! - `status`: a handshake with status 999;
//! - `content-type`: a handshake whose content type contains a line break.

use hookd_plugin_sdk::{export_verifier, Request, Verdict, Verifier};

struct Oversized;

impl Verifier for Oversized {
    fn verify(req: &Request) -> Verdict {
        match req.param("mode").unwrap_or("body") {
            "delivery-id" => Verdict::accept(Some("x".repeat(1 << 20))),
            "status" => Verdict::handshake(999, "text/plain", &b"nope"[..]),
            "content-type" => Verdict::handshake(200, "text/plain\r\nset-cookie: a=b", &b"x"[..]),
            _ => Verdict::handshake(200, "text/plain", vec![b'x'; 1 << 20]),
        }
    }
}

export_verifier!(Oversized);
