//! `soak`: the soak benchmark's load, sampler, drain wait and report (`benches/soak/soak.sh`
//! runs them; see `benches/README.md`, "Soak").

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use hookd_benches::options;
use hookd_benches::shapes::Provider;
use hookd_benches::soak::{load, plot, report, retain, sample};
use hookd_benches::webhooks::Webhook;

/// The soak benchmark's parts.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Send distinct events plus redeliveries at a fixed rate to the ingest instances.
    Load {
        /// Provider-facing listener of an ingest instance (repeat: round robin).
        #[arg(long = "url", required = true)]
        urls: Vec<String>,
        /// The webhook, `github:ID:SECRET` (the soak uses GitHub's shape).
        #[arg(long)]
        webhook: String,
        /// Distinct events.
        #[arg(long, default_value_t = 5_000_000)]
        events: u64,
        /// Requests/s.
        #[arg(long)]
        rate: f64,
        /// Redeliveries per event (0.01 = 1 %): same delivery id, same body.
        #[arg(long, default_value_t = 0.01)]
        redeliver: f64,
        /// A redelivery repeats an event sent at most this many requests before.
        #[arg(long, default_value_t = 20_000)]
        redeliver_after: u64,
        /// Workers (in flight at most).
        #[arg(long, short = 'c', default_value_t = 256)]
        concurrency: usize,
        /// Body size.
        #[arg(long, value_parser = options::size, default_value = "1k")]
        size: usize,
        /// Per-try timeout.
        #[arg(long, value_parser = options::duration, default_value = "10s")]
        timeout: Duration,
        /// Tries per request (connect failures and 5xx move to the next instance).
        #[arg(long, default_value_t = 3)]
        attempts: u32,
        /// Run id, 8 hex digits (the Conductor double counts this run's events).
        #[arg(long)]
        run_id: String,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sample RSS, Conductor starts, events produced and the sink's lag until SIGTERM.
    Sample {
        /// Directory of `<instance>.pid` files.
        #[arg(long)]
        pids: PathBuf,
        /// Kafka bootstrap servers.
        #[arg(long)]
        brokers: String,
        /// Events topic.
        #[arg(long, default_value = "hookd.events")]
        topic: String,
        /// The sinks' consumer group.
        #[arg(long, default_value = "hookd-sink")]
        group: String,
        /// The soak Conductor double, `http://127.0.0.1:PORT`.
        #[arg(long)]
        conductor: String,
        /// Interval.
        #[arg(long, value_parser = options::duration, default_value = "1s")]
        every: Duration,
        /// Output CSV (appended).
        #[arg(long)]
        out: PathBuf,
    },
    /// Retention emulation (nisshi's memory storage keeps every record): every --every, count
    /// every new record of every topic (the tally), then delete what a real Kafka's retention
    /// would have deleted, never past what was counted; until SIGTERM (then a last pass, and
    /// the tally is saved to --dir). See `src/soak/retain.rs`.
    Retain {
        /// Kafka bootstrap servers.
        #[arg(long)]
        brokers: String,
        /// Events topic.
        #[arg(long, default_value = "hookd.events")]
        topic: String,
        /// The sinks' consumer group.
        #[arg(long, default_value = "hookd-sink")]
        group: String,
        /// Run id, 8 hex digits (the tally counts this run's sequence numbers).
        #[arg(long)]
        run_id: String,
        /// Interval between passes.
        #[arg(long, value_parser = options::duration, default_value = "10s")]
        every: Duration,
        /// Events kept below the sink group's committed offset, per partition.
        #[arg(long, default_value_t = 10_000)]
        keep_events: i64,
        /// Newest `<topic>.starts` records kept per partition (must exceed the sinks'
        /// `sink.dedup_index_entries`).
        #[arg(long, default_value_t = 25_000)]
        keep_starts: i64,
        /// Newest `<topic>.history` records kept.
        #[arg(long, default_value_t = 10_000)]
        keep_history: i64,
        /// Count only, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Where the tally is saved.
        #[arg(long)]
        dir: PathBuf,
        /// Series CSV (appended): records deleted and held per topic.
        #[arg(long)]
        csv: PathBuf,
    },
    /// Wait until the sink group's lag is 0 (exit 1 after --timeout).
    WaitDrain {
        /// Kafka bootstrap servers.
        #[arg(long)]
        brokers: String,
        /// Events topic.
        #[arg(long, default_value = "hookd.events")]
        topic: String,
        /// The sinks' consumer group.
        #[arg(long, default_value = "hookd-sink")]
        group: String,
        /// Give up after this long.
        #[arg(long, value_parser = options::duration, default_value = "30m")]
        timeout: Duration,
    },
    /// Compute the figures and draw the plot from a run directory.
    Report {
        /// The run directory.
        #[arg(long)]
        dir: PathBuf,
        /// The soak Conductor double, `http://127.0.0.1:PORT`.
        #[arg(long)]
        conductor: String,
        /// Kafka bootstrap servers.
        #[arg(long)]
        brokers: String,
        /// Events topic.
        #[arg(long, default_value = "hookd.events")]
        topic: String,
        /// Where the PNG goes.
        #[arg(long)]
        png: PathBuf,
        /// The tally saved by `soak retain` (default: DIR/tally); without one, every topic is
        /// read from its low watermark.
        #[arg(long)]
        tally: Option<PathBuf>,
        /// TrueType font for the plot's text.
        #[arg(
            long,
            default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        )]
        font: PathBuf,
    },
}

fn webhook(s: &str) -> Result<Webhook, String> {
    let mut it = s.splitn(3, ':');
    match (it.next(), it.next(), it.next()) {
        (Some("github"), Some(id), Some(secret)) => Ok(Webhook {
            id: id.into(),
            provider: Provider::Github,
            secret: secret.into(),
        }),
        _ => Err(format!("--webhook {s}: expected github:ID:SECRET")),
    }
}

/// A flag that turns true on SIGTERM or Ctrl-C.
fn stop_on_term() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        s2.store(true, Ordering::Relaxed);
    });
    stop
}

async fn main_async(args: Args) -> Result<(), String> {
    match args.cmd {
        Cmd::Load {
            urls,
            webhook: w,
            events,
            rate,
            redeliver,
            redeliver_after,
            concurrency,
            size,
            timeout,
            attempts,
            run_id,
            out,
        } => {
            let cfg = load::LoadConfig {
                urls,
                webhook: webhook(&w)?,
                size,
                events,
                redeliver,
                redeliver_after,
                rate,
                concurrency,
                timeout,
                attempts,
                run_id: u32::from_str_radix(&run_id, 16)
                    .map_err(|_| format!("--run-id {run_id}: 8 hex digits"))?,
                out_dir: out,
            };
            let summary = load::run(cfg).await?;
            println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
        }
        Cmd::Sample {
            pids,
            brokers,
            topic,
            group,
            conductor,
            every,
            out,
        } => {
            let stop = stop_on_term();
            let cfg = sample::SampleConfig {
                pids,
                brokers,
                topic,
                group,
                conductor,
                every,
                out,
            };
            sample::run(cfg, &stop).await?;
        }
        Cmd::Retain {
            brokers,
            topic,
            group,
            run_id,
            every,
            keep_events,
            keep_starts,
            keep_history,
            dry_run,
            dir,
            csv,
        } => {
            let cfg = retain::RetainConfig {
                brokers,
                topic,
                group,
                run: u32::from_str_radix(&run_id, 16)
                    .map_err(|_| format!("--run-id {run_id}: 8 hex digits"))?,
                every,
                keep_events,
                keep_starts,
                keep_history,
                dry_run,
                dir,
                csv,
            };
            retain::run(cfg, &stop_on_term()).await?;
        }
        Cmd::WaitDrain {
            brokers,
            topic,
            group,
            timeout,
        } => {
            let c = sample::offsets_client(&brokers, &group)?;
            let t0 = Instant::now();
            let mut last_print = Instant::now();
            loop {
                let (produced, lag) =
                    tokio::task::block_in_place(|| sample::group_lag(&c, &topic))?;
                if lag == 0 {
                    println!(
                        "drained: {produced} events, lag 0 after {:.0?}",
                        t0.elapsed()
                    );
                    return Ok(());
                }
                if t0.elapsed() > timeout {
                    return Err(format!("lag still {lag} after {timeout:?}"));
                }
                if last_print.elapsed() > Duration::from_secs(10) {
                    println!("waiting for the sinks: lag {lag} of {produced} events");
                    last_print = Instant::now();
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        Cmd::Report {
            dir,
            conductor,
            brokers,
            topic,
            png,
            tally,
            font,
        } => {
            let tally = tally.unwrap_or_else(|| dir.join("tally"));
            let (f, samples, events) =
                report::figures(&dir, Some(&tally), &conductor, &brokers, &topic).await?;
            let md = report::markdown(&f);
            std::fs::write(dir.join("summary.md"), &md).map_err(|e| e.to_string())?;
            std::fs::write(
                dir.join("summary.json"),
                serde_json::to_string_pretty(&f).expect("json"),
            )
            .map_err(|e| e.to_string())?;
            plot::register_font(&font)?;
            let start = f.load["start_unix_ms"].as_u64().unwrap_or(0);
            plot::draw(&png, &samples, &events, start)?;
            print!("{md}");
            println!("\nplot: {}", png.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    // reqwest (the sampler, the report) uses rustls without a default provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(main_async(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}
