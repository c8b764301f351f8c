//! Hostile test plugin: allocates (and touches) 1 MiB after 1 MiB until the host's memory
//! limit stops it.

use hookd_plugin_sdk::{export_verifier, Request, Verdict, Verifier};

struct MemoryBomb;

impl Verifier for MemoryBomb {
    fn verify(_req: &Request) -> Verdict {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![0xA5; 1 << 20]);
            std::hint::black_box(&hoard);
        }
    }
}

export_verifier!(MemoryBomb);
