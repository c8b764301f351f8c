//! Rate limiting of repeated warnings: a per-layer [`Filter`] that lets at most `burst` WARN or
//! ERROR events from one place in the code (one callsite) through per window, counts the rest,
//! and reports the counts with [`Limiter::flush`] (`N repeated warnings suppressed`, naming the
//! place and the first suppressed message).
//!
//! Why not a crate: none of the well-kept `tracing` crates limits repeated events; the filter
//! is a counter per callsite behind a mutex that only WARN and ERROR events reach. The counts are
//! reported from outside the subscriber (a timer thread, [`spawn_flusher`]) because `tracing`
//! refuses events emitted while another one is being dispatched on the same thread.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::callsite::Identifier;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata};
use tracing_subscriber::layer::{Context, Filter};

/// Target of the summaries (never limited).
pub(crate) const TARGET: &str = "hookd::log";

/// Per-callsite counters of WARN/ERROR events.
pub(crate) struct Limiter {
    burst: u32,
    window: Duration,
    slots: Mutex<HashMap<Identifier, Slot>>,
}

struct Slot {
    start: Instant,
    written: u32,
    suppressed: u64,
    place: String,
    sample: String,
}

/// One report of [`Limiter::flush`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Suppressed {
    /// `target` and `file:line` of the callsite.
    pub place: String,
    /// The message of the first suppressed event.
    pub sample: String,
    /// Events not written.
    pub count: u64,
}

struct MessageOf<'a>(&'a mut String);

impl Visit for MessageOf<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            *self.0 = value.to_string();
        }
    }
}

impl Limiter {
    /// At most `burst` events per callsite and `window` (burst 0: no limit).
    pub(crate) fn new(burst: u32, window: Duration) -> Arc<Self> {
        Arc::new(Self {
            burst,
            window,
            slots: Mutex::new(HashMap::new()),
        })
    }

    fn admit(&self, event: &Event<'_>) -> bool {
        let meta = event.metadata();
        if self.burst == 0 || *meta.level() > Level::WARN || meta.target() == TARGET {
            return true;
        }
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots.entry(meta.callsite()).or_insert_with(|| Slot {
            start: now,
            written: 0,
            suppressed: 0,
            place: format!(
                "{} {}:{}",
                meta.target(),
                meta.file().unwrap_or("?"),
                meta.line().unwrap_or(0)
            ),
            sample: String::new(),
        });
        if now.duration_since(slot.start) >= self.window {
            slot.start = now;
            slot.written = 0;
        }
        if slot.written < self.burst {
            slot.written += 1;
            return true;
        }
        if slot.suppressed == 0 {
            event.record(&mut MessageOf(&mut slot.sample));
        }
        slot.suppressed += 1;
        false
    }

    /// Takes the counts of suppressed events of the callsites whose window is over (a window
    /// also restarts, without a report, when the callsite's next event comes after it).
    pub(crate) fn flush(&self) -> Vec<Suppressed> {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        slots.retain(|_, s| {
            if now.duration_since(s.start) < self.window {
                return true;
            }
            if s.suppressed > 0 {
                out.push(Suppressed {
                    place: s.place.clone(),
                    sample: std::mem::take(&mut s.sample),
                    count: std::mem::take(&mut s.suppressed),
                });
            }
            // A quiet callsite is forgotten (the map holds only recently noisy places).
            false
        });
        out
    }

    /// Logs the counts [`flush`](Self::flush) returns, one WARN line each.
    pub(crate) fn report(&self) {
        self.log(self.flush());
    }

    /// Logs every count, whether or not its window is over (at exit).
    pub(crate) fn report_all(&self) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let all: Vec<Suppressed> = slots
            .drain()
            .filter(|(_, s)| s.suppressed > 0)
            .map(|(_, s)| Suppressed {
                place: s.place,
                sample: s.sample,
                count: s.suppressed,
            })
            .collect();
        drop(slots);
        self.log(all);
    }

    fn log(&self, reports: Vec<Suppressed>) {
        for s in reports {
            tracing::warn!(target: TARGET, suppressed = s.count, place = %s.place,
                first = %s.sample, "repeated warnings suppressed");
        }
    }
}

/// The filter half: put it on the output layer with `.with_filter(...)`.
pub(crate) struct LimitFilter(pub Arc<Limiter>);

impl<S> Filter<S> for LimitFilter {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }
    fn event_enabled(&self, event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        self.0.admit(event)
    }
}

/// Reports suppressed counts once their window is over (looking every second, at most every
/// window), from a thread of its own, for the life of the process.
pub(crate) fn spawn_flusher(l: Arc<Limiter>) {
    if l.burst == 0 {
        return;
    }
    let tick = l.window.min(Duration::from_secs(1));
    let _ = std::thread::Builder::new()
        .name("hookd-log-limit".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            l.report();
        });
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn repeated_warnings_are_counted_and_reported() {
        let buf = Buf::default();
        let limiter = Limiter::new(3, Duration::from_millis(200));
        let w = buf.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || w.clone())
            .with_filter(LimitFilter(limiter.clone()));
        let sub = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(sub, || {
            for i in 0..20 {
                tracing::warn!(n = i, "broker down");
                tracing::info!(n = i, "info is never limited");
            }
            tracing::error!("another place");
            assert!(limiter.flush().is_empty(), "window not over yet");
            std::thread::sleep(Duration::from_millis(250));
            let r = limiter.flush();
            assert_eq!(r.len(), 1, "{r:?}");
            assert_eq!(r[0].count, 17);
            assert_eq!(r[0].sample, "broker down");
            assert!(r[0].place.contains("log_limit.rs"), "{}", r[0].place);
            // the window restarted: warnings are written again
            tracing::warn!("broker down again");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches("broker down").count(), 4, "{text}");
        assert_eq!(text.matches("info is never limited").count(), 20);
        assert_eq!(text.matches("another place").count(), 1);
    }
}
