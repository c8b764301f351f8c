//! The `hookd` command line: `run` (the default), `check-config`, `sign`, `post` and `plugin`
//! (`call`, `test`, `new`).
//!
//! [`main`] parses the arguments, sets up logging ([`log`]: `[log]`, `RUST_LOG`, to standard
//! error) and runs the command; each command lives in its own module. The binary (`src/main.rs`) only calls
//! [`main`].

pub(crate) mod check;
pub(crate) mod log;
pub(crate) mod log_limit;
pub(crate) mod plugin;
pub(crate) mod plugin_new;
pub(crate) mod post;
pub(crate) mod run;
pub(crate) mod sign;
pub(crate) mod vectors;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

// The doc comments on `Cli`, `Command` and their fields are the `--help` text.

/// hookd — verify provider webhooks and publish them durably to Kafka.
#[derive(Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    /// Config file (TOML); `HOOKD_SECTION__KEY` environment variables override it.
    #[arg(long, short, global = true, env = "HOOKD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// What to run: both (default), ingest or sink; overrides `server.role`.
    #[arg(long, global = true, value_parser = ["both", "ingest", "sink"])]
    pub(crate) role: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the daemon (the default).
    Run,
    /// Validate the config and exit.
    CheckConfig,
    /// Print the signature header(s) a provider would send for a body (for trying hookd).
    Sign {
        /// Provider scheme.
        provider: sign::Provider,
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
    Post(post::PostArgs),
    /// Work on verifier plugins without a running hookd: call one, test it against vectors,
    /// create one from the SDK's template. Sandbox limits come from `[plugins]` of --config.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
}

/// The `hookd` binary: parses the command line (exiting with clap's usage error on bad
/// arguments), sets up logging to standard error (`[log]` of the config; `RUST_LOG` or
/// `HOOKD_LOG` override its level) and runs the command, `run` when none is given.
///
/// Exit codes: 0 on success; 2 for a bad config or bad command input; 1 when the daemon fails
/// or, for `post`, when a response was not 2xx.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Post(args) => {
            let _ = log::init(&Default::default());
            post::run(args)
        }
        Command::Sign {
            provider,
            secret,
            body_file,
            timestamp,
        } => {
            let _ = log::init(&Default::default());
            sign::sign(provider, &secret, body_file, timestamp)
        }
        Command::Plugin(cmd) => {
            let plugins = match cli.config {
                Some(path) => match load(Some(path), cli.role.as_deref()) {
                    Ok(c) => c.plugins,
                    Err(code) => return code,
                },
                None => Default::default(),
            };
            let _ = log::init(&Default::default());
            plugin::run(cmd, &plugins)
        }
        Command::CheckConfig => check::run(cli.config, cli.role.as_deref()),
        Command::Run => run::run(cli.config, cli.role.as_deref()),
    }
}

/// Loads the config from `path` (none: the built-in defaults) and the environment, with `role`
/// (from `--role`) over `server.role`; on error prints `hookd: <error>` and returns exit code 2.
pub(crate) fn load(path: Option<PathBuf>, role: Option<&str>) -> Result<Config, ExitCode> {
    let role = role.map(|r| ("HOOKD_SERVER__ROLE".to_string(), r.to_string()));
    Config::load(path.as_deref(), std::env::vars().chain(role)).map_err(|e| {
        eprintln!("hookd: {e}");
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{sign::Provider, Cli, Command};

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_is_the_default_and_options_are_global() {
        let cli = Cli::try_parse_from(["hookd"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from([
            "hookd",
            "check-config",
            "--config",
            "x.toml",
            "--role",
            "sink",
        ])
        .unwrap();
        assert!(matches!(cli.command, Some(Command::CheckConfig)));
        assert_eq!(cli.config.as_deref(), Some(std::path::Path::new("x.toml")));
        assert_eq!(cli.role.as_deref(), Some("sink"));
        assert!(Cli::try_parse_from(["hookd", "--role", "both-ish"]).is_err());
    }

    #[test]
    fn sign_and_post_arguments() {
        let cli = Cli::try_parse_from([
            "hookd",
            "sign",
            "github-sha1",
            "--secret",
            "s",
            "--timestamp",
            "7",
        ])
        .unwrap();
        let Some(Command::Sign {
            provider,
            secret,
            body_file,
            timestamp,
        }) = cli.command
        else {
            panic!("not sign");
        };
        assert_eq!(provider, Provider::GithubSha1);
        assert_eq!(
            (secret.as_str(), body_file, timestamp),
            ("s", None, Some(7))
        );
        let cli = Cli::try_parse_from([
            "hookd",
            "post",
            "https://h/webhook/x",
            "--http3",
            "-H",
            "A: b",
        ])
        .unwrap();
        let Some(Command::Post(a)) = cli.command else {
            panic!("not post");
        };
        assert!(a.http3 && a.headers == ["A: b"] && a.repeat == 1);
        assert!(Cli::try_parse_from(["hookd", "post", "u", "--http3", "--http1"]).is_err());
        assert!(Cli::try_parse_from(["hookd", "post", "u", "--repeat", "0"]).is_err());
    }
}
