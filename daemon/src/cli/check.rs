//! `hookd check-config`: load and validate the configuration, print `config ok`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;

/// Runs `hookd check-config`: loads the config from `path` (and the `HOOKD_*` environment, with
/// `role` from `--role`) and runs [`check`] on it. Prints `config ok` and exits 0, or prints the
/// problem to standard error and exits 2.
pub(crate) fn run(path: Option<PathBuf>, role: Option<&str>) -> ExitCode {
    let cfg = match super::load(path, role) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match check(&cfg) {
        Ok(()) => {
            println!("config ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hookd: {e}");
            ExitCode::from(2)
        }
    }
}

/// Checks of a loaded config beyond what [`Config::load`] already validates (the static
/// webhooks' verifiers: keys, plugin host, plugin names against the `*.wasm` files of
/// `plugins.dir`); the error is printed as `hookd: <error>` (exit code 2).
pub(crate) fn check(cfg: &Config) -> Result<(), String> {
    crate::webhook::check_static(cfg)
}
