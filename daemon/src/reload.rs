//! Reload without a restart (`SIGHUP`, [`crate::Daemon::reload`]): the plugins of
//! `plugins.dir`, the `[[webhooks]]` of the config file, and the TLS certificate, in that order
//! (a new webhook may name a new plugin). Each part keeps what it had when its new version is
//! invalid, and the log says what changed or why nothing did.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::plugin::{PluginHost, ReloadReport};
use crate::tls::CertStore;
use crate::webhook::{Registry, StaticChanges};

/// What a reload did, part by part (`None`: that part is not configured).
#[derive(Debug, Default)]
pub struct Reloaded {
    /// Plugins loaded and failed.
    pub plugins: Option<ReloadReport>,
    /// What changed among the static webhooks, or why nothing did (the config file does not
    /// load, or a definition is invalid).
    pub webhooks: Option<Result<StaticChanges, String>>,
    /// Whether a new certificate is in service, or why the new pair was refused.
    pub tls: Option<Result<bool, String>>,
}

/// The parts a reload touches.
pub struct Reloader {
    /// The plugin host (`plugins.dir` set).
    pub plugins: Option<Arc<PluginHost>>,
    /// The webhook registry.
    pub registry: Arc<Registry>,
    /// The TLS certificate (`tls_listen` set).
    pub certs: Option<Arc<CertStore>>,
    /// The config file the daemon was started from (`None`: no `[[webhooks]]` to re-read).
    pub config_path: Option<PathBuf>,
}

impl Reloader {
    /// Reloads every part (blocking: compiles plugins, reads files).
    pub fn reload(&self, trigger: &str) -> Reloaded {
        let plugins = self.plugins.as_ref().map(|h| {
            let r = h.reload();
            crate::plugin::log_reload(trigger, &r);
            r
        });
        let webhooks = self.config_path.as_ref().map(|path| {
            let res = Config::load(Some(path), std::env::vars())
                .map_err(|e| e.to_string())
                .and_then(|cfg| self.registry.reload_static(&cfg.webhooks));
            match &res {
                Ok(c) if c.is_empty() => tracing::info!(trigger, file = %path.display(),
                    "webhooks: [[webhooks]] re-read, no change"),
                Ok(c) => tracing::info!(trigger, file = %path.display(),
                    added = %c.added.join(","), changed = %c.changed.join(","),
                    removed = %c.removed.join(","), "webhooks: [[webhooks]] reloaded"),
                Err(e) => tracing::error!(trigger, file = %path.display(), error = %e,
                    "webhooks: reload refused; the previous [[webhooks]] stay in service"),
            }
            res
        });
        let tls = self.certs.as_ref().map(|s| {
            let r = s.reload();
            if let Err(e) = &r {
                tracing::error!(trigger, error = %e,
                    "tls: new certificate refused; the previous one stays in service");
            }
            r
        });
        Reloaded {
            plugins,
            webhooks,
            tls,
        }
    }
}

/// Listens for `SIGHUP` now (a signal sent once this returns is handled, not fatal) and returns
/// the task that reloads on each one until `stop` fires.
pub fn on_sighup(
    reloader: Arc<Reloader>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reload through the admin API");
            return None;
        }
    };
    Some(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                got = hup.recv() => {
                    if got.is_none() {
                        return;
                    }
                    let r = reloader.clone();
                    if let Err(e) = tokio::task::spawn_blocking(move || r.reload("SIGHUP")).await {
                        tracing::error!(error = %e, "reload failed");
                    }
                }
            }
        }
    })
}
