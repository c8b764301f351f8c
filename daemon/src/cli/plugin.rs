//! `hookd plugin call`, `hookd plugin test` and `hookd plugin new`: run a plugin outside a
//! running hookd, on the same host (sandbox, limits, crypto, log) a daemon uses.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::vectors::{Case, CaseRequest, Expect, Headers, Owned, VectorFile};
use crate::config::PluginsConfig;
use crate::plugin::{Limits, Plugin, PluginHost};

/// `hookd plugin …`
#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub(crate) enum PluginCommand {
    /// Run a plugin on one request: prints the verdict, the plugin's log lines, the time and
    /// the memory it used. The request comes from flags, or from a file (one case of the vector
    /// format, docs/plugin-vectors.md) that flags then override.
    Call(CallArgs),
    /// Run a plugin on every case of a vector file (docs/plugin-vectors.md): prints each
    /// result, exits 1 when a verdict differs from the expected one.
    Test {
        /// The plugin (`.wasm` component).
        plugin: PathBuf,
        /// The vector file (JSON).
        vectors: PathBuf,
        /// Deadline per call, ms (default: `[plugins] deadline_ms`, 5). Raise it on a busy
        /// machine: the verdicts, not the timing, are under test.
        #[arg(long)]
        deadline_ms: Option<u64>,
    },
    /// Create a plugin crate NAME from the SDK's template: a working HMAC-SHA256 verifier with
    /// a unit test and a vector file, ready for `cargo build --release --target wasm32-wasip2`.
    New {
        /// Crate and plugin name (letters, digits, '-', '_').
        name: String,
        /// Where to create it (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Path to hookd's plugin-sdk/ to depend on (default: the published crate).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

/// `hookd plugin call` arguments.
#[derive(Args)]
pub(crate) struct CallArgs {
    /// The plugin (`.wasm` component).
    plugin: PathBuf,
    /// A request file: one case of the vector format.
    #[arg(long)]
    request: Option<PathBuf>,
    /// Method (default POST).
    #[arg(long)]
    method: Option<String>,
    /// Target: path and query (default /webhook/test).
    #[arg(long)]
    target: Option<String>,
    /// A header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// The body, as text.
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// The body, from a file (`-`: standard input).
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// A secret: `secretValue`, then `pluginSecrets` (repeatable).
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// A `pluginParams` entry, `name=value` (repeatable).
    #[arg(long = "param")]
    params: Vec<String>,
    /// The webhook's `toleranceSeconds`.
    #[arg(long)]
    tolerance: Option<u64>,
    /// hookd's clock, Unix seconds (default: now).
    #[arg(long)]
    now: Option<i64>,
    /// The webhook's URL is verified already.
    #[arg(long)]
    url_verified: bool,
    /// The public URL (default https://hooks.example.com + target).
    #[arg(long)]
    url: Option<String>,
    /// Deadline of the call, ms (default: `[plugins] deadline_ms`, 5).
    #[arg(long)]
    deadline_ms: Option<u64>,
}

/// Runs a `hookd plugin` command. `cfg` gives the sandbox limits (`[plugins]`).
pub(crate) fn run(cmd: PluginCommand, cfg: &PluginsConfig) -> ExitCode {
    match cmd {
        PluginCommand::Call(a) => {
            let cfg = with_deadline(cfg, a.deadline_ms);
            call(a, &cfg)
        }
        PluginCommand::Test {
            plugin,
            vectors,
            deadline_ms,
        } => test(&plugin, &vectors, &with_deadline(cfg, deadline_ms)),
        PluginCommand::New { name, dir, sdk } => {
            match super::plugin_new::create(&name, dir, sdk.as_deref()) {
                Ok(at) => {
                    println!("created {}", at.display());
                    println!(
                        "next: cd {} && cargo test && cargo build --release --target wasm32-wasip2 \
                         && hookd plugin test target/wasm32-wasip2/release/{}.wasm tests/vectors.json",
                        at.display(),
                        name.replace('-', "_")
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}

fn with_deadline(cfg: &PluginsConfig, deadline_ms: Option<u64>) -> PluginsConfig {
    let mut c = cfg.clone();
    if let Some(ms) = deadline_ms {
        c.deadline_ms = ms.clamp(1, 60_000);
    }
    c
}

fn fail(e: &str) -> ExitCode {
    eprintln!("hookd: {e}");
    ExitCode::from(2)
}

/// A host with `path` loaded, its log captured.
fn load(path: &Path, cfg: &PluginsConfig) -> Result<(PluginHost, Arc<Plugin>), String> {
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let host = PluginHost::new(dir, Limits::from_config(cfg))
        .map_err(|e| e.to_string())?
        .capturing_logs();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = if crate::plugin::valid_name(&stem) {
        stem
    } else {
        "plugin".to_owned()
    };
    let plugin = host
        .load_path(&name, path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((host, plugin))
}

fn call(a: CallArgs, cfg: &PluginsConfig) -> ExitCode {
    let mut case = match &a.request {
        Some(p) => match read_json::<Case>(p) {
            Ok(c) => c,
            Err(e) => return fail(&e),
        },
        None => Case {
            request: CaseRequest {
                now: now_unix(),
                ..CaseRequest::default()
            },
            ..Case::default()
        },
    };
    if let Err(e) = apply_flags(&a, &mut case) {
        return fail(&e);
    }
    let owned = match Owned::new(&case) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let (host, plugin) = match load(&a.plugin, cfg) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let m = owned.with(|r| host.call_measured(&plugin, r));
    let got = Expect::of(&m.result);
    println!(
        "verdict: {}",
        serde_json::to_string(&got).unwrap_or_default()
    );
    for l in plugin.take_log() {
        println!("log: {:?} [{:?}] {}", l.level, l.source, l.message);
    }
    println!(
        "contract: {}  instantiate: {} µs  call: {} µs  memory: {} KiB",
        plugin.contract(),
        m.instantiate.as_micros(),
        m.call.as_micros(),
        m.memory_bytes / 1024
    );
    match &case.expect {
        Some(want) if !want.matches(&got) => {
            println!(
                "MISMATCH: expected {}",
                serde_json::to_string(want).unwrap_or_default()
            );
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}

fn apply_flags(a: &CallArgs, case: &mut Case) -> Result<(), String> {
    let r = &mut case.request;
    if let Some(m) = &a.method {
        r.method = m.clone();
    }
    if let Some(t) = &a.target {
        r.target = t.clone();
    }
    if !a.headers.is_empty() {
        let mut pairs = match std::mem::take(&mut r.headers) {
            Headers::Pairs(p) => p,
            Headers::Map(m) => m.into_iter().collect(),
        };
        for h in &a.headers {
            let (n, v) = h
                .split_once(':')
                .ok_or_else(|| format!("--header `{h}`: must be `Name: value`"))?;
            pairs.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        r.headers = Headers::Pairs(pairs);
    }
    if let Some(b) = &a.body {
        r.body = Some(b.clone());
        r.body_base64 = None;
    }
    if let Some(p) = &a.body_file {
        let bytes = if p.as_os_str() == "-" {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut v).map_err(|e| e.to_string())?;
            v
        } else {
            std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?
        };
        use base64::Engine as _;
        r.body = None;
        r.body_base64 = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    if let Some(n) = a.now {
        r.now = n;
    }
    if a.url_verified {
        r.url_verified = true;
    }
    if let Some(u) = &a.url {
        let uri: http::Uri = u.parse().map_err(|_| format!("--url `{u}` is not a URL"))?;
        r.scheme = uri.scheme_str().unwrap_or("https").to_owned();
        r.authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        r.url = Some(u.clone());
    }
    if !a.secrets.is_empty() {
        case.secrets.clone_from(&a.secrets);
    }
    for p in &a.params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("--param `{p}`: must be `name=value`"))?;
        case.params.insert(k.to_owned(), v.to_owned());
    }
    if a.tolerance.is_some() {
        case.tolerance_seconds = a.tolerance;
    }
    Ok(())
}

fn test(plugin_path: &Path, vectors: &Path, cfg: &PluginsConfig) -> ExitCode {
    let file = match read_json::<VectorFile>(vectors) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    if file.cases.is_empty() {
        return fail(&format!("{}: no cases", vectors.display()));
    }
    let (host, plugin) = match load(plugin_path, cfg) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    if let Some(d) = &file.description {
        println!("{d}");
    }
    let mut failed = 0;
    for (i, case) in file.cases.iter().enumerate() {
        let name = case
            .name
            .clone()
            .unwrap_or_else(|| format!("case {}", i + 1));
        let Some(want) = &case.expect else {
            return fail(&format!("{name}: no `expect`"));
        };
        let owned = match Owned::new(case) {
            Ok(o) => o,
            Err(e) => return fail(&format!("{name}: {e}")),
        };
        // As in a daemon: pooled instances, reused while they behave.
        let result = owned.with(|r| host.call_on(&plugin, r));
        let got = Expect::of(&result);
        let log = plugin.take_log();
        if want.matches(&got) {
            println!("ok    {name}");
        } else {
            failed += 1;
            println!("FAIL  {name}");
            println!(
                "      expected {}",
                serde_json::to_string(want).unwrap_or_default()
            );
            println!(
                "      got      {}",
                serde_json::to_string(&got).unwrap_or_default()
            );
            for l in log {
                println!("      log: {:?} [{:?}] {}", l.level, l.source, l.message);
            }
        }
    }
    let n = file.cases.len();
    println!(
        "{}: {} passed, {failed} failed (contract {})",
        plugin_path.display(),
        n - failed,
        plugin.contract()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
