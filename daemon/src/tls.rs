//! TLS material: load the configured PEM files, or generate a self-signed localhost certificate
//! into `state_dir/tls/` (reused across restarts) and say where it is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

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
    })
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

/// A rustls server config for TCP: HTTP/2 and HTTP/1.1 by ALPN.
pub fn tcp_server_config(m: &TlsMaterial) -> Result<Arc<ServerConfig>, String> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(m.certs.clone(), m.key.clone_key())
        .map_err(|e| format!("tls certificate/key: {e}"))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A rustls server config for QUIC: TLS 1.3 only, ALPN `h3`, and no 0-RTT (early data is
/// refused: webhook POSTs are not idempotent, so a replayed 0-RTT request could publish twice).
pub fn h3_server_config(m: &TlsMaterial) -> Result<Arc<ServerConfig>, String> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(m.certs.clone(), m.key.clone_key())
        .map_err(|e| format!("tls certificate/key: {e}"))?;
    cfg.alpn_protocols = vec![b"h3".to_vec()];
    cfg.max_early_data_size = 0;
    Ok(Arc::new(cfg))
}
