//! Hostile test plugin: returns verdicts the host must refuse. `pluginParams.mode` selects:
//!
//! - `body` (default): a 1 MiB handshake body (over `max_output_bytes`);
//! - `delivery-id`: a 1 MiB delivery id;
//! - `status`: a handshake with status 999;
//! - `content-type`: a handshake whose content type contains a line break;
//! - `ok`: a valid handshake (proves the plugin itself runs, `HashMap` and all).

use std::collections::HashMap;

use hookd_plugin_sdk::{export_verifier, Request, Verdict, Verifier};

struct Oversized;

impl Verifier for Oversized {
    fn verify(req: &Request) -> Verdict {
        // A std HashMap (seeded through wasi:random, the one WASI interface hookd provides).
        let params: HashMap<&str, &str> = req
            .settings
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match params.get("mode").copied().unwrap_or("body") {
            "delivery-id" => Verdict::accept(Some("x".repeat(1 << 20))),
            "status" => Verdict::handshake(999, "text/plain", &b"nope"[..]),
            "content-type" => Verdict::handshake(200, "text/plain\r\nset-cookie: a=b", &b"x"[..]),
            "ok" => Verdict::handshake(200, "text/plain", &b"fine"[..]),
            _ => Verdict::handshake(200, "text/plain", vec![b'x'; 1 << 20]),
        }
    }
}

export_verifier!(Oversized);
