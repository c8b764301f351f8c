//! `loadgen`: sends signed provider webhooks to hookd (or to `bare`) and reports throughput,
//! latency, errors, the daemon's CPU and RSS per request, and whether every 2xx'd event landed
//! in Kafka. See `benches/README.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use hookd_benches::client::Proto;
use hookd_benches::options;
use hookd_benches::run::{run, RunConfig};
use hookd_benches::shapes::Provider;
use hookd_benches::webhooks::{self, Webhook};

/// Load generator for hookd: signed GitHub/Stripe/Slack/Standard Webhooks webhooks over HTTP/1.1,
/// HTTP/2, HTTP/3.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Provider-facing listener: `http://127.0.0.1:8080` (h1, h2c) or `https://localhost:8443`.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Protocol: h1 (keep-alive), h2 (h2c on http://, ALPN h2 on https://), h3 (QUIC).
    #[arg(long, value_enum, default_value = "h1")]
    proto: Proto,
    /// PEM certificate(s) to trust for https:// and h3 (hookd's self-signed certificate).
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// UDP port of the HTTP/3 listener when it differs from the URL's port.
    #[arg(long)]
    h3_port: Option<u16>,
    /// Provider shapes, comma-separated; requests go round robin over them.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "github")]
    provider: Vec<Provider>,
    /// Body size: 1k, 7k, 64k or bytes.
    #[arg(long, value_parser = options::size, default_value = "1k")]
    size: usize,
    /// Admin API (`http://127.0.0.1:9090`): create one webhook per provider with a fresh secret.
    #[arg(long, conflicts_with = "webhook")]
    admin: Option<String>,
    /// Admin token for --admin.
    #[arg(
        long,
        env = "HOOKD_ADMIN_TOKEN",
        default_value = "change-me-admin-token"
    )]
    token: String,
    /// Existing webhooks instead of --admin: `PROVIDER:ID:SECRET`, repeatable.
    #[arg(long, value_parser = parse_webhook)]
    webhook: Vec<Webhook>,
    /// Concurrent requests (closed loop: each worker waits for its response before the next).
    #[arg(long, short = 'c', default_value_t = 32)]
    concurrency: usize,
    /// Connections (default: one per worker; HTTP/2 and HTTP/3 may multiplex fewer).
    #[arg(long)]
    connections: Option<usize>,
    /// Open loop: send at this many requests/s (latency counted from the scheduled time).
    #[arg(long)]
    rate: Option<f64>,
    /// Measurement window.
    #[arg(long, short = 'd', value_parser = options::duration, default_value = "10s")]
    duration: Duration,
    /// Load before the window, not measured.
    #[arg(long, value_parser = options::duration, default_value = "3s")]
    warmup: Duration,
    /// Send exactly this many requests (no warm-up; --duration becomes the limit).
    #[arg(long, short = 'n')]
    requests: Option<u64>,
    /// Per-request timeout.
    #[arg(long, value_parser = options::duration, default_value = "10s")]
    timeout: Duration,
    /// The daemon's pid: report its CPU time and RSS from /proc.
    #[arg(long)]
    pid: Option<u32>,
    /// RSS sampling interval.
    #[arg(long, value_parser = options::duration, default_value = "1s")]
    sample_interval: Duration,
    /// Kafka bootstrap servers: consume the topic and check every 2xx'd event landed.
    #[arg(long)]
    brokers: Option<String>,
    /// Events topic.
    #[arg(long, default_value = "hookd.events")]
    topic: String,
    /// Label of the run in the report.
    #[arg(long, default_value = "run")]
    label: String,
    /// Append the report as one JSON line to this file (for bench-report).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Exit 1 unless every request got a 2xx and (with --brokers) every 2xx'd event landed.
    #[arg(long)]
    strict: bool,
    /// Runtime worker threads (default: the CPUs this process may run on).
    #[arg(long)]
    threads: Option<usize>,
}

fn parse_webhook(s: &str) -> Result<Webhook, String> {
    let mut it = s.splitn(3, ':');
    let (Some(p), Some(id), Some(secret)) = (it.next(), it.next(), it.next()) else {
        return Err("expected PROVIDER:ID:SECRET".into());
    };
    let provider = <Provider as clap::ValueEnum>::from_str(p, true)?;
    Ok(Webhook {
        id: id.to_string(),
        provider,
        secret: secret.to_string(),
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(t) = args.threads {
        rt.worker_threads(t.max(1));
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: runtime: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(main_async(args))
}

async fn main_async(args: Args) -> ExitCode {
    let run_id = fastrand::u32(..);
    let hooks = match &args.admin {
        Some(admin) => match webhooks::create(admin, &args.token, &args.provider, run_id).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("loadgen: {e}");
                return ExitCode::from(2);
            }
        },
        None if !args.webhook.is_empty() => args.webhook.clone(),
        None => {
            eprintln!("loadgen: give --admin (create webhooks) or --webhook PROVIDER:ID:SECRET");
            return ExitCode::from(2);
        }
    };
    let cfg = RunConfig {
        label: args.label.clone(),
        url: args.url.clone(),
        proto: args.proto,
        cacert: args.cacert.clone(),
        h3_port: args.h3_port,
        webhooks: hooks,
        size: args.size,
        concurrency: args.concurrency,
        connections: args.connections.unwrap_or(args.concurrency),
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
        requests: args.requests,
        timeout: args.timeout,
        pid: args.pid,
        sample_interval: args.sample_interval,
        brokers: args.brokers.clone(),
        topic: args.topic.clone(),
        run_id,
    };
    let report = match run(cfg).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.human());
    if let Some(path) = &args.json {
        let line = serde_json::to_string(&report).expect("report serializes");
        let res = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()));
        if let Err(e) = res {
            eprintln!("loadgen: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if args.strict {
        let all_ok = report.errors.is_empty()
            && report.statuses.keys().all(|s| s.starts_with('2'))
            && report.sent > 0;
        let landed = report
            .kafka
            .as_ref()
            .is_none_or(|k| k.complete && k.missing == 0 && k.acked > 0);
        if !all_ok || !landed {
            eprintln!("loadgen: --strict: not every request was answered 2xx and landed in Kafka");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
