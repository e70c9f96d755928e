//! The SMTP load generator for `bench/smtp.sh`: N concurrent senders, each on its own
//! connection from a chosen loopback address, sending one message after another for a
//! bounded time (and at most a bounded number of messages). It records the time from
//! the end of DATA (`CRLF.CRLF` written) to the server's reply, and prints one JSON
//! line: messages accepted per second, the latency median and p99, and failures.
//! Every message is distinct (sender, Message-ID), so a server's duplicate detection
//! never short-cuts the work being measured.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

#[derive(Parser, Clone)]
#[command(about = "SMTP load generator (benchmark)")]
struct Args {
    #[arg(long)]
    server: SocketAddr,
    /// Local address to send from (its SPF standing decides the sender verdict).
    #[arg(long, default_value = "127.0.0.1")]
    source_ip: IpAddr,
    #[arg(long)]
    senders: usize,
    /// Seconds of sending (each sender stops starting new messages after it).
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Upper bound on messages in the run, across all senders.
    #[arg(long, default_value_t = 200_000)]
    max_messages: usize,
    /// The envelope and header sender domain (`c<n>@<domain>`).
    #[arg(long)]
    domain: String,
    /// How many distinct sender addresses to rotate through.
    #[arg(long, default_value_t = 1000)]
    addresses: usize,
    #[arg(long)]
    rcpt: String,
    /// Distinguishes this run's Message-IDs from every other run's.
    #[arg(long)]
    run: String,
    /// Body size in bytes (approximately).
    #[arg(long, default_value_t = 2000)]
    body_bytes: usize,
    /// Messages per connection before the sender says QUIT and connects again, as MTAs
    /// do (servers bound a session's commands; Palisade allows 1,000).
    #[arg(long, default_value_t = 100)]
    messages_per_connection: usize,
}

struct Outcome {
    latencies_us: Vec<u64>,
    failures: usize,
    last_failure: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.server.ip().is_loopback() || !args.source_ip.is_loopback() {
        bail!("the benchmark only talks to loopback addresses");
    }
    let budget = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(args.max_messages));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut tasks = Vec::new();
    for sender in 0..args.senders {
        let (args, budget) = (args.clone(), budget.clone());
        tasks.push(tokio::spawn(async move {
            send_loop(&args, sender, deadline, &budget).await
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut last_failure = None;
    for task in tasks {
        let outcome = task.await.context("sender task")??;
        latencies.extend(outcome.latencies_us);
        failures += outcome.failures;
        last_failure = outcome.last_failure.or(last_failure);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1] as f64 / 1000.0
    };
    println!(
        "{}",
        json!({
            "senders": args.senders,
            "accepted": latencies.len(),
            "failures": failures,
            "last_failure": last_failure,
            "seconds": elapsed,
            "per_second": latencies.len() as f64 / elapsed,
            "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99),
            "max_ms": percentile(1.0),
        })
    );
    Ok(())
}

async fn send_loop(
    args: &Args,
    sender: usize,
    deadline: Instant,
    budget: &std::sync::atomic::AtomicUsize,
) -> anyhow::Result<Outcome> {
    let mut io = connect(args).await?;
    let body: String =
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n".repeat(args.body_bytes / 58 + 1);
    let mut outcome = Outcome {
        latencies_us: Vec::new(),
        failures: 0,
        last_failure: None,
    };
    let mut n = 0usize;
    while Instant::now() < deadline {
        let claimed = budget.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |left| left.checked_sub(1),
        );
        if claimed.is_err() {
            break;
        }
        n += 1;
        if n > 1 && (n - 1).is_multiple_of(args.messages_per_connection.max(1)) {
            let _ = io.get_mut().write_all(b"QUIT\r\n").await;
            io = connect(args).await?;
        }
        let address = format!("c{}@{}", (sender * 7919 + n) % args.addresses.max(1), args.domain);
        command(&mut io, &format!("MAIL FROM:<{address}>\r\n"), "2").await?;
        command(&mut io, &format!("RCPT TO:<{}>\r\n", args.rcpt), "2").await?;
        command(&mut io, "DATA\r\n", "3").await?;
        let message = format!(
            "From: Customer {n} <{address}>\r\nTo: {rcpt}\r\nSubject: Order {sender}-{n}\r\n\
             Message-ID: <{run}.{sender}.{n}@{domain}>\r\n\r\n{body}",
            rcpt = args.rcpt,
            run = args.run,
            domain = args.domain,
        );
        io.get_mut().write_all(message.as_bytes()).await?;
        let ended = Instant::now();
        io.get_mut().write_all(b".\r\n").await?;
        let reply = read_reply(&mut io).await?;
        if reply.starts_with('2') {
            outcome
                .latencies_us
                .push(u64::try_from(ended.elapsed().as_micros()).unwrap_or(u64::MAX));
        } else {
            outcome.failures += 1;
            outcome.last_failure = Some(reply.trim().to_owned());
        }
    }
    let _ = io.get_mut().write_all(b"QUIT\r\n").await;
    Ok(outcome)
}

/// A new session from the source address, greeted and introduced.
async fn connect(args: &Args) -> anyhow::Result<BufReader<TcpStream>> {
    let socket = match args.source_ip {
        IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(args.source_ip, 0))?;
    let stream: TcpStream = socket.connect(args.server).await.context("connecting")?;
    stream.set_nodelay(true)?;
    let mut io = BufReader::new(stream);
    expect(&mut io, "2").await.context("greeting")?;
    command(&mut io, "EHLO load.bench\r\n", "2").await?;
    Ok(io)
}

async fn command(io: &mut BufReader<TcpStream>, line: &str, want: &str) -> anyhow::Result<()> {
    io.get_mut().write_all(line.as_bytes()).await?;
    expect(io, want).await.with_context(|| line.trim().to_owned())
}

async fn expect(io: &mut BufReader<TcpStream>, want: &str) -> anyhow::Result<()> {
    let reply = read_reply(io).await?;
    if !reply.starts_with(want) {
        bail!("unexpected reply: {}", reply.trim());
    }
    Ok(())
}

/// The last line of a (possibly multi-line) reply; bounded in time.
async fn read_reply(io: &mut BufReader<TcpStream>) -> anyhow::Result<String> {
    loop {
        let mut line = String::new();
        let read = tokio::time::timeout(Duration::from_secs(60), io.read_line(&mut line))
            .await
            .context("reply timed out")??;
        if read == 0 {
            bail!("connection closed");
        }
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return Ok(line);
        }
    }
}
