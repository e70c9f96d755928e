//! The one TLS client configuration for mail peers Palisade connects to (the relay,
//! hosted IMAP mailboxes): certificates verified against the system's roots plus an
//! optional CA file the operator names; an unreadable system store only shrinks the
//! set, so a broken one fails closed.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, pem::PemObject};

use crate::MailError;

pub fn verified_connector(ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector, MailError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let bad = |e: &dyn std::fmt::Display| MailError::Config(format!("CA file {}: {e}", path.display()));
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| MailError::Config(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
