//! The HTTP client Palisade uses to reach other servers: identity providers
//! (discovery, keys, token exchange) and an optional language model. Deliberately
//! small: it never follows redirects (an open redirect at the peer must not turn into
//! a request to an internal address), verifies TLS against the system's roots plus an
//! optional extra CA file, speaks plain HTTP only to loopback, and bounds both time and
//! response size.
//!
//! It refuses private, loopback, link-local and other non-public destinations by
//! default, judged on the addresses a name resolves to, and connects to exactly the
//! address it judged (so a second DNS answer cannot swap in an internal one). Only the
//! hosts an operator named in configuration (an issuer, a model server) may resolve to
//! such addresses: [`HttpClient::trust_host`].
//!
//! Names are resolved by the system's resolver, or by the nameservers given to
//! [`HttpClient::resolving_with`] (a site's own, or a test's).

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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
    /// Hosts (lower case, without brackets) that may resolve to non-public addresses.
    trusted_hosts: Arc<Vec<String>>,
    /// `None`: the system's resolver.
    resolver: Option<Arc<hickory_resolver::TokioResolver>>,
}

/// Whether `ip` is an address on the public internet: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, broadcast, reserved or for
/// documentation; IPv6 forms that carry an IPv4 address are judged by that address.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s[0] {
        // 6to4 carries an IPv4 address in bits 16..48.
        0x2002 => is_public_v4(embedded_v4(s[1], s[2])),
        // Teredo, documentation, NAT64 (which may reach internal IPv4 networks),
        // IPv4-compatible, unique local, site-local, link-local, multicast.
        0x2001 if s[1] == 0 || s[1] == 0x0db8 => false,
        0x0064 if s[1] == 0xff9b => false,
        0x0000 => false,
        x if (x & 0xfe00) == 0xfc00 || (x & 0xffc0) == 0xfe80 || (x & 0xffc0) == 0xfec0 => false,
        x if (x & 0xff00) == 0xff00 => false,
        _ => !ip.is_unspecified() && !ip.is_loopback(),
    }
}

fn provider_error(what: impl std::fmt::Display) -> OutboundError {
    OutboundError::Peer(what.to_string())
}

fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Loopback is the only place plain HTTP may go: a test provider or a local sidecar.
fn is_loopback(host: &str) -> bool {
    let bare = bare(host);
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The origin (`scheme://host[:port]`, lower case, default ports dropped) of `url`.
pub fn origin_of(url: &str) -> Option<String> {
    let uri = url.parse::<http::Uri>().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = match (scheme.as_str(), uri.port_u16()) {
        ("https", Some(443)) | ("http", Some(80)) | (_, None) => String::new(),
        (_, Some(p)) => format!(":{p}"),
    };
    Some(format!("{scheme}://{host}{port}"))
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

/// The TLS client configuration for reaching other servers: the system's roots plus
/// an optional extra CA file (an issuer or collector on the intranet). Every outbound
/// TLS connection Palisade makes verifies against this, so trust is decided once.
pub fn client_tls(extra_ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, OutboundError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates only shrink the set; an empty set fails closed.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = extra_ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| OutboundError::Config(format!("CA file {}: {e}", path.display())))?;
        for cert in certs {
            let cert = cert.map_err(|e| OutboundError::Config(format!("CA file {}: {e}", path.display())))?;
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
    Ok(Arc::new(config))
}

impl HttpClient {
    pub fn new(extra_ca_file: Option<&Path>) -> Result<Self, OutboundError> {
        let config = client_tls(extra_ca_file)?;
        Ok(Self {
            tls: tokio_rustls::TlsConnector::from(config),
            timeout: DEFAULT_TIMEOUT,
            trusted_hosts: Arc::new(Vec::new()),
            resolver: None,
        })
    }

    /// Resolves names with these nameservers instead of the system's.
    pub fn resolving_with(mut self, nameservers: &[SocketAddr]) -> Result<Self, OutboundError> {
        use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
        if nameservers.is_empty() {
            return Err(OutboundError::Config("at least one nameserver is needed".into()));
        }
        let servers = nameservers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            })
            .collect();
        let mut builder = hickory_resolver::TokioResolver::builder_with_config(
            ResolverConfig::from_parts(None, vec![], servers),
            hickory_resolver::net::runtime::TokioRuntimeProvider::default(),
        );
        builder.options_mut().timeout = Duration::from_secs(5);
        builder.options_mut().attempts = 2;
        // Every request judges the addresses afresh: a cached answer would hide a
        // changed one from the judgement, never from the connection.
        builder.options_mut().cache_size = 0;
        let resolver = builder
            .build()
            .map_err(|e| OutboundError::Config(format!("DNS resolver: {e}")))?;
        self.resolver = Some(Arc::new(resolver));
        Ok(self)
    }

    /// Lets requests to the host of `url` reach non-public addresses: for a server the
    /// operator named in configuration (an issuer on the intranet, a model on
    /// loopback). Only that host name or address literal, never what it redirects to.
    pub fn trust_host(mut self, url: &str) -> Self {
        if let Ok(uri) = url.parse::<http::Uri>()
            && let Some(host) = uri.host()
        {
            let mut hosts = (*self.trusted_hosts).clone();
            hosts.push(bare(host).to_ascii_lowercase());
            self.trusted_hosts = Arc::new(hosts);
        }
        self
    }

    fn trusts(&self, host: &str) -> bool {
        self.trusted_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// The addresses `host` resolves to that this client may connect to, in order.
    async fn destinations(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let resolved: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => match &self.resolver {
                Some(resolver) => resolver
                    .lookup_ip(host)
                    .await
                    .map_err(provider_error)?
                    .iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect(),
                None => tokio::net::lookup_host((host, port))
                    .await
                    .map_err(provider_error)?
                    .collect(),
            },
        };
        let trusted = self.trusts(host);
        let allowed: Vec<SocketAddr> = resolved
            .into_iter()
            .filter(|a| trusted || is_public_address(a.ip()))
            .collect();
        if allowed.is_empty() {
            return Err(provider_error(format!(
                "refusing to connect to {host}: not a public address"
            )));
        }
        Ok(allowed)
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
        let bare_host = bare(&host).to_owned();
        let mut tcp = None;
        let mut last_error = None;
        for address in self.destinations(&bare_host, port).await? {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let tcp = tcp.ok_or_else(|| {
            provider_error(last_error.map_or_else(|| "no address".to_owned(), |e| e.to_string()))
        })?;
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
    fn only_public_addresses_are_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2002:7f00:1::",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "2001::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public_address(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::",
        ] {
            assert!(is_public_address(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn origins_drop_default_ports_and_case() {
        assert_eq!(
            origin_of("https://Login.Example.com:443/x").as_deref(),
            Some("https://login.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000/a").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_ne!(
            origin_of("https://a.example:8443/"),
            origin_of("https://a.example/")
        );
        assert_eq!(origin_of("no url"), None);
    }

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

    /// A loopback HTTP server that answers 200 and counts the connections it got.
    async fn counting_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
            }
        });
        (port, count)
    }

    fn get(url: &str) -> http::Request<Vec<u8>> {
        http::Request::get(url).body(Vec::new()).unwrap()
    }

    #[tokio::test]
    async fn internal_destinations_are_refused_unless_their_host_was_named() {
        let (port, connections) = counting_server().await;
        let client = HttpClient::new(None).unwrap();
        for url in [
            format!("http://127.0.0.1:{port}/"),
            format!("http://localhost:{port}/"),
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("https://localhost:{port}/"),
        ] {
            assert!(client.send(get(&url)).await.is_err(), "{url}");
        }
        assert_eq!(
            connections.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "refused before connecting"
        );
        // Naming the host (as the configured issuer or model server) lets it through,
        // and only that host: another name for the same address is still refused.
        let trusted = HttpClient::new(None)
            .unwrap()
            .trust_host(&format!("http://127.0.0.1:{port}"));
        let answer = trusted
            .send(get(&format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert!(
            trusted
                .send(get(&format!("http://localhost:{port}/")))
                .await
                .is_err()
        );
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
