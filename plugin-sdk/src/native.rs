//! The host's imports implemented natively, so that a plugin's unit tests run with a plain
//! `cargo test` (on `wasm32` hookd provides them). Same algorithms and crates as hookd's host:
//! HMAC and SHA from RustCrypto, Ed25519 from dalek (strict verification), `subtle` for
//! constant-time comparison.

pub(crate) mod crypto {
    use alloc::vec::Vec;

    use ed25519_dalek::{Signature, VerifyingKey};
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;

    fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], prefix: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = <M as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        m.update(prefix);
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }

    fn matches_any(mac: &[u8], expected: &[u8]) -> bool {
        if expected.is_empty() || expected.len() % mac.len() != 0 {
            return false;
        }
        let mut any = subtle::Choice::from(0);
        for chunk in expected.chunks_exact(mac.len()) {
            any |= chunk.ct_eq(mac);
        }
        any.into()
    }

    pub fn hmac_sha256(key: &[u8], prefix: &[u8], data: &[u8]) -> Vec<u8> {
        mac::<Hmac<Sha256>>(key, prefix, data)
    }

    pub fn hmac_sha256_matches(key: &[u8], prefix: &[u8], data: &[u8], expected: &[u8]) -> bool {
        matches_any(&hmac_sha256(key, prefix, data), expected)
    }

    pub fn hmac_sha1(key: &[u8], prefix: &[u8], data: &[u8]) -> Vec<u8> {
        mac::<Hmac<sha1::Sha1>>(key, prefix, data)
    }

    pub fn hmac_sha1_matches(key: &[u8], prefix: &[u8], data: &[u8], expected: &[u8]) -> bool {
        matches_any(&hmac_sha1(key, prefix, data), expected)
    }

    pub fn sha256(prefix: &[u8], data: &[u8]) -> Vec<u8> {
        let mut h = Sha256::new();
        h.update(prefix);
        h.update(data);
        h.finalize().to_vec()
    }

    #[allow(dead_code)] // the WIT import, unused by the SDK (which compares with `subtle`)
    pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
        a.ct_eq(b).into()
    }

    pub fn ed25519_verify(public_key: &[u8], prefix: &[u8], data: &[u8], signature: &[u8]) -> bool {
        let (Ok(pk), Ok(sig)) = (
            <[u8; 32]>::try_from(public_key),
            Signature::from_slice(signature),
        ) else {
            return false;
        };
        let Ok(key) = VerifyingKey::from_bytes(&pk) else {
            return false;
        };
        let msg = [prefix, data].concat();
        key.verify_strict(&msg, &sig).is_ok()
    }
}

pub(crate) mod log {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    use crate::log::Level;

    std::thread_local! {
        static LINES: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    }

    /// Natively a line goes to standard error and is kept for [`crate::log::take_lines`].
    pub fn log(level: Level, message: &str) {
        std::eprintln!("[plugin {level:?}] {message}");
        LINES.with(|l| l.borrow_mut().push((level, message.into())));
    }

    pub fn take() -> Vec<(Level, String)> {
        LINES.with(|l| core::mem::take(&mut *l.borrow_mut()))
    }
}
