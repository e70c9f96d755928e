//! A real DNS server for tests: Debian's `dnsmasq` on 127.0.0.1, answering TXT records
//! the test gives (SPF, DKIM keys, DMARC) authoritatively for `*.test`, NXDOMAIN for
//! other names there, and SERVFAIL for `*.broken.test` (forwarded to a closed port), so
//! tests can see how verification behaves when DNS fails. Address records too, for
//! names that must resolve somewhere in particular (an internal address). Stopped when
//! dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

pub struct DnsServer {
    pub addr: SocketAddr,
    _child: Child,
}

/// dnsmasq keeps quotes literally and splits strings at commas; a TXT value longer
/// than 255 bytes must be given as several strings, which resolvers join again.
fn txt_arg(name: &str, value: &str) -> anyhow::Result<String> {
    if value.contains(',') {
        bail!("TXT values for dnsmasq cannot contain commas: {value:?}");
    }
    let chunks: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Ok(format!("--txt-record={name},{}", chunks.join(",")))
}

impl DnsServer {
    /// Serves `records` (name, TXT value); a name may appear several times.
    pub async fn start(records: &[(&str, &str)]) -> anyhow::Result<DnsServer> {
        Self::start_with_addresses(records, &[]).await
    }

    /// Serves TXT `records` and address records (name, IPv4 or IPv6 address).
    pub async fn start_with_addresses(
        records: &[(&str, &str)],
        addresses: &[(&str, std::net::IpAddr)],
    ) -> anyhow::Result<DnsServer> {
        if !std::path::Path::new(DNSMASQ).exists() {
            bail!("{DNSMASQ} is missing (scripts/test.sh installs Debian's dnsmasq-base)");
        }
        for _ in 0..5 {
            let port = {
                // Any free TCP port is very likely free for UDP too; dnsmasq needs both.
                let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
                probe.local_addr()?.port()
            };
            let mut cmd = Command::new(DNSMASQ);
            cmd.args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--pid-file=",
                "--log-facility=-",
                "--cache-size=0",
                "--local=/test/",
                "--server=/broken.test/127.0.0.1#9",
            ])
            .arg(format!("--port={port}"));
            for (name, value) in records {
                cmd.arg(txt_arg(name, value)?);
            }
            for (name, address) in addresses {
                cmd.arg(format!("--host-record={name},{address}"));
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .context("starting dnsmasq")?;
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if child.try_wait()?.is_some() {
                    break; // lost the port: try another
                }
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    return Ok(DnsServer { addr, _child: child });
                }
                if Instant::now() > deadline {
                    bail!("dnsmasq did not start listening on {addr}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        bail!("dnsmasq could not find a free port")
    }
}
