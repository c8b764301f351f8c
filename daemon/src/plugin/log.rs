//! A plugin's log: the `hookd:verifier/log` import (contract 0.3.0) and the lines it prints to
//! standard output and error (see [`super::stdio`]), written to hookd's log with a `plugin`
//! field.
//!
//! Bounded three ways: each line is cut to [`MAX_LINE`] bytes with control characters escaped
//! (a plugin cannot forge log lines), a plugin writes at most `[plugins] log_lines_per_second`
//! lines per second (a token bucket shared by every version of the plugin: lines over it are
//! counted in `hookd_plugin_log_lines_dropped_total` and reported in one line once the plugin
//! may log again), and printed output is cut at [`super::stdio::MAX_OUTPUT_PER_CALL`] per call.
//!
//! `hookd plugin call` / `test` capture the lines instead ([`PluginLog::capturing`]) to print
//! them with the verdict.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use wasmtime::component::{Linker, WasmStr};
use wasmtime::StoreContextMut;

use super::sandbox::bindings::hookd::verifier::log::Level as WitLevel;
use super::sandbox::HostState;
use crate::metrics::PLUGIN_LOG_DROPPED_TOTAL;

/// The log interface's name as plugins import it.
pub const INTERFACE: &str = concat!("hookd:verifier/log@", super::contract!());

/// Links the `log` import: the message is read in place from the plugin's memory.
pub fn define(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.instance(INTERFACE)?.func_wrap(
        "log",
        |s: StoreContextMut<'_, HostState>, (level, message): (WitLevel, WasmStr)| {
            let level = match level {
                WitLevel::Trace => Level::Trace,
                WitLevel::Debug => Level::Debug,
                WitLevel::Info => Level::Info,
                WitLevel::Warn => Level::Warn,
                WitLevel::Error => Level::Error,
            };
            let log = s.data().log.clone();
            log.write(level, Source::Log, &message.to_str(&s)?);
            Ok(())
        },
    )
}

/// Longest line written, bytes (longer ones are cut and marked with `…`).
pub const MAX_LINE: usize = 1024;

/// Most lines kept by a capturing log (what `hookd plugin call` prints).
const MAX_CAPTURED: usize = 1000;

/// Severity of a plugin's line (the WIT `log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// `trace`
    Trace,
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `warn`
    Warn,
    /// `error`
    Error,
}

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The `log` import.
    Log,
    /// Standard output.
    Stdout,
    /// Standard error (also where a Rust plugin's panic message goes).
    Stderr,
}

/// One line a plugin wrote (as captured by [`PluginLog::capturing`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    /// Its severity.
    pub level: Level,
    /// Where it came from.
    pub source: Source,
    /// The line, cut and escaped.
    pub message: String,
}

/// The log of one plugin name (shared by its versions across reloads).
pub struct PluginLog {
    plugin: String,
    limiter: Option<DefaultDirectRateLimiter>,
    dropped: AtomicU64,
    /// Lines of calls made for `hookd plugin call` / `test`, instead of the log.
    capture: Option<Mutex<Vec<Line>>>,
}

impl PluginLog {
    /// The log of `plugin`, writing at most `per_second` lines per second (0: none).
    pub fn new(plugin: &str, per_second: u32) -> PluginLog {
        PluginLog {
            plugin: plugin.to_owned(),
            limiter: NonZeroU32::new(per_second).map(|n| RateLimiter::direct(Quota::per_second(n))),
            dropped: AtomicU64::new(0),
            capture: None,
        }
    }

    /// A log that keeps every line (up to a bound) for [`PluginLog::take_captured`] and writes
    /// nothing: `hookd plugin call` and `test`.
    pub fn capturing(plugin: &str) -> PluginLog {
        PluginLog {
            capture: Some(Mutex::new(Vec::new())),
            ..PluginLog::new(plugin, 0)
        }
    }

    /// The lines captured since the last call (empty unless [`PluginLog::capturing`]).
    pub fn take_captured(&self) -> Vec<Line> {
        self.capture
            .as_ref()
            .map(|c| std::mem::take(&mut *c.lock().unwrap()))
            .unwrap_or_default()
    }

    /// Writes one line of the plugin (cut, escaped, rate-limited).
    pub fn write(&self, level: Level, source: Source, message: &str) {
        let message = clean(message);
        if let Some(c) = &self.capture {
            let mut c = c.lock().unwrap();
            if c.len() < MAX_CAPTURED {
                c.push(Line {
                    level,
                    source,
                    message,
                });
            }
            return;
        }
        let Some(limiter) = &self.limiter else {
            self.drop_line();
            return;
        };
        if limiter.check().is_err() {
            self.drop_line();
            return;
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(plugin = %self.plugin, dropped,
                "plugin log lines dropped (over plugins.log_lines_per_second)");
        }
        let (plugin, source) = (self.plugin.as_str(), source_name(source));
        match level {
            Level::Trace => tracing::trace!(plugin, source, "{message}"),
            Level::Debug => tracing::debug!(plugin, source, "{message}"),
            Level::Info => tracing::info!(plugin, source, "{message}"),
            Level::Warn => tracing::warn!(plugin, source, "{message}"),
            Level::Error => tracing::error!(plugin, source, "{message}"),
        }
    }

    fn drop_line(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(PLUGIN_LOG_DROPPED_TOTAL, "plugin" => self.plugin.clone()).increment(1);
    }
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Log => "log",
        Source::Stdout => "stdout",
        Source::Stderr => "stderr",
    }
}

/// `message` cut to [`MAX_LINE`] bytes (at a character boundary, marked `…`), control
/// characters escaped (`\n`, `\u{1b}` …) so one call writes exactly one log line.
pub fn clean(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_LINE + 8));
    for c in message.chars() {
        if out.len() >= MAX_LINE {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_and_escaped() {
        assert_eq!(clean("plain"), "plain");
        assert_eq!(clean("a\nb\r\x1b[31m"), "a\\nb\\r\\u{1b}[31m");
        let long = "é".repeat(2000);
        let c = clean(&long);
        assert!(c.len() <= MAX_LINE + 4, "{}", c.len());
        assert!(c.ends_with('…'));
    }

    #[test]
    fn the_rate_limit_drops_and_counts() {
        let log = PluginLog::new("p", 3);
        for _ in 0..10 {
            log.write(Level::Info, Source::Log, "x");
        }
        assert_eq!(log.dropped.load(Ordering::Relaxed), 7, "a burst of 3 passes");
        let silent = PluginLog::new("p", 0);
        silent.write(Level::Error, Source::Stderr, "x");
        assert_eq!(silent.dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_capturing_log_keeps_the_lines() {
        let log = PluginLog::capturing("p");
        log.write(Level::Warn, Source::Stdout, "hello\n");
        assert_eq!(
            log.take_captured(),
            vec![Line {
                level: Level::Warn,
                source: Source::Stdout,
                message: "hello\\n".into()
            }]
        );
        assert!(log.take_captured().is_empty());
    }
}
