//! `hookd run` (the default command): run the daemon until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the daemon with the config from `path` (and the `HOOKD_*` environment); `role`
/// (`both`, `ingest` or `sink`, as `--role` accepts) overrides `server.role`. Exit code 2 on a
/// bad config, 1 when the daemon cannot start or fails.
pub(crate) fn run(path: Option<PathBuf>, role: Option<&str>) -> ExitCode {
    let cfg = match super::load(path.clone(), role) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let limiter = super::log::init(&cfg.log);
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
    let res = rt.block_on(crate::run(
        cfg,
        crate::Options {
            clock: None,
            config_path: path,
        },
        shutdown_signal(),
    ));
    if let Some(l) = limiter {
        l.report_all();
    }
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on the first SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub(crate) async fn shutdown_signal() {
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
