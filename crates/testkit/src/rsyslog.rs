//! A real syslog collector for tests: Debian's rsyslogd on 127.0.0.1 with its TLS
//! input (gtls, RFC 5425 octet-counted framing), a certificate from a throwaway CA the
//! client trusts, and every message it takes written raw, one per line, to a file the
//! test reads. It can be stopped and started again on the same port, as a collector
//! that goes down for a while would be. Each test gets its own; stopped when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

pub struct Rsyslog {
    pub port: u16,
    /// The CA that signed the collector's certificate, for the client to trust.
    pub ca_file: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Rsyslog {
    pub async fn start() -> anyhow::Result<Rsyslog> {
        if !std::path::Path::new(RSYSLOGD).exists() {
            bail!("{RSYSLOGD} is missing (scripts/test.sh installs Debian's rsyslog and rsyslog-gnutls)");
        }
        let dir = std::env::temp_dir().join(format!("palisade-rsyslog-{}", crate::random_hex(6)?));
        std::fs::create_dir_all(dir.join("work"))?;
        let certificate = crate::smtp::localhost_certificate()?;
        std::fs::write(dir.join("cert.pem"), &certificate.cert_pem)?;
        std::fs::write(dir.join("key.pem"), &certificate.key_pem)?;
        std::fs::write(dir.join("ca.pem"), &certificate.ca_pem)?;
        let port = {
            let probe = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            probe.local_addr()?.port()
        };
        let d = dir.display();
        std::fs::write(
            dir.join("rsyslog.conf"),
            format!(
                "global(workDirectory=\"{d}/work\"\n  \
                 defaultNetstreamDriver=\"gtls\"\n  \
                 defaultNetstreamDriverCAFile=\"{d}/ca.pem\"\n  \
                 defaultNetstreamDriverCertFile=\"{d}/cert.pem\"\n  \
                 defaultNetstreamDriverKeyFile=\"{d}/key.pem\")\n\
                 module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\")\n\
                 template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
                 action(type=\"omfile\" file=\"{d}/received.log\" template=\"raw\" flushOnTXEnd=\"on\" asyncWriting=\"off\")\n"
            ),
        )?;
        let mut collector = Rsyslog {
            port,
            ca_file: dir.join("ca.pem"),
            dir,
            child: None,
        };
        collector.resume().await?;
        Ok(collector)
    }

    /// Stops the collector: connections are refused until [`Rsyslog::resume`].
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.start_kill()?;
            child.wait().await?;
        }
        Ok(())
    }

    /// Starts the collector (again) on its port.
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        let d = self.dir.display().to_string();
        let child = Command::new(RSYSLOGD)
            .args(["-n", "-f"])
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting rsyslogd")?;
        self.child = Some(child);
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("rsyslogd did not listen within 30 s (configuration in {d})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Every message taken so far, raw, in arrival order.
    pub fn received(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("received.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
