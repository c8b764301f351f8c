//! What a run measured: per-worker recorders merged into one [`Report`], printed for people and
//! written as one JSON line for `bench-report`.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Latencies are recorded in microseconds, 1 µs … 120 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// What one worker saw.
pub struct Recorder {
    /// Latency of requests started inside the measurement window, µs.
    pub latency: Histogram<u64>,
    /// Responses by status code (whole run).
    pub statuses: BTreeMap<u16, u64>,
    /// Client-side failures by kind (whole run).
    pub errors: BTreeMap<String, u64>,
    /// Sequence numbers answered 2xx (whole run), for the Kafka check.
    pub ok_seqs: Vec<u64>,
    /// Requests completed inside the measurement window.
    pub completed_in_window: u64,
    /// Of those, answered 2xx.
    pub ok_in_window: u64,
    /// Requests sent (whole run).
    pub sent: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            latency: histogram(),
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            ok_seqs: Vec::new(),
            completed_in_window: 0,
            ok_in_window: 0,
            sent: 0,
        }
    }
}

impl Recorder {
    /// Adds another worker's figures.
    pub fn merge(&mut self, o: Recorder) {
        self.latency
            .add(&o.latency)
            .expect("histograms share bounds");
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.ok_seqs.extend(o.ok_seqs);
        self.completed_in_window += o.completed_in_window;
        self.ok_in_window += o.ok_in_window;
        self.sent += o.sent;
    }
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// From a µs histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// The daemon's resources over the run (from `/proc/<pid>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProcessFigures {
    /// The pid read.
    pub pid: u32,
    /// CPU seconds used inside the measurement window (all threads).
    pub cpu_secs: f64,
    /// CPU µs per completed request (all threads).
    pub cpu_us_per_req: f64,
    /// CPU µs per completed request, without the embedded broker's `rdk:mock` thread.
    pub cpu_us_per_req_excl_broker: f64,
    /// CPU µs per request answered 2xx (all threads but the embedded broker's; with an
    /// external broker: every thread of the daemon).
    #[serde(default)]
    pub cpu_us_per_2xx: f64,
    /// CPU seconds per thread group inside the window.
    pub threads: BTreeMap<String, f64>,
    /// RSS at the start of the window, MiB.
    pub rss_start_mib: f64,
    /// RSS at the end of the window, MiB.
    pub rss_end_mib: f64,
    /// Largest RSS sampled during the run, MiB.
    pub rss_max_mib: f64,
    /// Peak RSS of the process's life (VmHWM), MiB.
    pub hwm_mib: f64,
    /// Least-squares slope of RSS over the window, MiB per minute (memory growth).
    pub rss_slope_mib_per_min: f64,
    /// RSS samples `[seconds since start, MiB]`.
    pub rss_series: Vec<(f64, f64)>,
}

/// The Kafka check's outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KafkaFigures {
    /// Events answered 2xx.
    pub acked: u64,
    /// Of those, found in the topic.
    pub landed: u64,
    /// Answered 2xx but not found.
    pub missing: u64,
    /// A few missing bench sequence numbers.
    pub missing_examples: Vec<u64>,
    /// In the topic although not answered 2xx (e.g. the client timed out first).
    pub unacked_but_landed: u64,
    /// Records of this run seen twice.
    pub duplicates: u64,
    /// Whether the topic was read completely.
    pub complete: bool,
    /// Records the broker deleted (retention) before the check could read them.
    #[serde(default)]
    pub skipped: u64,
    /// Why not.
    pub incomplete_reason: Option<String>,
}

/// One run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Free label (`hookd-h1`, `bare-h1`, …) that `bench-report` keys on.
    pub label: String,
    /// `h1`, `h2`, `h3`.
    pub proto: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Providers, comma-separated.
    pub providers: String,
    /// Body size, bytes.
    pub size: usize,
    /// Concurrent requests (workers).
    pub concurrency: usize,
    /// Connections.
    pub connections: usize,
    /// Open-loop rate, requests/s (`None`: closed loop).
    pub rate: Option<f64>,
    /// Length of the measurement window, s.
    pub window_secs: f64,
    /// Requests sent in the whole run.
    pub sent: u64,
    /// Requests completed in the window.
    pub completed: u64,
    /// Completed requests per second in the window.
    pub rps: f64,
    /// Latency of requests started in the window, ms (open loop: from the scheduled send time).
    pub latency_ms: Latency,
    /// Responses by status (whole run).
    pub statuses: BTreeMap<String, u64>,
    /// Client-side failures by kind (whole run).
    pub errors: BTreeMap<String, u64>,
    /// The daemon, when `--pid` was given.
    pub daemon: Option<ProcessFigures>,
    /// The load generator's own CPU µs per request (is it the bottleneck?).
    pub loadgen_cpu_us_per_req: f64,
    /// The Kafka check, when `--brokers` was given.
    pub kafka: Option<KafkaFigures>,
}

/// Least-squares slope of `(x, y)` points (0 for fewer than two).
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let num: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let den: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

impl Report {
    /// The human-readable summary.
    pub fn human(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let l = &self.latency_ms;
        let _ = writeln!(
            s,
            "{} {} {}://… {} × {} B, concurrency {}, connections {}, {}",
            self.label,
            self.proto,
            self.scheme,
            self.providers,
            self.size,
            self.concurrency,
            self.connections,
            self.rate
                .map_or("closed loop".to_string(), |r| format!("open loop {r:.0}/s"))
        );
        let _ = writeln!(
            s,
            "  {:.0} req/s over {:.1} s ({} completed, {} sent in all)",
            self.rps, self.window_secs, self.completed, self.sent
        );
        let _ = writeln!(
            s,
            "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
            l.p50, l.p90, l.p99, l.p999, l.max
        );
        let _ = writeln!(
            s,
            "  statuses {:?}  errors {:?}",
            self.statuses, self.errors
        );
        if let Some(d) = &self.daemon {
            let _ = writeln!(
                s,
                "  daemon pid {}: {:.1} µs CPU/req ({:.1} without the embedded broker; {:.1} per 2xx), RSS {:.1} → {:.1} MiB (max {:.1}, peak {:.1}), slope {:+.2} MiB/min",
                d.pid,
                d.cpu_us_per_req,
                d.cpu_us_per_req_excl_broker,
                d.cpu_us_per_2xx,
                d.rss_start_mib,
                d.rss_end_mib,
                d.rss_max_mib,
                d.hwm_mib,
                d.rss_slope_mib_per_min
            );
            let threads: Vec<String> = d
                .threads
                .iter()
                .filter(|(_, v)| **v >= 0.01)
                .map(|(k, v)| format!("{k} {v:.2}s"))
                .collect();
            let _ = writeln!(s, "  daemon threads: {}", threads.join(", "));
        }
        let _ = writeln!(
            s,
            "  loadgen: {:.1} µs CPU/req",
            self.loadgen_cpu_us_per_req
        );
        if let Some(k) = &self.kafka {
            let _ = writeln!(
                s,
                "  kafka: {} acked, {} landed, {} missing {:?}, {} unreadable (retention), {} duplicates, {} landed without a 2xx, {}",
                k.acked,
                k.landed,
                k.missing,
                k.missing_examples,
                k.skipped,
                k.duplicates,
                k.unacked_but_landed,
                match (&k.incomplete_reason, k.complete) {
                    (_, true) => "complete".to_string(),
                    (Some(r), false) => format!("INCOMPLETE: {r}"),
                    (None, false) => "INCOMPLETE".to_string(),
                }
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 + 2.0 * i as f64)).collect();
        assert!((slope(&pts) - 2.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 1.0)]), 0.0);
    }

    #[test]
    fn merge_adds_up() {
        let mut a = Recorder::default();
        a.latency.record(1000).unwrap();
        a.statuses.insert(200, 1);
        let mut b = Recorder::default();
        b.latency.record(3000).unwrap();
        b.statuses.insert(200, 2);
        b.errors.insert("connect".into(), 1);
        a.merge(b);
        assert_eq!(a.latency.len(), 2);
        assert_eq!(a.statuses[&200], 3);
        assert_eq!(a.errors["connect"], 1);
        let l = Latency::from_histogram(&a.latency);
        assert!(l.p50 >= 0.99 && l.max >= 2.99);
    }
}
