//! A real IMAP server for tests: Debian's Dovecot on 127.0.0.1 with implicit TLS (a
//! certificate from a throwaway CA the test trusts), one mailbox user with a
//! password, messages delivered into it with `doveadm save`, and its flags read back
//! with `doveadm fetch`. Each test gets its own server and maildir; stopped when
//! dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::AsyncWriteExt as _;
use tokio::process::{Child, Command};

const DOVECOT: &str = "/usr/sbin/dovecot";
const DOVEADM: &str = "/usr/bin/doveadm";

pub struct Dovecot {
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The CA that signed the server's certificate, for the client to trust.
    pub ca_file: PathBuf,
    dir: PathBuf,
    _child: Child,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Dovecot {
    pub async fn start() -> anyhow::Result<Dovecot> {
        if !Path::new(DOVECOT).exists() {
            bail!("{DOVECOT} is missing (scripts/test.sh installs Debian's dovecot-imapd)");
        }
        let dir = std::env::temp_dir().join(format!("palisade-dovecot-{}", crate::random_hex(6)?));
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        // The mail processes run as `dovenull`; they must reach the maildirs.
        std::process::Command::new("chmod")
            .args(["755", &dir.display().to_string()])
            .status()?;
        std::process::Command::new("chmod")
            .args(["777", &dir.join("home").display().to_string()])
            .status()?;
        let certificate = crate::smtp::localhost_certificate()?;
        std::fs::write(dir.join("cert.pem"), &certificate.cert_pem)?;
        std::fs::write(dir.join("key.pem"), &certificate.key_pem)?;
        std::fs::write(dir.join("ca.pem"), &certificate.ca_pem)?;
        let user = "support@desk.test".to_owned();
        let password = format!("pw-{}", crate::random_hex(8)?);
        std::fs::write(dir.join("passwd"), format!("{user}:{{PLAIN}}{password}\n"))?;
        let port = {
            let probe = std::net::TcpListener::bind(("127.0.0.1", 0))?;
            probe.local_addr()?.port()
        };
        let (uid, gid) = (id("-u")?, id("-g")?);
        let d = dir.display();
        std::fs::write(
            dir.join("dovecot.conf"),
            format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
                 protocols = imap\nlisten = 127.0.0.1\nssl = required\n\
                 ssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
                 default_login_user = dovenull\ndefault_internal_user = dovecot\nfirst_valid_uid = 0\n\
                 mail_location = maildir:{d}/home/%u/Maildir\n\
                 service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = 0\n  }}\n  \
                 inet_listener imaps {{\n    port = {port}\n    ssl = yes\n  }}\n}}\n\
                 service anvil {{\n  chroot =\n}}\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
                 userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/home/%u\n}}\n"
            ),
        )?;
        let child = Command::new(DOVECOT)
            .args(["-F", "-c"])
            .arg(dir.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting dovecot")?;
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("dovecot did not listen within 30 s; see {d}/dovecot.log");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Dovecot {
            port,
            user,
            password,
            ca_file: dir.join("ca.pem"),
            dir,
            _child: child,
        })
    }

    /// Delivers `raw` into the user's INBOX, as the provider's MTA would.
    pub async fn deliver(&self, raw: &[u8]) -> anyhow::Result<()> {
        let mut child = self
            .doveadm(&["save", "-u", &self.user])
            .stdin(Stdio::piped())
            .spawn()
            .context("doveadm save")?;
        let mut stdin = child.stdin.take().context("doveadm stdin")?;
        stdin.write_all(raw).await?;
        drop(stdin);
        let status = child.wait().await?;
        if !status.success() {
            bail!("doveadm save failed: {status}");
        }
        Ok(())
    }

    /// Each message's UID and flags (keywords included), by UID.
    pub async fn flags(&self) -> anyhow::Result<Vec<(u32, String)>> {
        let out = self
            .doveadm(&["fetch", "-u", &self.user, "uid flags", "mailbox", "INBOX"])
            .output()
            .await?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut found = Vec::new();
        let mut uid = None;
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("uid: ") {
                uid = n.trim().parse().ok();
            } else if let (Some(flags), Some(u)) = (line.strip_prefix("flags:"), uid) {
                found.push((u, flags.trim().to_owned()));
            }
        }
        Ok(found)
    }

    /// Removes `keyword` from every message (as if marking it had been lost).
    pub async fn unflag_all(&self, keyword: &str) -> anyhow::Result<()> {
        let status = self
            .doveadm(&[
                "flags", "remove", "-u", &self.user, keyword, "mailbox", "INBOX", "all",
            ])
            .status()
            .await?;
        if !status.success() {
            bail!("doveadm flags remove failed: {status}");
        }
        Ok(())
    }

    fn doveadm(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DOVEADM);
        cmd.arg("-c").arg(self.dir.join("dovecot.conf")).args(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        cmd
    }
}

fn id(flag: &str) -> anyhow::Result<String> {
    let out = std::process::Command::new("id")
        .args([flag, "dovenull"])
        .output()?;
    if !out.status.success() {
        bail!("no dovenull user (Debian's dovecot-core creates it)");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
