//! The `hookd` binary: parse the command line, load the config, run the library.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hookd::config::Config;

/// hookd — verify provider webhooks and publish them durably to Kafka.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (TOML); `HOOKD_SECTION__KEY` environment variables override it.
    #[arg(long, short, global = true, env = "HOOKD_CONFIG")]
    config: Option<PathBuf>,
    /// What to run: both (default), ingest or sink; overrides `server.role`.
    #[arg(long, global = true, value_parser = ["both", "ingest", "sink"])]
    role: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (the default).
    Run,
    /// Validate the config and exit.
    CheckConfig,
    /// Print the signature header(s) a provider would send for a body (for trying hookd).
    Sign {
        /// Provider scheme.
        provider: Provider,
        /// The secret (GitHub/Stripe/Slack secret, Teams base64 token, SendGrid PKCS#8 PEM file path).
        #[arg(long)]
        secret: String,
        /// Body file; `-` or absent reads standard input.
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Unix timestamp to sign with (default: now).
        #[arg(long)]
        timestamp: Option<i64>,
    },
    /// POST a request to hookd over HTTP/1.1, HTTP/2 or HTTP/3 (e.g. to try HTTP/3 without an
    /// HTTP/3-capable curl); prints the response, or with --repeat a requests/s summary.
    Post(hookd::h3::post::PostArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Provider {
    Github,
    GithubSha1,
    Stripe,
    Slack,
    Teams,
    Sendgrid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOOKD_LOG")
                .unwrap_or_else(|_| "info,librdkafka=warn,rdkafka=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command.unwrap_or(Command::Run) {
        Command::Post(args) => hookd::h3::post::run(args),
        Command::Sign {
            provider,
            secret,
            body_file,
            timestamp,
        } => sign(provider, &secret, body_file, timestamp),
        Command::CheckConfig => match load(cli.config) {
            Ok(_) => {
                println!("config ok");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run => {
            let mut cfg = match load(cli.config) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Some(r) = cli.role.as_deref() {
                cfg.server.role = match r {
                    "ingest" => hookd::config::Role::Ingest,
                    "sink" => hookd::config::Role::Sink,
                    _ => hookd::config::Role::Both,
                };
            }
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("hookd: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(hookd::run(cfg, shutdown_signal())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hookd: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn load(path: Option<PathBuf>) -> Result<Config, ExitCode> {
    Config::load(path.as_deref(), std::env::vars()).map_err(|e| {
        eprintln!("hookd: {e}");
        ExitCode::from(2)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn sign(p: Provider, secret: &str, body_file: Option<PathBuf>, ts: Option<i64>) -> ExitCode {
    use hookd::verify::sign;
    let mut body = Vec::new();
    let read = match body_file.as_deref() {
        Some(f) if f.as_os_str() != "-" => std::fs::read(f).map(|b| body = b),
        _ => std::io::stdin().read_to_end(&mut body).map(|_| ()),
    };
    if let Err(e) = read {
        eprintln!("hookd sign: cannot read the body: {e}");
        return ExitCode::from(2);
    }
    let now = ts.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let s = secret.as_bytes();
    let lines: Result<Vec<String>, String> = match p {
        Provider::Github => Ok(vec![format!(
            "X-Hub-Signature-256: {}",
            sign::github_sha256(s, &body)
        )]),
        Provider::GithubSha1 => Ok(vec![format!(
            "X-Hub-Signature: {}",
            sign::github_sha1(s, &body)
        )]),
        Provider::Stripe => Ok(vec![format!(
            "Stripe-Signature: {}",
            sign::stripe(s, now, &body)
        )]),
        Provider::Slack => Ok(vec![
            format!("X-Slack-Request-Timestamp: {now}"),
            format!("X-Slack-Signature: {}", sign::slack(s, now, &body)),
        ]),
        Provider::Teams => sign::teams(secret, &body)
            .map(|v| vec![format!("Authorization: {v}")])
            .map_err(|e| e.to_string()),
        Provider::Sendgrid => std::fs::read_to_string(secret)
            .map_err(|e| format!("{secret}: {e}"))
            .and_then(|pem| sign::sendgrid(&pem, now, &body).map_err(|e| e.to_string()))
            .map(|sig| {
                vec![
                    format!("X-Twilio-Email-Event-Webhook-Timestamp: {now}"),
                    format!("X-Twilio-Email-Event-Webhook-Signature: {sig}"),
                ]
            }),
    };
    match lines {
        Ok(l) => {
            for line in l {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hookd sign: {e}");
            ExitCode::from(2)
        }
    }
}
