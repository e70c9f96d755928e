//! A sign-in and password-reset flood over HTTPS from many loopback source addresses,
//! as a botnet stuffing credentials would send it: every attempt a new connection (a
//! new TLS handshake) from the next address of `--sources` addresses in 127.1.0.0/16,
//! `--sign-ins` attempts and `--resets` reset requests in flight at once, each for one
//! of `--accounts` addresses (one in ten a real account, `--real-account`). Runs for
//! `--seconds` and at most `--max-requests`, then prints one JSON line: the answers
//! counted by kind and status, and the request rates.
//!
//! Only the certificate `palisade serve` generated is trusted (pinned), and only
//! loopback targets are accepted.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Flood a Palisade server with sign-ins and password resets from many loopback addresses")]
struct Args {
    /// The server, e.g. 127.0.0.1:18443 (loopback only).
    #[arg(long)]
    target: SocketAddr,
    /// The server's certificate (PEM), the only one trusted.
    #[arg(long)]
    cert: PathBuf,
    /// Concurrent sign-in attempts.
    #[arg(long, default_value_t = 50)]
    sign_ins: u32,
    /// Concurrent password-reset requests.
    #[arg(long, default_value_t = 50)]
    resets: u32,
    /// Source addresses to rotate through, from 127.1.0.1 on.
    #[arg(long, default_value_t = 5000)]
    sources: u32,
    /// Distinct account addresses to try.
    #[arg(long, default_value_t = 2000)]
    accounts: u32,
    /// A real account's address, tried once in ten attempts.
    #[arg(long)]
    real_account: Option<String>,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 200_000)]
    max_requests: u64,
}

/// Trusts exactly one certificate: the generator talks to one known server.
#[derive(Debug)]
struct Pinned {
    cert: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the pinned certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[derive(Clone, Copy)]
enum Kind {
    SignIn,
    Reset,
}

struct Shared {
    args: Args,
    connector: TlsConnector,
    next_source: AtomicU64,
    next_account: AtomicU64,
    sent: AtomicU64,
    deadline: Instant,
    /// (kind, status or "error") -> count
    answers: Mutex<BTreeMap<String, u64>>,
    latencies_ms: Mutex<Vec<f64>>,
}

fn source(i: u64, sources: u32) -> IpAddr {
    let i = (i % u64::from(sources)) as u32;
    // 127.1.0.1 … 127.1.255.254: never 127.0.0.1, where the measured agent reads from.
    let host = i % 254 + 1;
    let net = (i / 254) % 256;
    IpAddr::V4(Ipv4Addr::new(127, 1, net as u8, host as u8))
}

async fn attempt(shared: &Shared, kind: Kind) -> anyhow::Result<u16> {
    let n = shared.next_source.fetch_add(1, Ordering::Relaxed);
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source(n, shared.args.sources), 0))?;
    let tcp = socket.connect(shared.args.target).await?;
    tcp.set_nodelay(true)?;
    let mut tls = shared
        .connector
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let k = shared.next_account.fetch_add(1, Ordering::Relaxed);
    let email = match &shared.args.real_account {
        Some(real) if k.is_multiple_of(10) => real.clone(),
        _ => format!("flood{}@bench.test", k % u64::from(shared.args.accounts)),
    };
    let (path, body) = match kind {
        Kind::SignIn => (
            "/api/v1/sessions",
            serde_json::json!({ "email": email, "password": format!("wrong-guess-{k}") }).to_string(),
        ),
        Kind::Reset => (
            "/api/v1/password-resets",
            serde_json::json!({ "email": email }).to_string(),
        ),
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).await?;
    let mut answer = Vec::with_capacity(1024);
    tls.read_to_end(&mut answer).await.or_else(|e| {
        // The server may close without a TLS close_notify after `Connection: close`.
        if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() {
            Ok(0)
        } else {
            Err(e)
        }
    })?;
    let head = String::from_utf8_lossy(&answer[..answer.len().min(32)]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status line in {head:?}"))?;
    Ok(status)
}

async fn worker(shared: Arc<Shared>, kind: Kind) {
    let label = match kind {
        Kind::SignIn => "sign_in",
        Kind::Reset => "reset",
    };
    while Instant::now() < shared.deadline
        && shared.sent.fetch_add(1, Ordering::Relaxed) < shared.args.max_requests
    {
        let started = Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(30), attempt(&shared, kind)).await;
        let key = match outcome {
            Ok(Ok(status)) => format!("{label} {status}"),
            Ok(Err(e)) => {
                eprintln!("floodload: {label}: {e:#}");
                format!("{label} error")
            }
            Err(_) => format!("{label} timeout"),
        };
        *shared
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
        if let Kind::SignIn = kind {
            shared
                .latencies_ms
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.target.ip().is_loopback() {
        bail!("--target must be a loopback address");
    }
    if args.sources == 0 || args.sources > 254 * 256 || args.accounts == 0 || args.seconds > 600 {
        bail!("--sources is 1..=65024, --accounts at least 1, --seconds at most 600");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cert = CertificateDer::from_pem_file(&args.cert)
        .with_context(|| format!("reading {}", args.cert.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { cert, provider }))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let started = Instant::now();
    let shared = Arc::new(Shared {
        connector: TlsConnector::from(Arc::new(config)),
        next_source: AtomicU64::new(0),
        next_account: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        deadline: started + Duration::from_secs(args.seconds),
        answers: Mutex::new(BTreeMap::new()),
        latencies_ms: Mutex::new(Vec::new()),
        args,
    });
    let mut tasks = Vec::new();
    for _ in 0..shared.args.sign_ins {
        tasks.push(tokio::spawn(worker(shared.clone(), Kind::SignIn)));
    }
    for _ in 0..shared.args.resets {
        tasks.push(tokio::spawn(worker(shared.clone(), Kind::Reset)));
    }
    for task in tasks {
        task.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let answers = shared.answers.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let count = |prefix: &str| -> u64 {
        answers
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    };
    let mut latencies = shared
        .latencies_ms
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    latencies.sort_by(f64::total_cmp);
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            0.0
        } else {
            latencies[((latencies.len() - 1) as f64 * p).round() as usize]
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "seconds": secs,
            "answers": answers,
            "sign_ins_per_s": count("sign_in ") as f64 / secs,
            "resets_per_s": count("reset ") as f64 / secs,
            "sign_in_p50_ms": percentile(0.5),
            "sign_in_p99_ms": percentile(0.99),
        })
    );
    Ok(())
}
