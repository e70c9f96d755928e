//! The HTTP client Palisade uses to reach other servers: identity providers
//! (discovery, keys, token exchange) and an optional language model. Deliberately
//! small: it never follows redirects (an open redirect at the peer must not turn into
//! a request to an internal address), verifies TLS against the system's roots plus an
//! optional extra CA file, speaks plain HTTP only to loopback, and bounds both time and
//! response size.

use std::io::Cursor;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a request to another server failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The client's own configuration (an unreadable CA file).
    #[error("{0}")]
    Config(String),
    /// The peer, the network or the URL.
    #[error("{0}")]
    Peer(String),
    #[error("the server did not answer in time")]
    Timeout,
}

#[derive(Clone)]
pub struct HttpClient {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
}

fn provider_error(what: impl std::fmt::Display) -> OutboundError {
    OutboundError::Peer(what.to_string())
}

/// Loopback is the only place plain HTTP may go: a test provider or a local sidecar.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether an issuer URL is one Palisade will talk to: https anywhere, http on loopback.
pub fn acceptable_url(url: &str) -> bool {
    match url.parse::<http::Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.host()) {
            (Some("https"), Some(_)) => true,
            (Some("http"), Some(host)) => is_loopback(host),
            _ => false,
        },
        Err(_) => false,
    }
}

impl HttpClient {
    pub fn new(extra_ca_file: Option<&Path>) -> Result<Self, OutboundError> {
        let mut roots = rustls::RootCertStore::empty();
        // Unreadable system certificates only shrink the set; an empty set fails closed.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = extra_ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| OutboundError::Config(format!("CA file {}: {e}", path.display())))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| OutboundError::Config(format!("CA file {}: {e}", path.display())))?;
                roots
                    .add(cert)
                    .map_err(|e| OutboundError::Config(format!("CA file {}: {e}", path.display())))?;
            }
        }
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(provider_error)?
                .with_root_certificates(roots)
                .with_no_client_auth();
        Ok(Self {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same client with another bound on a whole exchange (10 s unless set).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        tokio::time::timeout(self.timeout, self.send_once(request))
            .await
            .map_err(|_| OutboundError::Timeout)?
    }

    async fn send_once(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, OutboundError> {
        let uri = request.uri().clone();
        let host = uri
            .host()
            .ok_or_else(|| provider_error("URL without a host"))?
            .to_owned();
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if is_loopback(&host) => false,
            _ => {
                return Err(provider_error(format!(
                    "refusing to fetch {uri}: https is required"
                )));
            }
        };
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let bare_host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tcp = TcpStream::connect((bare_host.as_str(), port))
            .await
            .map_err(provider_error)?;
        let (mut parts, body) = request.into_parts();
        let authority = uri
            .authority()
            .ok_or_else(|| provider_error("URL without a host"))?
            .to_string();
        parts.uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .map_err(provider_error)?;
        parts
            .headers
            .insert(http::header::HOST, authority.parse().map_err(provider_error)?);
        let request = http::Request::from_parts(parts, Full::new(Cursor::new(body)));
        if tls {
            let name = ServerName::try_from(bare_host).map_err(provider_error)?;
            let stream = self.tls.connect(name, tcp).await.map_err(provider_error)?;
            exchange(stream, request).await
        } else {
            exchange(tcp, request).await
        }
    }
}

async fn exchange<Io>(
    io: Io,
    request: http::Request<Full<Cursor<Vec<u8>>>>,
) -> Result<http::Response<Vec<u8>>, OutboundError>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(provider_error)?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(provider_error);
    let result = match response {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            match Limited::new(body, MAX_RESPONSE_BYTES).collect().await {
                Ok(collected) => Ok(http::Response::from_parts(parts, collected.to_bytes().to_vec())),
                Err(e) => Err(provider_error(e)),
            }
        }
        Err(e) => Err(e),
    };
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(acceptable_url("https://login.example.com"));
        assert!(acceptable_url("http://127.0.0.1:9000/issuer"));
        assert!(acceptable_url("http://[::1]:9000"));
        assert!(acceptable_url("http://localhost:9000"));
        assert!(!acceptable_url("http://login.example.com"));
        assert!(!acceptable_url("http://10.0.0.1"));
        assert!(!acceptable_url("ftp://127.0.0.1"));
        assert!(!acceptable_url("not a url"));
    }
}
