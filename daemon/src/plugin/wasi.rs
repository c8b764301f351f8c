//! The WASI a plugin gets: randomness, and nothing else.
//!
//! A `wasm32-wasip2` component imports WASI interfaces through Rust's standard library (stdio
//! for panic messages, environment, exit, clocks …) even when it never uses them. hookd defines
//! every such import as a function that traps when called — no filesystem, network,
//! environment, clock or output can be reached — except `wasi:random`, which std's `HashMap`
//! needs for its seed. A plugin that panics traps at its first write to stderr, which is
//! reported like any trap.
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
    for name in names {
        let Some((iface, _version)) = name.split_once('@') else {
            continue;
        };
        match iface {
            "wasi:random/random" => {
                let mut i = linker.instance(&name)?;
                i.func_wrap("get-random-bytes", |_, (len,): (u64,)| {
                    Ok((random_bytes(len)?,))
                })?;
                i.func_wrap("get-random-u64", |_, (): ()| Ok((fastrand::u64(..),)))?;
            }
            "wasi:random/insecure" => {
                let mut i = linker.instance(&name)?;
                i.func_wrap("get-insecure-random-bytes", |_, (len,): (u64,)| {
                    Ok((random_bytes(len)?,))
                })?;
                i.func_wrap("get-insecure-random-u64", |_, (): ()| {
                    Ok((fastrand::u64(..),))
                })?;
            }
            "wasi:random/insecure-seed" => {
                let mut i = linker.instance(&name)?;
                i.func_wrap("insecure-seed", |_, (): ()| {
                    Ok(((fastrand::u64(..), fastrand::u64(..)),))
                })?;
            }
            _ => {}
        }
    }
    linker.define_unknown_imports_as_traps(component)
}

fn random_bytes(len: u64) -> wasmtime::Result<Vec<u8>> {
    if len > MAX_RANDOM_BYTES {
        wasmtime::bail!("get-random-bytes: {len} bytes requested (at most {MAX_RANDOM_BYTES})");
    }
    let mut v = vec![0u8; len as usize];
    fastrand::fill(&mut v);
    Ok(v)
}
