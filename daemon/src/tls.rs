//! TLS material: load the configured PEM files, or generate a self-signed localhost certificate
//! into `state_dir/tls/` (reused across restarts) and say where it is; and [`CertStore`], the
//! certificate both TLS listeners (TCP and QUIC) serve, which is re-read on SIGHUP and when the
//! files change, without a restart.
//!
//! Rotation: every new handshake asks the store for the current certificate (rustls
//! `ResolvesServerCert`), so a swap takes effect for new connections at once, while open
//! connections keep the session they negotiated. A new pair is swapped in only once it parsed
//! and its key matches its certificate; otherwise the error is logged and the old pair stays.
//! File changes are found by polling the files' modification time, size and inode every
//! `server.tls_reload_interval_ms`: unlike an inotify watch (the `notify` crate), polling sees
//! renewals that replace a symlink (certbot's `live/`, Kubernetes secret volumes swap a `..data`
//! link) and costs two `stat` calls per interval.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use sha2::{Digest, Sha256};

use crate::config::ServerConfig as ServerSection;

/// A loaded certificate chain and key.
#[derive(Clone)]
pub struct TlsMaterial {
    /// Certificate chain (leaf first).
    pub certs: Vec<CertificateDer<'static>>,
    /// Private key.
    pub key: Arc<PrivateKeyDer<'static>>,
    /// Where the certificate came from (for logs and clients that must trust it).
    pub cert_path: PathBuf,
    /// Where the key came from.
    pub key_path: PathBuf,
}

/// The crypto provider used everywhere (ring: no C toolchain beyond a C compiler needed).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads `tls_cert`/`tls_key`, or creates/reuses the self-signed pair in `state_dir/tls/`.
pub fn load_or_generate(s: &ServerSection) -> Result<TlsMaterial, String> {
    let (cert_path, key_path) = match (&s.tls_cert, &s.tls_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => {
            let dir = s.state_dir.join("tls");
            let (c, k) = (
                dir.join("selfsigned-cert.pem"),
                dir.join("selfsigned-key.pem"),
            );
            if !c.exists() || !k.exists() {
                generate(&dir, &c, &k)?;
                tracing::warn!(cert = %c.display(),
                    "no tls_cert configured: generated a self-signed certificate for localhost; clients must trust this file");
            } else {
                tracing::info!(cert = %c.display(), "using the self-signed certificate from state_dir");
            }
            (c, k)
        }
    };
    read_pair(cert_path, key_path)
}

/// Reads and parses a PEM certificate chain and key.
fn read_pair(cert_path: PathBuf, key_path: PathBuf) -> Result<TlsMaterial, String> {
    let certs = rustls_pemfile::certs(&mut read(&cert_path)?.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", cert_path.display()));
    }
    let key = rustls_pemfile::private_key(&mut read(&key_path)?.as_slice())
        .map_err(|e| format!("{}: {e}", key_path.display()))?
        .ok_or_else(|| format!("{}: no private key found", key_path.display()))?;
    Ok(TlsMaterial {
        certs,
        key: Arc::new(key),
        cert_path,
        key_path,
    })
}

/// What identifies a file's version: modification time, size, inode (after symlinks).
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(p: &Path) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

/// The certificate the TLS listeners serve, swappable at run time (see the module docs).
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
    cert_path: PathBuf,
    key_path: PathBuf,
    stamps: Mutex<(Stamp, Stamp)>,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

fn certified(m: &TlsMaterial) -> Result<CertifiedKey, String> {
    CertifiedKey::from_der(m.certs.clone(), m.key.clone_key(), &provider()).map_err(|e| {
        format!(
            "tls certificate {} / key {}: {e}",
            m.cert_path.display(),
            m.key_path.display()
        )
    })
}

/// Short SHA-256 fingerprint of a leaf certificate (for logs).
fn fingerprint(k: &CertifiedKey) -> String {
    k.cert
        .first()
        .map(|c| hex::encode(&Sha256::digest(c.as_ref())[..8]))
        .unwrap_or_default()
}

impl CertStore {
    /// A store serving `m` (its key must match its certificate).
    pub fn new(m: &TlsMaterial) -> Result<Arc<Self>, String> {
        let key = certified(m)?;
        Ok(Arc::new(Self {
            current: RwLock::new(Arc::new(key)),
            stamps: Mutex::new((stamp(&m.cert_path), stamp(&m.key_path))),
            cert_path: m.cert_path.clone(),
            key_path: m.key_path.clone(),
        }))
    }

    /// Re-reads the files and serves the new pair if it differs from the current one: `Ok(true)`
    /// when swapped, `Ok(false)` when unchanged, `Err` (the old pair stays) when the new one
    /// cannot be read, does not parse or its key does not match its certificate.
    pub fn reload(&self) -> Result<bool, String> {
        let stamps = (stamp(&self.cert_path), stamp(&self.key_path));
        *self.stamps.lock().unwrap_or_else(|p| p.into_inner()) = stamps;
        let m = read_pair(self.cert_path.clone(), self.key_path.clone())?;
        let key = certified(&m)?;
        let cur = self.current();
        if cur.cert == key.cert {
            return Ok(false);
        }
        let fp = fingerprint(&key);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        tracing::info!(cert = %self.cert_path.display(), fingerprint = %fp,
            "tls: new certificate in service for new connections");
        Ok(true)
    }

    /// Reloads if either file changed since the last look; logs a refused pair.
    pub fn reload_if_changed(&self) {
        let now = (stamp(&self.cert_path), stamp(&self.key_path));
        if *self.stamps.lock().unwrap_or_else(|p| p.into_inner()) == now {
            return;
        }
        self.reload_logged("file change");
    }

    /// [`reload`](Self::reload), logging a refusal (`why`: what triggered it).
    pub fn reload_logged(&self, why: &str) {
        if let Err(e) = self.reload() {
            tracing::error!(trigger = why, error = %e,
                "tls: new certificate refused; the previous one stays in service");
        }
    }

    /// The pair in service.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Polls the store's files every `every` until `stop` fires (see the module docs).
pub async fn watch(
    store: Arc<CertStore>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(every) => {
                let s = store.clone();
                let _ = tokio::task::spawn_blocking(move || s.reload_if_changed()).await;
            }
        }
    }
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

fn generate(dir: &Path, cert: &Path, key: &Path) -> Result<(), String> {
    let ck = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(|e| format!("generating a self-signed certificate: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::fs::write(cert, ck.cert.pem()).map_err(|e| format!("{}: {e}", cert.display()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(key)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    std::io::Write::write_all(&mut f, ck.key_pair.serialize_pem().as_bytes())
        .map_err(|e| format!("{}: {e}", key.display()))
}

/// A rustls server config for TCP: HTTP/2 and HTTP/1.1 by ALPN, serving `store`'s certificate.
pub fn tcp_server_config(store: Arc<CertStore>) -> Result<Arc<ServerConfig>, String> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(store);
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A rustls server config for QUIC (serving `store`'s certificate): TLS 1.3 only, ALPN `h3`, and no 0-RTT (early data is
/// refused: webhook POSTs are not idempotent, so a replayed 0-RTT request could publish twice).
pub fn h3_server_config(store: Arc<CertStore>) -> Result<Arc<ServerConfig>, String> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(store);
    cfg.alpn_protocols = vec![b"h3".to_vec()];
    cfg.max_early_data_size = 0;
    Ok(Arc::new(cfg))
}
