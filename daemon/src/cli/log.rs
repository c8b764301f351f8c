//! Logging setup: `[log] format` (text or JSON lines) and `[log] level`, `RUST_LOG` (alias
//! `HOOKD_LOG`) as the override, colour only on a terminal, the compiler crates quiet unless
//! named, repeated warnings rate-limited ([`super::log_limit`]). Everything goes to standard
//! error.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::log_limit::{spawn_flusher, LimitFilter, Limiter};
use crate::config::{LogConfig, LogFormat};

/// Targets that are chatty at `debug` (wasmtime and Cranelift compile plugins; librdkafka
/// relays its own debug log): kept at `warn` unless the filter names them.
const QUIET: &[&str] = &[
    "wasmtime",
    "cranelift",
    "regalloc2",
    "librdkafka",
    "rdkafka",
];

/// The filter text: `RUST_LOG`, else `HOOKD_LOG`, else `level`, plus `warn` for each of
/// [`QUIET`] the text does not name.
pub(crate) fn filter_text(level: &str, env: impl Fn(&str) -> Option<String>) -> String {
    let base = env("RUST_LOG")
        .or_else(|| env("HOOKD_LOG"))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| level.to_string());
    let mut text = base.clone();
    for t in QUIET {
        if !base.contains(t) {
            text.push_str(&format!(",{t}=warn"));
        }
    }
    text
}

/// Installs the global subscriber for `cfg` (once per process; later calls do nothing).
/// Returns the limiter of repeated warnings, to report what it still holds at exit.
pub(crate) fn init(cfg: &LogConfig) -> Option<Arc<Limiter>> {
    let text = filter_text(&cfg.level, |k| std::env::var(k).ok());
    let (filter, bad) = match EnvFilter::builder().parse(&text) {
        Ok(f) => (f, None),
        Err(e) => (
            EnvFilter::new(filter_text(&cfg.level, |_| None)),
            Some(format!("{e}")),
        ),
    };
    let limiter = Limiter::new(cfg.warn_burst, Duration::from_secs(cfg.warn_window_secs));
    let out = match cfg.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_filter(LimitFilter(limiter.clone()))
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(LimitFilter(limiter.clone()))
            .boxed(),
    };
    if tracing_subscriber::registry()
        .with(filter)
        .with(out)
        .try_init()
        .is_ok()
    {
        spawn_flusher(limiter.clone());
        if let Some(e) = bad {
            tracing::warn!(error = %e, "RUST_LOG/HOOKD_LOG is not a valid filter; using [log] level");
        }
        return Some(limiter);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::filter_text;

    #[test]
    fn rust_log_overrides_and_compilers_stay_quiet() {
        let none = |_: &str| None;
        assert_eq!(
            filter_text("info", none),
            "info,wasmtime=warn,cranelift=warn,regalloc2=warn,librdkafka=warn,rdkafka=warn"
        );
        let env = |k: &str| (k == "RUST_LOG").then(|| "debug,cranelift=debug".to_string());
        let t = filter_text("info", env);
        assert!(t.starts_with("debug,cranelift=debug,wasmtime=warn"), "{t}");
        assert!(!t.contains("cranelift=warn"), "{t}");
        let alias = |k: &str| (k == "HOOKD_LOG").then(|| "trace".to_string());
        assert!(filter_text("info", alias).starts_with("trace,"));
        let both = |k: &str| Some(format!("{k}-wins"));
        assert!(filter_text("info", both).starts_with("RUST_LOG-wins"));
    }
}
