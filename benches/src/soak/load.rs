//! The soak's load: signed webhooks of one webhook sent open-loop at a fixed rate to several
//! ingest instances (round robin), with a share of provider redeliveries (the same delivery id
//! and the same body, so the same signature, sent again to any instance).
//!
//! A request that fails to connect or gets a 5xx is retried on the next instance (at most
//! `attempts` tries), as a provider's retry through a load balancer would; the event counts as
//! answered 2xx when any try got a 2xx. Latency runs from the request's scheduled time to its
//! last answer, so a stall (a killed instance, a full backlog) shows in the figures.
//!
//! Outputs: `acked` (one byte per sequence number: 1 when answered 2xx), a per-second series
//! (sent, 2xx, failures, p99 of the second) and a summary (statuses, errors, latency).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{header, Method, Request};

use crate::client::{ClientError, Proto, Sender, Target};
use crate::shapes::Generator;
use crate::webhooks::Webhook;

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Provider-facing listeners of the ingest instances (`http://127.0.0.1:18081`).
    pub urls: Vec<String>,
    /// The webhook to send to (every instance knows it).
    pub webhook: Webhook,
    /// Body size, bytes.
    pub size: usize,
    /// Distinct events (sequence numbers 0..events).
    pub events: u64,
    /// Redeliveries per distinct event (0.01 = 1 %).
    pub redeliver: f64,
    /// How many requests earlier (at most) the redelivered event was first sent.
    pub redeliver_after: u64,
    /// Requests/s (open loop).
    pub rate: f64,
    /// Concurrent workers.
    pub concurrency: usize,
    /// Per-try timeout.
    pub timeout: Duration,
    /// Tries per request (failures move to the next instance).
    pub attempts: u32,
    /// Run id (first part of every bench id).
    pub run_id: u32,
    /// Where the acked bytes, the series (CSV) and the summary (JSON) go.
    pub out_dir: PathBuf,
}

/// What one request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Sequence number of the event.
    pub seq: u64,
    /// A redelivery of an event sent before.
    pub redelivery: bool,
}

/// The plan: which event request `i` carries. Every `period`-th request (period =
/// 1/redeliver plus one) is a redelivery of an event sent up to `after` requests before; the
/// others are the distinct events in order. Deterministic, so a report can reproduce it.
pub fn plan(i: u64, redeliver: f64, after: u64) -> Planned {
    if redeliver <= 0.0 {
        return Planned {
            seq: i,
            redelivery: false,
        };
    }
    let per = (1.0 / redeliver).round().max(1.0) as u64;
    let block = i / (per + 1);
    let pos = i % (per + 1);
    if pos < per {
        return Planned {
            seq: block * per + pos,
            redelivery: false,
        };
    }
    let newest = block * per + per - 1;
    let back = fastrand::Rng::with_seed(block).u64(..after.max(1));
    Planned {
        seq: newest.saturating_sub(back),
        redelivery: true,
    }
}

/// Requests needed to send `events` distinct events with `redeliver` redeliveries each.
pub fn total_requests(events: u64, redeliver: f64) -> u64 {
    if redeliver <= 0.0 {
        return events;
    }
    let per = (1.0 / redeliver).round().max(1.0) as u64;
    events + events / per
}

#[derive(Default)]
struct Second {
    sent: u64,
    ok: u64,
    failed: u64,
    retried: u64,
    latency: Option<Histogram<u64>>,
    /// The second's p99 once its histogram is dropped (memory stays bounded over an hour).
    p99_ms: Option<f64>,
}

/// Seconds kept with a histogram: a request finishing later than this after its second began
/// (beyond 3 tries × the timeout) is not in that second's p99.
const OPEN_SECONDS: usize = 60;

impl Second {
    fn p99(&self) -> f64 {
        self.p99_ms.unwrap_or_else(|| {
            self.latency
                .as_ref()
                .map(|h| h.value_at_quantile(0.99) as f64 / 1000.0)
                .unwrap_or(0.0)
        })
    }

    fn close(&mut self) {
        if let Some(h) = self.latency.take() {
            self.p99_ms = Some(h.value_at_quantile(0.99) as f64 / 1000.0);
        }
    }
}

#[derive(Default)]
struct Totals {
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    seconds: Vec<Second>,
    redeliveries_sent: u64,
    redeliveries_ok: u64,
    failed_events: u64,
    /// Seconds below this are closed (their histograms dropped).
    closed: usize,
}

struct Shared {
    cfg: LoadConfig,
    targets: Vec<Target>,
    gen: Generator,
    path: String,
    next: AtomicU64,
    total: u64,
    start: Instant,
    acked: Vec<std::sync::atomic::AtomicU8>,
    latency: Mutex<Histogram<u64>>,
    totals: Mutex<Totals>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Microseconds up to an hour, `digits` significant digits.
fn histogram(digits: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, digits).expect("valid bounds")
}

impl Shared {
    fn request(&self, target: &Target, seq: u64) -> Request<Bytes> {
        let signed = self.gen.make(seq, now_unix());
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(target.uri(&self.path))
            .header(header::CONTENT_LENGTH, signed.body.len())
            .header(header::HOST, target.authority.as_str())
            .body(signed.body)
            .expect("valid request");
        for (k, v) in signed.headers {
            req.headers_mut().insert(k, v);
        }
        req
    }
}

async fn worker(sh: Arc<Shared>) {
    let n = sh.targets.len();
    let mut conns: Vec<Option<Sender>> = (0..n).map(|_| None).collect();
    loop {
        let i = sh.next.fetch_add(1, Ordering::Relaxed);
        if i >= sh.total {
            break;
        }
        let p = plan(i, sh.cfg.redeliver, sh.cfg.redeliver_after);
        let due = sh.start + Duration::from_secs_f64(i as f64 / sh.cfg.rate);
        tokio::time::sleep_until(due.into()).await;
        // Redeliveries go to any instance; first deliveries round robin.
        let first = if p.redelivery {
            fastrand::usize(..n)
        } else {
            (i % n as u64) as usize
        };
        let mut ok = false;
        let mut tries = 0;
        let mut statuses = Vec::new();
        let mut errors = Vec::new();
        while tries < sh.cfg.attempts.max(1) {
            let t = (first + tries as usize) % n;
            tries += 1;
            let target = &sh.targets[t];
            if conns[t].as_ref().is_none_or(|c| c.is_closed()) {
                match tokio::time::timeout(sh.cfg.timeout, target.connect()).await {
                    Ok(Ok(c)) => conns[t] = Some(c),
                    Ok(Err(e)) => {
                        errors.push(e.kind());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    Err(_) => {
                        errors.push(ClientError::Timeout.kind());
                        continue;
                    }
                }
            }
            let req = sh.request(target, p.seq);
            let sender = conns[t].as_mut().expect("connected above");
            match tokio::time::timeout(sh.cfg.timeout, sender.send(req)).await {
                Ok(Ok(status)) => {
                    statuses.push(status.as_u16());
                    if status.is_success() {
                        ok = true;
                        break;
                    }
                    if !status.is_server_error() {
                        break; // a 4xx is final: retrying cannot help
                    }
                }
                Ok(Err(e)) => {
                    errors.push(e.kind());
                    conns[t] = None;
                }
                Err(_) => {
                    errors.push(ClientError::Timeout.kind());
                    conns[t] = None;
                }
            }
        }
        let done = Instant::now();
        let us = done.saturating_duration_since(due).as_micros() as u64;
        if ok {
            sh.acked[p.seq as usize].store(1, Ordering::Relaxed);
        }
        let _ = sh.latency.lock().unwrap().record(us.max(1));
        let sec = done.saturating_duration_since(sh.start).as_secs() as usize;
        let mut g = sh.totals.lock().unwrap();
        for s in statuses {
            *g.statuses.entry(s).or_default() += 1;
        }
        for e in errors {
            *g.errors.entry(e.to_string()).or_default() += 1;
        }
        if p.redelivery {
            g.redeliveries_sent += 1;
            g.redeliveries_ok += u64::from(ok);
        } else if !ok {
            g.failed_events += 1;
        }
        if g.seconds.len() <= sec {
            g.seconds.resize_with(sec + 1, Second::default);
        }
        while g.closed + OPEN_SECONDS < sec {
            let c = g.closed;
            g.seconds[c].close();
            g.closed += 1;
        }
        let s = &mut g.seconds[sec];
        s.sent += 1;
        s.ok += u64::from(ok);
        s.failed += u64::from(!ok);
        s.retried += u64::from(tries > 1);
        let _ = s
            .latency
            .get_or_insert_with(|| histogram(2))
            .record(us.max(1));
    }
}

/// Runs the load to the end; writes `acked.bin`, `load-series.csv`, `load.json` to `out_dir`.
pub async fn run(cfg: LoadConfig) -> Result<serde_json::Value, String> {
    if cfg.urls.is_empty() || cfg.rate <= 0.0 || cfg.concurrency == 0 {
        return Err("need at least one --url, a positive --rate and --concurrency".into());
    }
    let mut targets = Vec::new();
    for u in &cfg.urls {
        targets.push(
            Target::new(u, Proto::H1, None, None)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    let gen = Generator::new(
        cfg.webhook.provider,
        cfg.size,
        &cfg.webhook.secret,
        cfg.run_id,
    )
    .map_err(|e| e.to_string())?;
    let total = total_requests(cfg.events, cfg.redeliver);
    let sh = Arc::new(Shared {
        path: format!("/webhook/{}", cfg.webhook.id),
        targets,
        gen,
        next: AtomicU64::new(0),
        total,
        start: Instant::now(),
        acked: (0..cfg.events)
            .map(|_| std::sync::atomic::AtomicU8::new(0))
            .collect(),
        latency: Mutex::new(histogram(3)),
        totals: Mutex::new(Totals::default()),
        cfg: cfg.clone(),
    });
    let start_ms = unix_ms();
    let workers: Vec<_> = (0..cfg.concurrency)
        .map(|_| tokio::spawn(worker(sh.clone())))
        .collect();
    for w in workers {
        w.await.map_err(|e| format!("worker: {e}"))?;
    }
    let elapsed = sh.start.elapsed().as_secs_f64();
    let write = |name: &str, bytes: &[u8]| {
        let p = cfg.out_dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))
    };
    let acked: Vec<u8> = sh.acked.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    write("acked.bin", &acked)?;
    let g = sh.totals.lock().unwrap();
    let mut csv = Vec::new();
    writeln!(csv, "t_ms,sent,ok,failed,retried,p99_ms").expect("vec write");
    for (s, b) in g.seconds.iter().enumerate() {
        let p99 = b.p99();
        writeln!(
            csv,
            "{},{},{},{},{},{p99:.2}",
            start_ms + s as u128 * 1000,
            b.sent,
            b.ok,
            b.failed,
            b.retried
        )
        .expect("vec write");
    }
    write("load-series.csv", &csv)?;
    let h = sh.latency.lock().unwrap();
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let summary = serde_json::json!({
        "run_id": format!("{:08x}", cfg.run_id),
        "start_unix_ms": start_ms as u64,
        "elapsed_secs": elapsed,
        "events": cfg.events,
        "requests": total,
        "rate": cfg.rate,
        "achieved_rate": total as f64 / elapsed.max(1e-9),
        "events_acked": acked.iter().filter(|a| **a == 1).count(),
        "events_failed": g.failed_events,
        "redeliveries_sent": g.redeliveries_sent,
        "redeliveries_acked": g.redeliveries_ok,
        "statuses": g.statuses,
        "errors": g.errors,
        "latency_ms": {"p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99), "p999": ms(0.999),
            "max": h.max() as f64 / 1000.0},
    });
    write(
        "load.json",
        serde_json::to_string_pretty(&summary)
            .expect("json")
            .as_bytes(),
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_sends_every_event_once_and_one_percent_again() {
        let events = 10_000;
        let total = total_requests(events, 0.01);
        assert_eq!(total, 10_100);
        let mut first = vec![0u32; events as usize];
        let mut again = 0;
        for i in 0..total {
            let p = plan(i, 0.01, 500);
            if p.redelivery {
                again += 1;
                // a redelivery is of an event already sent, at most `after` events back
                let newest = (i / 101) * 100 + 99;
                assert!(p.seq <= newest && newest - p.seq < 500);
                assert_eq!(first[p.seq as usize], 1);
            } else {
                first[p.seq as usize] += 1;
            }
        }
        assert!(first.iter().all(|c| *c == 1));
        assert_eq!(again, 100);
        assert_eq!(
            plan(7, 0.0, 10),
            Planned {
                seq: 7,
                redelivery: false
            }
        );
    }
}
