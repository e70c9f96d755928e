//! The server's TLS configuration: rustls with the ring provider, TLS 1.2 and 1.3 only,
//! ring's default suites (all AEAD with forward secrecy). Without a configured
//! certificate, a self-signed one for localhost is generated once and kept.
//!
//! The certificate is served through a resolver that can swap it: on SIGHUP, or when
//! the files change (checked every 30 seconds), the pair is read again and, if the key
//! matches the certificate, used for every new handshake, HTTPS and SMTP's STARTTLS
//! alike. A pair that does not load (half-copied, mismatched) is refused and the one in
//! use stays: the server never goes without a certificate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::CliError;

const CHECK_EVERY: Duration = Duration::from_secs(30);

/// The certificate in use and where it is read from.
#[derive(Debug)]
pub struct ServerCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    /// The files' modification times and sizes when they were read.
    stamp: Option<(SystemTime, u64, SystemTime, u64)>,
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|loaded| loaded.key.clone())
    }
}

impl ServerCert {
    fn open(cert_path: PathBuf, key_path: PathBuf) -> Result<Self, CliError> {
        let loaded = load(&cert_path, &key_path)?;
        Ok(Self {
            cert_path,
            key_path,
            current: RwLock::new(loaded),
        })
    }

    /// Reads the pair again if the files changed; true if a new certificate is in use.
    pub fn reload(&self, even_if_unchanged: bool) -> Result<bool, CliError> {
        let stamp = stamp(&self.cert_path, &self.key_path);
        let unchanged = self.current.read().is_ok_and(|loaded| loaded.stamp == stamp);
        if unchanged && !even_if_unchanged {
            return Ok(false);
        }
        let fresh = load(&self.cert_path, &self.key_path)?;
        let mut current = self
            .current
            .write()
            .map_err(|_| CliError::Tls("the certificate lock was poisoned".into()))?;
        let changed = current.key.cert != fresh.key.cert;
        *current = fresh;
        Ok(changed)
    }
}

fn stamp(cert: &Path, key: &Path) -> Option<(SystemTime, u64, SystemTime, u64)> {
    let of = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    };
    let (cert_time, cert_len) = of(cert)?;
    let (key_time, key_len) = of(key)?;
    Some((cert_time, cert_len, key_time, key_len))
}

fn load(cert_path: &Path, key_path: &Path) -> Result<Loaded, CliError> {
    let stamp = stamp(cert_path, key_path);
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| CliError::Tls(format!("{}: {e}", cert_path.display())))?;
    if chain.is_empty() {
        return Err(CliError::Tls(format!("{}: no certificate", cert_path.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| CliError::Tls(format!("{}: {e}", key_path.display())))?;
    let key = CertifiedKey::from_der(chain, key, &rustls::crypto::ring::default_provider())
        .map_err(|e| CliError::Tls(format!("{} and {}: {e}", cert_path.display(), key_path.display())))?;
    Ok(Loaded {
        key: Arc::new(key),
        stamp,
    })
}

pub fn server_config(cert: Arc<ServerCert>) -> Result<ServerConfig, CliError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| CliError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Loads the configured PEM files, or the generated self-signed pair in `data_dir/tls`.
pub fn load_or_generate(
    data_dir: &Path,
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<(ServerConfig, Arc<ServerCert>), CliError> {
    let (cert_path, key_path) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_path_buf(), k.to_path_buf()),
        _ => ensure_self_signed(data_dir)?,
    };
    let cert = Arc::new(ServerCert::open(cert_path, key_path)?);
    Ok((server_config(cert.clone())?, cert))
}

/// Reloads the certificate on SIGHUP (`hangup`, registered when `serve` starts) and
/// when its files change, until `stopping`.
pub async fn watch(
    cert: Arc<ServerCert>,
    mut hangup: Option<tokio::signal::unix::Signal>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let asked = tokio::select! {
            _ = async {
                match &mut hangup {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
            () = tokio::time::sleep(CHECK_EVERY) => false,
            _ = stopping.changed() => return,
        };
        match cert.reload(asked) {
            Ok(true) => tracing::info!(cert = %cert.cert_path.display(), "TLS certificate reloaded"),
            Ok(false) if asked => tracing::info!("SIGHUP: the TLS certificate is unchanged"),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "the new TLS certificate was refused; the one in use stays")
            }
        }
    }
}

fn ensure_self_signed(data_dir: &Path) -> Result<(PathBuf, PathBuf), CliError> {
    let dir = data_dir.join("tls");
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    std::fs::create_dir_all(&dir).map_err(|e| CliError::Io(dir.display().to_string(), e))?;
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    let generated = rcgen::generate_simple_self_signed(names).map_err(|e| CliError::Tls(e.to_string()))?;
    palisade_crypto::write_secret_file(&key_path, generated.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert_path, generated.cert.pem())
        .map_err(|e| CliError::Io(cert_path.display().to_string(), e))?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate for localhost");
    Ok((cert_path, key_path))
}
