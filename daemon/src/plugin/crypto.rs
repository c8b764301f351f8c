//! The `hookd:verifier/crypto` imports: HMAC, SHA-256, constant-time comparison and Ed25519,
//! run natively with the RustCrypto / dalek crates hookd already uses.
//!
//! The imports are linked by hand ([`define`]) rather than through the generated bindings so
//! that their arguments are read in place from the plugin's memory ([`WasmList::as_le_slice`]):
//! a 64 KiB body is hashed where the plugin keeps it, never copied into a host `Vec`.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use wasmtime::component::{Linker, LinkerInstance, WasmList};
use wasmtime::StoreContextMut;

use super::sandbox::HostState;
pub use hookd_verify::hmac::{hmac_sha1, hmac_sha256};

/// The crypto interface's name as plugins import it.
pub const INTERFACE: &str = concat!("hookd:verifier/crypto@", super::contract!());

/// The crypto interface of every contract version hookd links (unchanged since 0.2.0).
pub const INTERFACES: [&str; 2] = [INTERFACE, "hookd:verifier/crypto@0.2.0"];

/// Whether `mac` equals any `mac.len()`-byte chunk of `expected`, in time that depends only on
/// the lengths (every chunk is compared). False when `expected` is empty or not a whole number
/// of chunks.
pub fn matches_any(mac: &[u8], expected: &[u8]) -> bool {
    if mac.is_empty() || expected.is_empty() || expected.len() % mac.len() != 0 {
        return false;
    }
    let mut any = subtle::Choice::from(0);
    for chunk in expected.chunks_exact(mac.len()) {
        any |= chunk.ct_eq(mac);
    }
    any.into()
}

/// Constant-time equality (time depends only on the lengths).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Ed25519 (RFC 8032, strict: no small-order keys, canonical signatures) over the
/// concatenation of `parts`; false for malformed keys or signatures.
pub fn ed25519_verify(public_key: &[u8], parts: &[&[u8]], signature: &[u8]) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(public_key) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&pk) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
        return false;
    };
    // Ed25519 hashes the message more than once: joined only when there are two parts.
    let mut nonempty = parts.iter().filter(|p| !p.is_empty());
    match (nonempty.next(), nonempty.next()) {
        (None, _) => key.verify_strict(&[], &sig).is_ok(),
        (Some(one), None) => key.verify_strict(one, &sig).is_ok(),
        _ => key.verify_strict(&parts.concat(), &sig).is_ok(),
    }
}

type Store<'a> = StoreContextMut<'a, HostState>;
type Bytes = WasmList<u8>;

/// Links the crypto imports into `linker`.
pub fn define(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    for name in INTERFACES {
        define_in(&mut linker.instance(name)?)?;
    }
    Ok(())
}

fn define_in(i: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    define_hmac(i, "hmac-sha256", hmac_sha256)?;
    define_hmac(i, "hmac-sha1", hmac_sha1)?;
    i.func_wrap("sha256", |s: Store<'_>, (p, d): (Bytes, Bytes)| {
        let mut h = Sha256::new();
        Digest::update(&mut h, p.as_le_slice(&s));
        Digest::update(&mut h, d.as_le_slice(&s));
        Ok((h.finalize().to_vec(),))
    })?;
    i.func_wrap(
        "constant-time-eq",
        |s: Store<'_>, (a, b): (Bytes, Bytes)| {
            Ok((constant_time_eq(a.as_le_slice(&s), b.as_le_slice(&s)),))
        },
    )?;
    i.func_wrap(
        "ed25519-verify",
        |s: Store<'_>, (k, p, d, sig): (Bytes, Bytes, Bytes, Bytes)| {
            let parts = [p.as_le_slice(&s), d.as_le_slice(&s)];
            Ok((ed25519_verify(
                k.as_le_slice(&s),
                &parts,
                sig.as_le_slice(&s),
            ),))
        },
    )?;
    Ok(())
}

/// Links `<name>(key, prefix, data)` returning the MAC of `prefix ‖ data`, and
/// `<name>-matches(key, prefix, data, expected)` comparing it with every MAC-sized chunk of
/// `expected` inside the host.
fn define_hmac<const N: usize>(
    i: &mut LinkerInstance<'_, HostState>,
    name: &str,
    mac: fn(&[u8], &[&[u8]]) -> [u8; N],
) -> wasmtime::Result<()> {
    i.func_wrap(
        name,
        move |s: Store<'_>, (k, p, d): (Bytes, Bytes, Bytes)| {
            Ok((mac(k.as_le_slice(&s), &[p.as_le_slice(&s), d.as_le_slice(&s)]).to_vec(),))
        },
    )?;
    i.func_wrap(
        &format!("{name}-matches"),
        move |s: Store<'_>, (k, p, d, e): (Bytes, Bytes, Bytes, Bytes)| {
            let mac = mac(k.as_le_slice(&s), &[p.as_le_slice(&s), d.as_le_slice(&s)]);
            Ok((matches_any(&mac, e.as_le_slice(&s)),))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_vectors() {
        // RFC 4231 test case 2, also split into prefix and data.
        let want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", &[b"what do ya want for nothing?"])),
            want
        );
        assert_eq!(
            hex::encode(hmac_sha256(
                b"Jefe",
                &[b"what do ya ", b"want for nothing?"]
            )),
            want
        );
        // RFC 2202 test case 2.
        assert_eq!(
            hex::encode(hmac_sha1(b"Jefe", &[b"what do ya want for nothing?"])),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        // RFC 8032 test 1 (empty message).
        let pk = hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            .unwrap();
        let sig = hex::decode("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b").unwrap();
        assert!(ed25519_verify(&pk, &[b""], &sig));
        assert!(ed25519_verify(&pk, &[b"", b""], &sig));
        assert!(!ed25519_verify(&pk, &[b"x"], &sig));
        assert!(!ed25519_verify(&pk[..31], &[b""], &sig));
        assert!(!ed25519_verify(&pk, &[b""], &sig[..63]));
    }

    #[test]
    fn matches_any_checks_every_whole_chunk() {
        let mac = [7u8; 4];
        assert!(matches_any(&mac, &[7, 7, 7, 7]));
        assert!(matches_any(&mac, &[1, 2, 3, 4, 7, 7, 7, 7]));
        assert!(!matches_any(&mac, &[1, 2, 3, 4, 7, 7, 7, 6]));
        assert!(!matches_any(&mac, &[]), "nothing expected matches nothing");
        assert!(!matches_any(&mac, &[7, 7, 7, 7, 7]), "a partial chunk");
        assert!(!matches_any(&mac, &[7, 7, 7]));
        assert!(!matches_any(&[], &[]));
    }
}
