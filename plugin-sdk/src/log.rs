//! hookd's log (contract 0.3.0's `log` import): each line appears in hookd's log with the
//! plugin's name (field `plugin`). hookd rate-limits a plugin's lines (`[plugins]
//! log_lines_per_second`) and cuts each to 1 KiB. Never log a secret or a signature.
//!
//! `println!` / `eprintln!` work too (hookd logs each line at `info` / `warn`, at most 4 KiB per
//! call), but these functions say the level and cost no formatting machinery from `std`.
//!
//! In native unit tests a line goes to standard error and is kept for [`take_lines`].

#[cfg(target_arch = "wasm32")]
use crate::__private::hookd::verifier::log as host;
#[cfg(not(target_arch = "wasm32"))]
use crate::native::log as host;

pub use crate::__private::hookd::verifier::log::Level;

/// Writes `message` at `level`.
pub fn write(level: Level, message: &str) {
    host::log(level, message);
}

/// Writes `message` at `trace`.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Writes `message` at `debug`.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Writes `message` at `info`.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Writes `message` at `warn`.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Writes `message` at `error`.
pub fn error(message: &str) {
    write(Level::Error, message);
}

/// The lines this thread logged since the last call (native unit tests only).
#[cfg(not(target_arch = "wasm32"))]
pub fn take_lines() -> alloc::vec::Vec<(Level, alloc::string::String)> {
    crate::native::log::take()
}
