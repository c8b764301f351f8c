//! Standard output and error of a plugin: `wasi:cli/stdout`, `wasi:cli/stderr` and the
//! `output-stream` methods of `wasi:io/streams` that Rust's standard library (and the WASI
//! preview 1 adapter) use to write — `check-write`, `write`, `blocking-write-and-flush`,
//! `flush`, `blocking-flush`, `subscribe` (a `wasi:io/poll` pollable that is always ready) —
//! and an empty `wasi:cli/environment` (no variables, no arguments), which std reads before
//! printing a panic message.
//!
//! What a plugin writes is kept per call, at most [`MAX_OUTPUT_PER_CALL`] bytes (the rest is
//! dropped and said so), and written to hookd's log line by line when the call ends (see
//! [`super::log`]): stdout at `info`, stderr at `warn`. So `println!` works, and a Rust
//! plugin's panic message shows in the log next to the trap it causes. Every other stream
//! function (`subscribe`, `splice`, stdin …) still traps.

use wasmtime::component::{Linker, Resource, ResourceType, Val};
use wasmtime::StoreContextMut;

use super::log::{Level, PluginLog, Source};
use super::sandbox::HostState;

/// Bytes of output kept per call (stdout and stderr together).
pub const MAX_OUTPUT_PER_CALL: usize = 4096;

/// What `check-write` grants per write.
const WRITE_PERMIT: u64 = 4096;

/// The host side of an `output-stream`: rep 1 is stdout, 2 stderr.
pub struct OutputStream;

/// The host side of a `pollable` (of an output stream: always ready, `block` returns at once).
pub struct Pollable;

const STDOUT: u32 = 1;
const STDERR: u32 = 2;

/// What one call has written so far.
#[derive(Default)]
pub struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    dropped: usize,
}

impl Output {
    fn push(&mut self, rep: u32, bytes: &[u8]) {
        let room = MAX_OUTPUT_PER_CALL.saturating_sub(self.stdout.len() + self.stderr.len());
        let keep = bytes.len().min(room);
        self.dropped += bytes.len() - keep;
        let buf = if rep == STDERR {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        buf.extend_from_slice(&bytes[..keep]);
    }

    /// Writes what the call printed to `log`, one line per line, and empties the buffers.
    pub fn flush(&mut self, log: &PluginLog) {
        if self.stdout.is_empty() && self.stderr.is_empty() && self.dropped == 0 {
            return;
        }
        for (buf, level, source) in [
            (&mut self.stdout, Level::Info, Source::Stdout),
            (&mut self.stderr, Level::Warn, Source::Stderr),
        ] {
            let text = String::from_utf8_lossy(buf);
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                log.write(level, source, line);
            }
            buf.clear();
        }
        if self.dropped > 0 {
            log.write(
                Level::Warn,
                Source::Stderr,
                &format!(
                    "[hookd: {} more bytes of output dropped; at most {MAX_OUTPUT_PER_CALL} per call]",
                    self.dropped
                ),
            );
            self.dropped = 0;
        }
    }
}

type Store<'a> = StoreContextMut<'a, HostState>;

/// Defines stdout and stderr for the WASI versions in `imports` (import names of a component).
pub fn define(linker: &mut Linker<HostState>, imports: &[String]) -> wasmtime::Result<()> {
    for name in imports {
        let Some((iface, _version)) = name.split_once('@') else {
            continue;
        };
        match iface {
            "wasi:io/streams" => define_streams(linker, name)?,
            // An empty environment: std's panic handler reads RUST_BACKTRACE before it
            // writes the message (which would otherwise never be seen).
            "wasi:cli/environment" => {
                let mut i = linker.instance(name)?;
                i.func_wrap("get-environment", |_, (): ()| {
                    Ok((Vec::<(String, String)>::new(),))
                })?;
                i.func_wrap("get-arguments", |_, (): ()| Ok((Vec::<String>::new(),)))?;
            }
            "wasi:io/poll" => {
                let mut i = linker.instance(name)?;
                i.resource("pollable", ResourceType::host::<Pollable>(), |_, _| Ok(()))?;
                i.func_wrap(
                    "[method]pollable.block",
                    |_, (_,): (Resource<Pollable>,)| Ok(()),
                )?;
                i.func_wrap(
                    "[method]pollable.ready",
                    |_, (_,): (Resource<Pollable>,)| Ok((true,)),
                )?;
            }
            "wasi:cli/stdout" => {
                let mut i = linker.instance(name)?;
                // The interface re-exports the stream type: the same host type as in streams.
                i.resource("output-stream", ResourceType::host::<OutputStream>(), |_, _| Ok(()))?;
                i.func_wrap("get-stdout", |_, (): ()| {
                    Ok((Resource::<OutputStream>::new_own(STDOUT),))
                })?;
            }
            "wasi:cli/stderr" => {
                let mut i = linker.instance(name)?;
                i.resource("output-stream", ResourceType::host::<OutputStream>(), |_, _| Ok(()))?;
                i.func_wrap("get-stderr", |_, (): ()| {
                    Ok((Resource::<OutputStream>::new_own(STDERR),))
                })?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn define_streams(linker: &mut Linker<HostState>, name: &str) -> wasmtime::Result<()> {
    let mut i = linker.instance(name)?;
    i.resource(
        "output-stream",
        ResourceType::host::<OutputStream>(),
        |_, _| Ok(()),
    )?;
    // Re-exported from wasi:io/poll: the same host type.
    i.resource("pollable", ResourceType::host::<Pollable>(), |_, _| Ok(()))?;
    // Writers wait on this before each write (the WASI adapter's blocking write): always
    // ready.
    i.func_wrap(
        "[method]output-stream.subscribe",
        |_, (_,): (Resource<OutputStream>,)| Ok((Resource::<Pollable>::new_own(0),)),
    )?;
    // `result<u64, stream-error>`: always room for another write.
    i.func_new(
        "[method]output-stream.check-write",
        |mut s: Store<'_>, _, params: &[Val], results: &mut [Val]| {
            stream_rep(&mut s, &params[0])?;
            results[0] = Val::Result(Ok(Some(Box::new(Val::U64(WRITE_PERMIT)))));
            Ok(())
        },
    )?;
    for method in [
        "[method]output-stream.write",
        "[method]output-stream.blocking-write-and-flush",
    ] {
        i.func_new(method, |mut s: Store<'_>, _, params: &[Val], results| {
            let rep = stream_rep(&mut s, &params[0])?;
            let Some(Val::List(bytes)) = params.get(1) else {
                wasmtime::bail!("output-stream write: contents is not a list");
            };
            let bytes: Vec<u8> = bytes
                .iter()
                .map(|v| match v {
                    Val::U8(b) => *b,
                    _ => 0,
                })
                .collect();
            s.data_mut().output.push(rep, &bytes);
            results[0] = Val::Result(Ok(None));
            Ok(())
        })?;
    }
    for method in [
        "[method]output-stream.flush",
        "[method]output-stream.blocking-flush",
    ] {
        i.func_new(method, |mut s: Store<'_>, _, params: &[Val], results| {
            stream_rep(&mut s, &params[0])?;
            results[0] = Val::Result(Ok(None));
            Ok(())
        })?;
    }
    Ok(())
}

/// Which stream a method was called on. The borrowed handle is released (every `ResourceAny`
/// must be dropped, borrows too, before the call returns).
fn stream_rep(s: &mut Store<'_>, v: &Val) -> wasmtime::Result<u32> {
    match v {
        Val::Resource(any) => {
            // Converting releases the borrow.
            Ok((*any).try_into_resource::<OutputStream>(&mut *s)?.rep())
        }
        _ => wasmtime::bail!("output-stream method without a stream"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_bounded_per_call_and_logged_by_line() {
        let log = PluginLog::capturing("p");
        let mut out = Output::default();
        out.push(STDOUT, b"one\ntwo\n");
        out.push(STDERR, b"panicked at x");
        out.flush(&log);
        let lines: Vec<_> = log
            .take_captured()
            .into_iter()
            .map(|l| (l.level, l.source, l.message))
            .collect();
        assert_eq!(
            lines,
            vec![
                (Level::Info, Source::Stdout, "one".to_string()),
                (Level::Info, Source::Stdout, "two".to_string()),
                (Level::Warn, Source::Stderr, "panicked at x".to_string()),
            ]
        );
        out.push(STDOUT, &vec![b'x'; MAX_OUTPUT_PER_CALL + 10]);
        out.flush(&log);
        let lines = log.take_captured();
        assert_eq!(lines.len(), 2);
        assert!(lines[1].message.contains("10 more bytes"), "{lines:?}");
        out.flush(&log);
        assert!(log.take_captured().is_empty(), "flushed once");
    }
}
