//! WebAssembly verifier plugins: the wasmtime host.
//!
//! A plugin is a component implementing `hookd:verifier/verifier@0.3.0`
//! (`plugin-sdk/wit/verifier.wit`) or, unchanged, `@0.2.0` (`plugin-sdk/wit/since_v0.2.0/`):
//! both worlds are linked, and each plugin is called through the bindings of the version it was
//! built for (a 0.2.0 plugin gets the 0.3.0 request minus its new fields). [`PluginHost`]
//! compiles every `*.wasm` in `[plugins] dir` once (name = file stem), links the host crypto of
//! [`crypto`], the [`log`] import and [`wasi`] (`wasi:random`, stdout/stderr to the log through
//! [`stdio`]; every other WASI import traps), and keeps an `InstancePre` per plugin; [`sandbox`]
//! runs calls on pooled instances under a memory limit and an epoch deadline. A webhook selects
//! a plugin with `"verifier": "WASM_PLUGIN", "plugin": "<name>"` ([`PluginVerifier`]).
//!
//! Reload (`SIGHUP`, `POST /api/admin/plugins/reload`) rescans the directory: new and changed
//! files are compiled, removed files are unloaded, and a file that fails to compile is reported
//! while every other plugin — including the previous version of the failing one — stays loaded.
//! Every `*.wasm` file not loaded is in the report's `failed` with its reason (a bad name too).
//! A removed file whose plugin webhooks still use is not unloaded: it stays in service and is
//! reported in `failed` with those webhooks (change or delete them first); a webhook whose
//! plugin is not loaded at all (e.g. after a restart) answers 503 `plugin_unavailable`.
//! Requests resolve their plugin by name when they are admitted, so they pick up a reload at
//! once; a call admitted before a reload still runs on the version it was admitted with. A new
//! version of a plugin takes over its predecessor's call permits, so `max_concurrent_calls`
//! bounds the calls of a plugin name running at once across reloads too (a plugin removed and
//! added back starts afresh).

pub mod crypto;
pub mod log;
pub mod origin;
pub mod sandbox;
pub mod stdio;
pub mod verifier;
pub mod wasi;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy};

use crate::config::PluginsConfig;
pub use origin::Origin;
pub use sandbox::{Failure, Limits};
pub use verifier::PluginVerifier;

/// Plugin failures by `plugin` and `kind` (deadline, memory, trap, output, missing,
/// instantiate: the request got 500 `plugin_error`; busy: 503 `plugin_busy`).
pub const PLUGIN_ERRORS_TOTAL: &str = "hookd_plugin_errors_total";

/// Epoch tick: deadlines are counted in these.
pub const TICK: Duration = Duration::from_millis(1);

/// How long a request waits for one of its plugin's `max_concurrent_calls` slots before it is
/// answered 503 `plugin_busy`.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(1);

/// How webhook validation resolves `WASM_PLUGIN` (carried in
/// [`VerifyConfig`](crate::config::VerifyConfig); not a configuration key).
#[derive(Clone, Default)]
pub enum PluginLink {
    /// No plugin host: `WASM_PLUGIN` webhooks are invalid.
    #[default]
    Off,
    /// Config-file validation before the host exists: fields are checked, the plugin name is
    /// checked when the daemon starts.
    Deferred,
    /// The running host: the plugin must be loaded.
    Host(Arc<PluginHost>),
}

impl fmt::Debug for PluginLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginLink::Off => f.write_str("Off"),
            PluginLink::Deferred => f.write_str("Deferred"),
            PluginLink::Host(h) => write!(f, "Host({})", h.dir.display()),
        }
    }
}

/// A plugin host could not be started.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// wasmtime refused the engine configuration or the host imports.
    #[error("plugin engine: {0}")]
    Engine(String),
    /// `[plugins] dir` cannot be read.
    #[error("plugins.dir {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One loaded plugin: compiled once, instantiated from its `InstancePre`.
pub struct Plugin {
    name: String,
    digest: [u8; 32],
    /// The contract version it was built for.
    contract: &'static str,
    pre: sandbox::Pre,
    /// Its log (shared by every version of the plugin, like `calls`).
    log: Arc<log::PluginLog>,
    idle: Mutex<Vec<sandbox::Sandbox>>,
    /// `max_concurrent_calls` permits, shared by every version of the plugin (see the module
    /// docs).
    calls: Arc<tokio::sync::Semaphore>,
    /// Until when (ms on [`clock_ms`]) calls go through [`crate::clock::run_blocking`]: set by a slow
    /// call.
    suspect_until_ms: std::sync::atomic::AtomicU64,
    /// The host's tick counter (deadlines are kept in its ticks).
    ticks: sandbox::Ticks,
}

/// Result of a (re)load.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ReloadReport {
    /// Every plugin loaded after the reload, sorted.
    pub loaded: Vec<String>,
    /// Files that could not be loaded: name → error (their previous version, if any, stays).
    pub failed: BTreeMap<String, String>,
}

/// The plugin host of one daemon.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<sandbox::HostState>,
    limits: Limits,
    ticks: sandbox::Ticks,
    dir: PathBuf,
    plugins: RwLock<FxHashMap<String, Arc<Plugin>>>,
    reload_lock: Mutex<()>,
    /// The failures of the last (re)load, for the admin API.
    last_failed: Mutex<BTreeMap<String, String>>,
    /// Plugins' log lines are kept for [`Plugin::take_log`] instead of written (`hookd plugin
    /// call` / `test`).
    capture_logs: bool,
    /// The webhooks using a plugin name (set by the daemon once its registry exists): a file
    /// removed while they use it stays loaded.
    users: RwLock<Option<Users>>,
}

/// The ids of the webhooks using a plugin name.
pub type Users = Box<dyn Fn(&str) -> Vec<String> + Send + Sync>;

impl PluginHost {
    /// Creates the engine (epoch interruption, a ticker thread), links the imports and loads
    /// `cfg.dir`. Plugins that fail to compile are logged and skipped.
    pub fn start(cfg: &PluginsConfig) -> Result<Arc<PluginHost>, HostError> {
        let dir = cfg.dir.clone().unwrap_or_default();
        std::fs::read_dir(&dir).map_err(|source| HostError::Dir {
            path: dir.clone(),
            source,
        })?;
        describe_metrics();
        let host = Arc::new(Self::new(dir, Limits::from_config(cfg))?);
        let report = host.reload();
        for (name, error) in &report.failed {
            tracing::error!(plugin = %name, %error, "plugin not loaded");
        }
        tracing::info!(dir = %host.dir.display(), loaded = %report.loaded.join(","), "plugins loaded");
        Ok(host)
    }

    /// A host over `dir` with nothing loaded yet (see [`PluginHost::reload`]).
    pub fn new(dir: PathBuf, limits: Limits) -> Result<PluginHost, HostError> {
        // Instances are reused across requests (sandbox::Plugin::call), so instantiation is off
        // the hot path and the on-demand allocator suffices (figures: benches/benches/plugin.rs).
        Self::with_allocator(dir, limits, InstanceAllocationStrategy::OnDemand)
    }

    /// [`PluginHost::new`] with wasmtime's pooling instance allocator sized for 64 concurrent
    /// instances (the benchmark compares the allocators).
    #[doc(hidden)]
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // benches and e2e tests
    pub fn with_pooling_allocator(dir: PathBuf, limits: Limits) -> Result<PluginHost, HostError> {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(64)
            .total_core_instances(512)
            .total_memories(64)
            .total_tables(512)
            .max_memory_size(limits.memory_bytes);
        Self::with_allocator(dir, limits, InstanceAllocationStrategy::Pooling(pool))
    }

    fn with_allocator(
        dir: PathBuf,
        limits: Limits,
        strategy: InstanceAllocationStrategy,
    ) -> Result<PluginHost, HostError> {
        let engine_err = |e: wasmtime::Error| HostError::Engine(format!("{e:#}"));
        let mut config = wasmtime::Config::new();
        config
            .epoch_interruption(true)
            .wasm_component_model(true)
            .max_wasm_stack(512 * 1024)
            .allocation_strategy(strategy);
        let engine = Engine::new(&config).map_err(engine_err)?;
        let mut linker = Linker::new(&engine);
        crypto::define(&mut linker).map_err(engine_err)?;
        log::define(&mut linker).map_err(engine_err)?;
        let weak = engine.weak();
        let ticks = sandbox::Ticks::default();
        let ticker = ticks.clone();
        std::thread::Builder::new()
            .name("hookd-plugin-epoch".into())
            .spawn(move || {
                // On a fixed schedule, so sleeps that overshoot do not stretch deadlines; parked
                // while no call is in flight (an idle host costs no wake-ups).
                let mut next = std::time::Instant::now();
                let mut idle = 0;
                loop {
                    idle = if ticker.idle() { idle + 1 } else { 0 };
                    if idle >= sandbox::Ticks::PARK_AFTER {
                        ticker.idle_wait(std::time::Duration::from_secs(1));
                        if weak.upgrade().is_none() {
                            return;
                        }
                        if ticker.idle() {
                            continue; // woken by the timeout alone: park again
                        }
                        idle = 0;
                        next = std::time::Instant::now();
                    }
                    next += TICK;
                    let now = std::time::Instant::now();
                    if now > next + 100 * TICK {
                        next = now; // the machine stalled: do not replay the missed ticks
                    }
                    std::thread::sleep(next.saturating_duration_since(now));
                    match weak.upgrade() {
                        Some(e) => {
                            ticker.advance();
                            e.increment_epoch();
                        }
                        None => return,
                    }
                }
            })
            .map_err(|e| HostError::Engine(format!("epoch thread: {e}")))?;
        Ok(PluginHost {
            engine,
            linker,
            limits,
            ticks,
            dir,
            plugins: RwLock::new(FxHashMap::default()),
            reload_lock: Mutex::new(()),
            last_failed: Mutex::new(BTreeMap::new()),
            capture_logs: false,
            users: RwLock::new(None),
        })
    }

    /// This host with plugins' log lines kept per plugin ([`Plugin::take_log`]) instead of
    /// written to the log: `hookd plugin call` and `test`.
    pub fn capturing_logs(mut self) -> PluginHost {
        self.capture_logs = true;
        self
    }

    /// Tells the host which webhooks use a plugin name (see the module docs).
    pub fn set_users(&self, users: Users) {
        *self.users.write().unwrap() = Some(users);
    }

    /// Loads one file as plugin `name` (replacing a plugin of that name), whatever the
    /// directory holds: `hookd plugin call` and `test`.
    pub fn load_path(&self, name: &str, path: &Path) -> Result<Arc<Plugin>, String> {
        if !valid_name(name) {
            return Err(format!("`{name}`: {BAD_NAME}"));
        }
        let prev = self.get(name);
        let p = self.load_file(name, path, prev.as_ref())?;
        self.plugins
            .write()
            .unwrap()
            .insert(name.to_owned(), p.clone());
        Ok(p)
    }

    /// The plugin directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The loaded plugin `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Plugin>> {
        self.plugins.read().unwrap().get(name).cloned()
    }

    /// Names of the loaded plugins, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.plugins.read().unwrap().keys().cloned().collect();
        v.sort();
        v
    }

    /// Rescans the directory (see the module docs). Blocking: compiles with cranelift.
    pub fn reload(&self) -> ReloadReport {
        let _one_at_a_time = self.reload_lock.lock().unwrap();
        let mut report = ReloadReport::default();
        let files = match plugin_files(&self.dir) {
            Ok(f) => f,
            Err(e) => {
                report
                    .failed
                    .insert("*".into(), format!("{}: {e}", self.dir.display()));
                report.loaded = self.names();
                self.last_failed.lock().unwrap().clone_from(&report.failed);
                return report;
            }
        };
        let (files, bad_names) = files;
        for (file, reason) in bad_names {
            report.failed.insert(file, reason);
        }
        let old = self.plugins.read().unwrap().clone();
        let mut next = FxHashMap::default();
        for (name, path) in files {
            match self.load_file(&name, &path, old.get(&name)) {
                Ok(p) => {
                    next.insert(name, p);
                }
                Err(e) => {
                    if let Some(prev) = old.get(&name) {
                        next.insert(name.clone(), prev.clone());
                    }
                    report.failed.insert(name, e);
                }
            }
        }
        // Removed files still in use stay loaded, reported with their users.
        if let Some(users) = self.users.read().unwrap().as_ref() {
            for (name, p) in &old {
                if next.contains_key(name) {
                    continue;
                }
                let using = users(name);
                if !using.is_empty() {
                    report.failed.insert(
                        name.clone(),
                        format!(
                            "{name}.wasm was removed but webhooks still use it: {}; it stays \
                             loaded until they are changed or deleted",
                            using.join(", ")
                        ),
                    );
                    next.insert(name.clone(), p.clone());
                }
            }
        }
        *self.plugins.write().unwrap() = next;
        report.loaded = self.names();
        self.last_failed.lock().unwrap().clone_from(&report.failed);
        report
    }

    /// The files the last (re)load could not load: name → error (their previous version, if
    /// any, is still loaded).
    pub fn last_failures(&self) -> BTreeMap<String, String> {
        self.last_failed.lock().unwrap().clone()
    }

    fn load_file(
        &self,
        name: &str,
        path: &Path,
        prev: Option<&Arc<Plugin>>,
    ) -> Result<Arc<Plugin>, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        if let Some(p) = prev.filter(|p| p.digest == digest) {
            return Ok(p.clone());
        }
        let component = Component::from_binary(&self.engine, &bytes)
            .map_err(|e| format!("not a valid WebAssembly component: {e:#}"))?;
        // Without a versioned hookd import (a plugin that imports nothing of hookd), the
        // export decides: the current contract first.
        let found = contract_version(&self.engine, &component);
        let contract = match found.as_deref() {
            None => None,
            Some(v) => Some(CONTRACTS.iter().copied().find(|c| *c == v).ok_or_else(|| {
                format!(
                    "built against hookd:verifier@{v}, this hookd implements @{}: \
                     rebuild it with a matching hookd-plugin-sdk",
                    CONTRACTS.join(" and @")
                )
            })?),
        };
        let mut linker = self.linker.clone();
        wasi::define(&mut linker, &component)
            .map_err(|e| format!("cannot link its imports: {e:#}"))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| format!("imports something hookd does not provide: {e:#}"))?;
        let (contract, pre) = match contract {
            Some("0.2.0") => (
                "0.2.0",
                sandbox::bindings_v0_2::VerifierPre::new(pre).map(sandbox::Pre::V0_2),
            ),
            Some(_) => (
                CONTRACT,
                sandbox::bindings::VerifierPre::new(pre).map(sandbox::Pre::V0_3),
            ),
            None => match sandbox::bindings::VerifierPre::new(pre.clone()) {
                Ok(p) => (CONTRACT, Ok(sandbox::Pre::V0_3(p))),
                Err(_) => (
                    "0.2.0",
                    sandbox::bindings_v0_2::VerifierPre::new(pre).map(sandbox::Pre::V0_2),
                ),
            },
        };
        let pre = pre.map_err(|e| {
            format!("does not implement hookd:verifier/verifier@{contract} (export verify): {e:#}")
        })?;
        let log = match prev {
            Some(p) => p.log.clone(),
            None if self.capture_logs => Arc::new(log::PluginLog::capturing(name)),
            None => Arc::new(log::PluginLog::new(
                name,
                self.limits.log_lines_per_second,
            )),
        };
        let plugin = Plugin {
            name: name.to_owned(),
            digest,
            contract,
            pre,
            log,
            idle: Mutex::new(Vec::new()),
            // Calls still running on the previous version hold permits of the new one.
            calls: prev.map_or_else(
                || {
                    Arc::new(tokio::sync::Semaphore::new(
                        self.limits.max_concurrent_calls,
                    ))
                },
                |p| p.calls.clone(),
            ),
            suspect_until_ms: std::sync::atomic::AtomicU64::new(0),
            ticks: self.ticks.clone(),
        };
        // Instantiate once now: a plugin that cannot start is reported here, not per request.
        let sb = plugin
            .instantiate(&self.engine, &self.limits)
            .map_err(|f| format!("cannot be instantiated: {f}"))?;
        plugin.idle.lock().unwrap().push(sb);
        tracing::info!(plugin = %name, bytes = bytes.len(), contract, "plugin compiled");
        Ok(Arc::new(plugin))
    }

    /// Runs `name` on one request (on a pooled instance); see [`Plugin::call`].
    pub fn call(
        &self,
        name: &str,
        req: sandbox::bindings::hookd::verifier::types::Request<'_>,
    ) -> Result<sandbox::Checked, Failure> {
        let p = self.get(name).ok_or(Failure::Missing)?;
        self.call_on(&p, req)
    }

    /// Runs `plugin` — a version this host loaded, current or not — on one request (on a pooled
    /// instance); see [`Plugin::call`].
    pub fn call_on(
        &self,
        plugin: &Plugin,
        req: sandbox::bindings::hookd::verifier::types::Request<'_>,
    ) -> Result<sandbox::Checked, Failure> {
        plugin.call(&self.engine, &self.limits, req)
    }

    /// Runs `plugin` on a fresh instance and measures the call (`hookd plugin call`).
    pub fn call_measured(
        &self,
        plugin: &Plugin,
        req: sandbox::bindings::hookd::verifier::types::Request<'_>,
    ) -> sandbox::Measured {
        plugin.call_measured(&self.engine, &self.limits, req)
    }

    /// Like [`PluginHost::call`] but on a fresh instance that is dropped afterwards (benchmarks
    /// compare it with the pooled path).
    #[doc(hidden)]
    #[cfg_attr(not(feature = "testing"), allow(dead_code))] // benches and e2e tests
    pub fn call_fresh(
        &self,
        name: &str,
        req: sandbox::bindings::hookd::verifier::types::Request<'_>,
    ) -> Result<sandbox::Checked, Failure> {
        let p = self.get(name).ok_or(Failure::Missing)?;
        p.call_fresh(&self.engine, &self.limits, req)
    }
}

/// The version of the `hookd:verifier` package this host implements, as a literal (for
/// `concat!`); the unit tests check it against `plugin-sdk/wit/verifier.wit`.
macro_rules! contract {
    () => {
        "0.3.0"
    };
}
pub(crate) use contract;

/// The version of the `hookd:verifier` package this host implements (the newest one).
pub const CONTRACT: &str = contract!();

/// Every contract version this host links, newest first.
pub const CONTRACTS: &[&str] = &[CONTRACT, "0.2.0"];

/// The `hookd:verifier` version a component imports, if it imports the package.
fn contract_version(engine: &Engine, component: &Component) -> Option<String> {
    imported_contract(component.component_type().imports(engine).map(|(n, _)| n))
}

/// The version of the first `hookd:verifier/…` name among `imports` (empty if unversioned).
fn imported_contract<'a>(mut imports: impl Iterator<Item = &'a str>) -> Option<String> {
    imports.find_map(|name| {
        let rest = name.strip_prefix("hookd:verifier/")?;
        Some(rest.split_once('@').map_or("", |(_, v)| v).to_owned())
    })
}

/// All of a plugin's `max_concurrent_calls` slots stayed taken for [`ADMISSION_WAIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the plugin is at its concurrency limit")]
pub struct Busy;

/// A call that keeps its thread busy for half a tick after running this long (two epoch
/// ticks) marks its plugin suspect for [`SUSPECT_FOR`] (see `sandbox::Watch`).
pub const SLOW_CALL: Duration = Duration::from_millis(2);
/// How long a plugin stays suspect after a slow call.
pub const SUSPECT_FOR: Duration = Duration::from_secs(60);

/// Milliseconds since the first call (a monotonic clock for `suspect_until_ms`).
fn clock_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

impl Plugin {
    /// The contract version the plugin was built for.
    pub fn contract(&self) -> &'static str {
        self.contract
    }

    /// The lines the plugin logged since the last call of this, when its host captures logs
    /// ([`PluginHost::capturing_logs`]).
    pub fn take_log(&self) -> Vec<log::Line> {
        self.log.take_captured()
    }

    /// Marks the plugin suspect for [`SUSPECT_FOR`]: one of its calls kept the CPU busy past
    /// [`SLOW_CALL`] or hit its deadline.
    pub(crate) fn mark_suspect(&self) {
        let until = clock_ms() + SUSPECT_FOR.as_millis() as u64;
        self.suspect_until_ms
            .store(until, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a recent call was slow (see [`Slot::run`]).
    pub fn is_suspect(&self) -> bool {
        let until = self
            .suspect_until_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        until != 0 && clock_ms() < until
    }

    /// Waits (at most [`ADMISSION_WAIT`]) for a call slot; hold the permit during the call.
    pub async fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Busy> {
        match tokio::time::timeout(ADMISSION_WAIT, self.calls.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(p),
            _ => {
                metrics::counter!(PLUGIN_ERRORS_TOTAL, "plugin" => self.name.clone(), "kind" => "busy")
                    .increment(1);
                Err(Busy)
            }
        }
    }
}

/// The plugin names `dir` offers (`hookd check-config`): the stems of its `*.wasm` files.
pub fn plugin_names(dir: &Path) -> Result<std::collections::BTreeSet<String>, HostError> {
    let (files, _) = plugin_files(dir).map_err(|source| HostError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(files.into_iter().map(|(n, _)| n).collect())
}

/// Why a file name is no plugin name.
const BAD_NAME: &str = "not loaded: a plugin's file name must be <name>.wasm with a name of \
                        1-64 letters, digits, '-' or '_'";

/// `*.wasm` files of `dir` by plugin name (file stem: letters, digits, `-`, `_`), sorted; and
/// the `*.wasm` files whose name is none (file name → reason).
#[allow(clippy::type_complexity)]
fn plugin_files(dir: &Path) -> std::io::Result<(Vec<(String, PathBuf)>, Vec<(String, String)>)> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.extension().and_then(|x| x.to_str()) != Some("wasm") || !path.is_file() {
            continue;
        }
        match path.file_stem().and_then(|s| s.to_str()) {
            Some(n) if valid_name(n) => out.push((n.to_owned(), path)),
            _ => bad.push((
                path.file_name()
                    .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
                BAD_NAME.to_owned(),
            )),
        }
    }
    out.sort();
    bad.sort();
    Ok((out, bad))
}

/// Plugin names: 1–64 ASCII letters, digits, `-`, `_`.
pub fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Logs a reload's result.
pub fn log_reload(trigger: &str, r: &ReloadReport) {
    for (name, error) in &r.failed {
        tracing::error!(plugin = %name, %error, trigger, "plugin not (re)loaded");
    }
    tracing::info!(loaded = %r.loaded.join(","), trigger, "plugins reloaded");
}

fn describe_metrics() {
    metrics::describe_counter!(
        PLUGIN_ERRORS_TOTAL,
        "Plugin calls that failed (request answered 500 plugin_error) by plugin and kind"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_is_the_wit_packages_version() {
        let wit = include_str!("../../../plugin-sdk/wit/verifier.wit");
        assert!(
            wit.lines()
                .any(|l| l.trim() == format!("package hookd:verifier@{CONTRACT};")),
            "CONTRACT ({CONTRACT}) differs from the WIT package version"
        );
        let old = include_str!("../../../plugin-sdk/wit/since_v0.2.0/verifier.wit");
        assert!(old.contains("package hookd:verifier@0.2.0;"));
        assert_eq!(CONTRACTS, [CONTRACT, "0.2.0"]);
    }

    #[test]
    fn the_imported_contract_version_is_found() {
        assert_eq!(
            imported_contract(
                ["wasi:random/random@0.2.6", "hookd:verifier/types@0.1.0"].into_iter()
            ),
            Some("0.1.0".into())
        );
        assert_eq!(
            imported_contract([crypto::INTERFACE].into_iter()),
            Some(CONTRACT.into())
        );
        assert_eq!(
            imported_contract([log::INTERFACE].into_iter()),
            Some(CONTRACT.into())
        );
        assert_eq!(
            imported_contract(["hookd:verifier/types"].into_iter()),
            Some(String::new())
        );
        assert_eq!(
            imported_contract(["wasi:cli/stdout@0.2.6"].into_iter()),
            None
        );
    }
}
