//! One load run: connect, send signed webhooks closed-loop (as fast as `concurrency` workers
//! can) or open-loop (at a fixed rate, latency measured from each request's scheduled send time
//! so queueing is not hidden), sample the daemon's CPU and RSS, check Kafka, report.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::StreamExt;
use http::{header, Method, Request};
use tokio::sync::{Mutex, Notify};

use crate::client::{ClientError, Proto, Sender, Target};
use crate::kafka_check::{CheckError, LiveCheck};
use crate::procstat::{self, ProcError, Sample};
use crate::shapes::{Generator, TooSmall};
use crate::stats::{slope, KafkaFigures, Latency, ProcessFigures, Recorder, Report};
use crate::webhooks::Webhook;

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Label in the report.
    pub label: String,
    /// `http://host:port` or `https://host:port` of the provider-facing listener.
    pub url: String,
    /// Protocol.
    pub proto: Proto,
    /// PEM file to trust for TLS.
    pub cacert: Option<PathBuf>,
    /// UDP port for HTTP/3 when it differs from the URL's.
    pub h3_port: Option<u16>,
    /// Webhooks to send to (round robin).
    pub webhooks: Vec<Webhook>,
    /// Body size, bytes.
    pub size: usize,
    /// Concurrent requests.
    pub concurrency: usize,
    /// Connections (HTTP/1.1: must equal `concurrency`).
    pub connections: usize,
    /// Open-loop rate, requests/s.
    pub rate: Option<f64>,
    /// Measurement window.
    pub duration: Duration,
    /// Load before the window (not measured).
    pub warmup: Duration,
    /// Stop after this many requests (the window then ends when they are done).
    pub requests: Option<u64>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Daemon pid to read CPU and memory of.
    pub pid: Option<u32>,
    /// RSS sampling interval.
    pub sample_interval: Duration,
    /// Kafka bootstrap servers for the landed-events check.
    pub brokers: Option<String>,
    /// Events topic.
    pub topic: String,
    /// Run id (first part of every bench id).
    pub run_id: u32,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Client setup or the initial connections failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The Kafka check could not start.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The daemon's `/proc` could not be read.
    #[error(transparent)]
    Proc(#[from] ProcError),
    /// The body size does not fit the shape.
    #[error(transparent)]
    Size(#[from] TooSmall),
    /// Inconsistent options.
    #[error("{0}")]
    Options(String),
}

/// Connections shared by the workers of multiplexed protocols, reopened on failure.
struct Pool {
    target: Arc<Target>,
    slots: Vec<Mutex<(u64, Option<Sender>)>>,
}

impl Pool {
    async fn get(&self, i: usize) -> Result<(u64, Sender), ClientError> {
        let mut slot = self.slots[i].lock().await;
        if let Some(s) = slot.1.as_ref().filter(|s| !s.is_closed()) {
            if let Some(shared) = s.share() {
                return Ok((slot.0, shared));
            }
        }
        let s = self.target.connect().await?;
        slot.0 += 1;
        let shared = s
            .share()
            .ok_or_else(|| ClientError::Setup("not a multiplexed protocol".into()))?;
        slot.1 = Some(s);
        Ok((slot.0, shared))
    }

    async fn invalidate(&self, i: usize, generation: u64) {
        let mut slot = self.slots[i].lock().await;
        if slot.0 == generation {
            slot.1 = None;
        }
    }
}

struct Shared {
    cfg: RunConfig,
    target: Arc<Target>,
    pool: Option<Pool>,
    gens: Vec<(Generator, String)>,
    next: AtomicU64,
    start: Instant,
    measure_start: Instant,
    end: Instant,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Shared {
    fn request(&self, seq: u64) -> Request<Bytes> {
        let (g, path) = &self.gens[(seq % self.gens.len() as u64) as usize];
        build(&self.target, path, g.make(seq, now_unix()))
    }
}

/// The HTTP request for `signed` to `path` on `target`.
fn build(target: &Target, path: &str, signed: crate::shapes::SignedRequest) -> Request<Bytes> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(target.uri(path))
        .header(header::CONTENT_LENGTH, signed.body.len());
    if target.proto == Proto::H1 {
        b = b.header(header::HOST, target.authority.as_str());
    }
    let mut req = b.body(signed.body).expect("valid request");
    let h = req.headers_mut();
    for (k, v) in signed.headers {
        h.insert(k, v);
    }
    req
}

async fn worker(sh: Arc<Shared>, idx: usize, mut conn: Option<(u64, Sender)>) -> Recorder {
    let mut rec = Recorder::default();
    let slot = idx % sh.cfg.connections;
    loop {
        let seq = sh.next.fetch_add(1, Ordering::Relaxed);
        if sh.cfg.requests.is_some_and(|n| seq >= n) {
            break;
        }
        let scheduled = sh
            .cfg
            .rate
            .map(|r| sh.start + Duration::from_secs_f64(seq as f64 / r));
        if scheduled.unwrap_or_else(Instant::now) >= sh.end {
            break;
        }
        let req = sh.request(seq);
        if let Some(t) = scheduled {
            tokio::time::sleep_until(t.into()).await;
        }
        let t0 = scheduled.unwrap_or_else(Instant::now);
        rec.sent += 1;
        if conn.is_none() {
            // Bounded like the request: a server that stops accepting fills its backlog, and
            // a connect then waits on SYN retransmissions for minutes.
            let c = tokio::time::timeout(sh.cfg.timeout, async {
                match &sh.pool {
                    Some(p) => p.get(slot).await,
                    None => sh.target.connect().await.map(|s| (0, s)),
                }
            })
            .await
            .unwrap_or(Err(ClientError::Timeout));
            match c {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    *rec.errors.entry(e.kind().into()).or_default() += 1;
                    // Do not spin on a refused connection.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let (generation, sender) = conn.as_mut().expect("connected above");
        let res = tokio::time::timeout(sh.cfg.timeout, sender.send(req)).await;
        let done = Instant::now();
        let res = res.unwrap_or(Err(ClientError::Timeout));
        match res {
            Ok(status) => {
                *rec.statuses.entry(status.as_u16()).or_default() += 1;
                if status.is_success() {
                    rec.ok_seqs.push(seq);
                }
                if t0 >= sh.measure_start && t0 < sh.end {
                    let us = done.saturating_duration_since(t0).as_micros() as u64;
                    let _ = rec.latency.record(us.max(1));
                }
                if done >= sh.measure_start && done <= sh.end {
                    rec.completed_in_window += 1;
                    rec.ok_in_window += u64::from(status.is_success());
                }
            }
            Err(e) => {
                *rec.errors.entry(e.kind().into()).or_default() += 1;
                // A timed-out or failed connection is not reused (an HTTP/1.1 response may
                // still be on its way).
                let generation = *generation;
                conn = None;
                if let Some(p) = &sh.pool {
                    p.invalidate(slot, generation).await;
                }
            }
        }
    }
    rec
}

/// Samples taken by the sampler task.
struct Samples {
    daemon: Option<(Sample, Sample)>,
    own: (Sample, Sample),
    window: Duration,
    series: Vec<(f64, f64)>,
    rss_max: u64,
}

async fn sampler(
    pid: Option<u32>,
    start: Instant,
    measure_start: Instant,
    end: Instant,
    every: Duration,
    done: Arc<Notify>,
) -> Result<Samples, ProcError> {
    let own_pid = std::process::id();
    let mut series = Vec::new();
    let mut rss_max = 0;
    let mut record = |s: &Sample, series: &mut Vec<(f64, f64)>| {
        rss_max = rss_max.max(s.rss_bytes);
        series.push((
            start.elapsed().as_secs_f64(),
            s.rss_bytes as f64 / 1048576.0,
        ));
    };
    let mut next = Instant::now();
    let mut first = None;
    let mut own0 = None;
    let mut t0 = measure_start;
    let done_fut = done.notified();
    tokio::pin!(done_fut);
    loop {
        let wake = next.min(if first.is_none() { measure_start } else { end });
        let finished = tokio::select! {
            _ = tokio::time::sleep_until(wake.into()) => false,
            _ = &mut done_fut => true,
        };
        let now = Instant::now();
        if first.is_none() && (now >= measure_start || finished) {
            t0 = now;
            own0 = Some(procstat::sample(own_pid, false)?);
            first = Some(match pid {
                Some(p) => Some(procstat::sample(p, true)?),
                None => None,
            });
            if let Some(Some(s)) = &first {
                record(s, &mut series);
            }
        }
        if finished || now >= end {
            let own1 = procstat::sample(own_pid, false)?;
            let last = match pid {
                Some(p) => Some(procstat::sample(p, true)?),
                None => None,
            };
            if let Some(s) = &last {
                record(s, &mut series);
            }
            let daemon = match (first.flatten(), last) {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            };
            return Ok(Samples {
                daemon,
                own: (own0.unwrap_or_default(), own1),
                window: now.saturating_duration_since(t0),
                series,
                rss_max,
            });
        }
        if now >= next {
            if let Some(p) = pid {
                let s = procstat::sample(p, false)?;
                record(&s, &mut series);
            }
            next = now + every;
        }
    }
}

/// Makes one run.
pub async fn run(cfg: RunConfig) -> Result<Report, RunError> {
    if cfg.webhooks.is_empty() || cfg.concurrency == 0 || cfg.connections == 0 {
        return Err(RunError::Options(
            "need at least one webhook, one worker and one connection".into(),
        ));
    }
    if cfg.proto == Proto::H1 && cfg.connections != cfg.concurrency {
        return Err(RunError::Options(
            "HTTP/1.1 sends one request at a time per connection: --connections must equal --concurrency"
                .into(),
        ));
    }
    if cfg.connections > cfg.concurrency {
        return Err(RunError::Options(
            "--connections cannot exceed --concurrency".into(),
        ));
    }
    let target =
        Arc::new(Target::new(&cfg.url, cfg.proto, cfg.cacert.as_deref(), cfg.h3_port).await?);
    let gens = cfg
        .webhooks
        .iter()
        .map(|w| {
            Generator::new(w.provider, cfg.size, &w.secret, cfg.run_id)
                .map(|g| (g, format!("/webhook/{}", w.id)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let check = match &cfg.brokers {
        Some(b) => Some(LiveCheck::start(b, &cfg.topic, cfg.run_id)?),
        None => None,
    };

    // Open every connection before the clock starts.
    let opened: Vec<Sender> = futures::stream::iter(0..cfg.connections)
        .map(|_| {
            let t = target.clone();
            let timeout = cfg.timeout;
            async move {
                tokio::time::timeout(timeout, t.connect())
                    .await
                    .unwrap_or(Err(ClientError::Timeout))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut opened = opened;
    // Webhooks whose URL must be verified first (Slack's challenge) get it now, once.
    for (g, path) in &gens {
        if let Some(h) = g.handshake(now_unix()) {
            let sender = opened.first_mut().expect("at least one connection");
            let status = tokio::time::timeout(cfg.timeout, sender.send(build(&target, path, h)))
                .await
                .unwrap_or(Err(ClientError::Timeout))?;
            if !status.is_success() {
                return Err(RunError::Options(format!(
                    "{path}: the URL verification handshake got {status}"
                )));
            }
        }
    }
    let mut initial: Vec<Option<(u64, Sender)>> = Vec::new();
    let pool = if cfg.proto.multiplexed() {
        let slots: Vec<_> = opened
            .into_iter()
            .map(|s| {
                initial.push(s.share().map(|x| (1, x)));
                Mutex::new((1, Some(s)))
            })
            .collect();
        for i in cfg.connections..cfg.concurrency {
            let s = initial[i % cfg.connections]
                .as_ref()
                .and_then(|(_, s)| s.share())
                .map(|x| (1, x));
            initial.push(s);
        }
        Some(Pool {
            target: target.clone(),
            slots,
        })
    } else {
        initial = opened.into_iter().map(|s| Some((0, s))).collect();
        None
    };

    let start = Instant::now();
    let (warmup, window) = match cfg.requests {
        Some(_) => (Duration::ZERO, cfg.duration.max(Duration::from_secs(1))),
        None => (cfg.warmup, cfg.duration),
    };
    let measure_start = start + warmup;
    let end = measure_start + window;
    let sh = Arc::new(Shared {
        cfg: cfg.clone(),
        target,
        pool,
        gens,
        next: AtomicU64::new(0),
        start,
        measure_start,
        end,
    });
    let done = Arc::new(Notify::new());
    let sampling = tokio::spawn(sampler(
        cfg.pid,
        start,
        measure_start,
        end,
        cfg.sample_interval,
        done.clone(),
    ));
    let workers: Vec<_> = initial
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(worker(sh.clone(), i, c)))
        .collect();
    let mut rec = Recorder::default();
    for w in workers {
        if let Ok(r) = w.await {
            rec.merge(r);
        }
    }
    done.notify_one();
    let samples = sampling
        .await
        .map_err(|e| RunError::Options(format!("sampler: {e}")))??;

    let window_secs = samples.window.as_secs_f64().max(1e-9);
    let completed = rec.completed_in_window.max(1) as f64;
    let daemon = samples.daemon.as_ref().map(|(a, b)| {
        let threads: std::collections::BTreeMap<String, f64> = b
            .threads
            .iter()
            .map(|(k, v)| (k.clone(), v - a.threads.get(k).copied().unwrap_or(0.0)))
            .collect();
        let cpu = b.cpu_secs - a.cpu_secs;
        let broker = threads.get(procstat::BROKER_THREAD).copied().unwrap_or(0.0);
        let in_window: Vec<(f64, f64)> = samples
            .series
            .iter()
            .copied()
            .filter(|(t, _)| *t >= warmup.as_secs_f64())
            .collect();
        ProcessFigures {
            pid: cfg.pid.unwrap_or(0),
            cpu_secs: cpu,
            cpu_us_per_req: cpu * 1e6 / completed,
            cpu_us_per_req_excl_broker: (cpu - broker).max(0.0) * 1e6 / completed,
            cpu_us_per_2xx: (cpu - broker).max(0.0) * 1e6 / rec.ok_in_window.max(1) as f64,
            threads,
            rss_start_mib: a.rss_bytes as f64 / 1048576.0,
            rss_end_mib: b.rss_bytes as f64 / 1048576.0,
            rss_max_mib: samples.rss_max as f64 / 1048576.0,
            hwm_mib: b.hwm_bytes as f64 / 1048576.0,
            rss_slope_mib_per_min: slope(&in_window) * 60.0,
            rss_series: samples.series.clone(),
        }
    });
    let kafka = check.map(|c| {
        let seen = c.finish();
        let landed = rec.ok_seqs.iter().filter(|s| seen.seqs.contains(s)).count() as u64;
        let mut missing: Vec<u64> = rec
            .ok_seqs
            .iter()
            .copied()
            .filter(|s| !seen.seqs.contains(s))
            .collect();
        missing.sort_unstable();
        KafkaFigures {
            acked: rec.ok_seqs.len() as u64,
            landed,
            missing: missing.len() as u64,
            missing_examples: missing.into_iter().take(10).collect(),
            unacked_but_landed: (seen.seqs.len() as u64).saturating_sub(landed),
            duplicates: seen.duplicates,
            complete: seen.complete,
            skipped: seen.skipped,
            incomplete_reason: seen.incomplete_reason,
        }
    });
    let own_cpu = samples.own.1.cpu_secs - samples.own.0.cpu_secs;
    let providers: Vec<&str> = cfg.webhooks.iter().map(|w| w.provider.as_str()).collect();
    Ok(Report {
        label: cfg.label.clone(),
        proto: cfg.proto.as_str().into(),
        scheme: sh.target.scheme.into(),
        providers: providers.join(","),
        size: cfg.size,
        concurrency: cfg.concurrency,
        connections: cfg.connections,
        rate: cfg.rate,
        window_secs,
        sent: rec.sent,
        completed: rec.completed_in_window,
        rps: rec.completed_in_window as f64 / window_secs,
        latency_ms: Latency::from_histogram(&rec.latency),
        statuses: rec
            .statuses
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        errors: rec.errors.clone(),
        daemon,
        loadgen_cpu_us_per_req: own_cpu * 1e6 / completed,
        kafka,
    })
}
