//! The WASI a plugin gets: randomness and writing to standard output and error, nothing else.
//!
//! A `wasm32-wasip2` component imports WASI interfaces through Rust's standard library (stdio
//! for panic messages, environment, exit, clocks …) even when it never uses them. hookd defines
//! every such import as a function that traps when called — no filesystem, network,
//! clock or input can be reached — except `wasi:random`, which std's `HashMap` needs for its
//! seed, an empty environment, and stdout/stderr, which go to hookd's log, bounded ([`super::stdio`]):
//! `println!` does not fail a request, and a panic's message is logged before its trap.
//!
//! `wasi:random/random` promises cryptographically secure bytes (a plugin may use them for
//! nonces or keys), so it is served from the operating system's CSPRNG (`getrandom`); a failing
//! OS source traps the call rather than hand out weaker bytes. `wasi:random/insecure` and
//! `insecure-seed` promise nothing of the kind and stay on `fastrand`.
//!
//! Why not `wasmtime-wasi` with an empty context: its synchronous bindings enter the ambient
//! tokio runtime (`Handle::block_on`) on every call, which panics on an async worker thread —
//! so plugin calls could not run inline, and handing each to another thread costs several times
//! the call (see benches/benches/plugin.rs). Three functions are all plugins need.

use wasmtime::component::{Component, Linker};

use super::sandbox::HostState;

/// Largest `get-random-bytes` request served (more traps).
const MAX_RANDOM_BYTES: u64 = 64 * 1024;

/// Defines `wasi:random` (at the exact versions `component` imports) and every other import
/// `linker` lacks as a trap.
pub fn define(linker: &mut Linker<HostState>, component: &Component) -> wasmtime::Result<()> {
    let engine = linker.engine().clone();
    let names: Vec<String> = component
        .component_type()
        .imports(&engine)
        .map(|(name, _)| name.to_string())
        .collect();
    for name in &names {
        let Some((iface, _version)) = name.split_once('@') else {
            continue;
        };
        match iface {
            "wasi:random/random" => {
                let mut i = linker.instance(name)?;
                i.func_wrap("get-random-bytes", |_, (len,): (u64,)| {
                    Ok((secure_random_bytes(len)?,))
                })?;
                i.func_wrap("get-random-u64", |_, (): ()| Ok((secure_random_u64()?,)))?;
            }
            "wasi:random/insecure" => {
                let mut i = linker.instance(name)?;
                i.func_wrap("get-insecure-random-bytes", |_, (len,): (u64,)| {
                    Ok((insecure_random_bytes(len)?,))
                })?;
                i.func_wrap("get-insecure-random-u64", |_, (): ()| {
                    Ok((fastrand::u64(..),))
                })?;
            }
            "wasi:random/insecure-seed" => {
                let mut i = linker.instance(name)?;
                i.func_wrap("insecure-seed", |_, (): ()| {
                    Ok(((fastrand::u64(..), fastrand::u64(..)),))
                })?;
            }
            _ => {}
        }
    }
    super::stdio::define(linker, &names)?;
    linker.define_unknown_imports_as_traps(component)
}

/// `wasi:random/random`'s `get-random-bytes`: `len` bytes from the OS CSPRNG.
fn secure_random_bytes(len: u64) -> wasmtime::Result<Vec<u8>> {
    let mut v = vec![0u8; checked_len(len)?];
    getrandom::fill(&mut v).map_err(os_random_failed)?;
    Ok(v)
}

/// `wasi:random/random`'s `get-random-u64`, from the OS CSPRNG.
fn secure_random_u64() -> wasmtime::Result<u64> {
    getrandom::u64().map_err(os_random_failed)
}

fn os_random_failed(e: getrandom::Error) -> wasmtime::Error {
    wasmtime::format_err!("wasi:random/random: the OS random source failed: {e}")
}

/// `wasi:random/insecure`'s `get-insecure-random-bytes`: fast, not for secrets.
fn insecure_random_bytes(len: u64) -> wasmtime::Result<Vec<u8>> {
    let mut v = vec![0u8; checked_len(len)?];
    fastrand::fill(&mut v);
    Ok(v)
}

fn checked_len(len: u64) -> wasmtime::Result<usize> {
    if len > MAX_RANDOM_BYTES {
        wasmtime::bail!("get-random-bytes: {len} bytes requested (at most {MAX_RANDOM_BYTES})");
    }
    Ok(len as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What this can show: `get-random-bytes` and `get-random-u64` answer with bytes that are
    /// neither constant nor zero, and that are not drawn from this thread's `fastrand`
    /// generator (what served them before): after reseeding that generator, the host functions'
    /// output differs from what it yields for the same seed. What it cannot show: that the
    /// bytes are unpredictable or come from the OS — no test of outputs can; that rests on the
    /// functions calling `getrandom`, the OS CSPRNG.
    #[test]
    fn secure_random_comes_from_the_os_not_fastrand() {
        let a = secure_random_bytes(32).unwrap();
        let b = secure_random_bytes(32).unwrap();
        assert_eq!((a.len(), b.len()), (32, 32));
        assert_ne!(a, b, "two 32-byte draws are equal");
        assert!(a.iter().any(|&x| x != 0) && b.iter().any(|&x| x != 0));
        assert_ne!(secure_random_u64().unwrap(), secure_random_u64().unwrap());

        fastrand::seed(0x6b6f_6f68);
        let bytes = secure_random_bytes(32).unwrap();
        let word = secure_random_u64().unwrap();
        fastrand::seed(0x6b6f_6f68);
        let mut from_fastrand = [0u8; 32];
        fastrand::fill(&mut from_fastrand);
        assert_ne!(
            bytes, from_fastrand,
            "get-random-bytes is served by fastrand"
        );
        fastrand::seed(0x6b6f_6f68);
        let fastrand_word = fastrand::u64(..);
        assert_ne!(word, fastrand_word, "get-random-u64 is served by fastrand");
    }

    #[test]
    fn random_requests_are_bounded() {
        assert_eq!(secure_random_bytes(0).unwrap(), Vec::<u8>::new());
        assert_eq!(
            secure_random_bytes(MAX_RANDOM_BYTES).unwrap().len(),
            MAX_RANDOM_BYTES as usize
        );
        assert!(secure_random_bytes(MAX_RANDOM_BYTES + 1).is_err());
        assert!(insecure_random_bytes(MAX_RANDOM_BYTES + 1).is_err());
        assert_eq!(insecure_random_bytes(16).unwrap().len(), 16);
    }
}
