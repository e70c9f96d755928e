//! A real ClamAV daemon for tests: `scripts/test.sh` starts one per run (through
//! `peers/clamd.sh`, with a one-entry signature database for the EICAR test file) and
//! names its socket in `PALISADE_TEST_CLAMD`; a test run without the script starts its
//! own, stopped when dropped.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};

/// The endpoint of the run's clamd, as `unix:/path`.
pub const CLAMD_ENV: &str = "PALISADE_TEST_CLAMD";

/// The EICAR anti-virus test file: harmless, and found by every scanner (here by the
/// signature `peers/clamd.sh` writes).
pub const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// The name clamd reports for [`EICAR`] (a signature from an unofficial database).
pub const EICAR_SIGNATURE: &str = "Palisade.Test.EICAR.UNOFFICIAL";

pub struct Clamd {
    /// `unix:/…/clamd.sock`, for `palisade_scan::Endpoint::parse`.
    pub endpoint: String,
    _own: Option<(Child, PathBuf)>,
}

impl Drop for Clamd {
    fn drop(&mut self) {
        if let Some((_, dir)) = &self._own {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Clamd {
    /// The run's clamd, or one of this test's own.
    pub async fn start() -> anyhow::Result<Clamd> {
        if let Ok(endpoint) = std::env::var(CLAMD_ENV) {
            return Ok(Clamd { endpoint, _own: None });
        }
        let dir = std::env::temp_dir().join(format!("palisade-clamd-{}", crate::random_hex(6)?));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers/clamd.sh");
        let child = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting clamd (scripts/test.sh installs Debian's clamav-daemon)")?;
        let socket = dir.join("clamd.sock");
        let started = Instant::now();
        while ping(&socket).await.is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                bail!(
                    "clamd did not answer within 60 s; see {}",
                    dir.join("clamd.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Clamd {
            endpoint: format!("unix:{}", socket.display()),
            _own: Some((child, dir)),
        })
    }
}

async fn ping(socket: &std::path::Path) -> anyhow::Result<()> {
    let mut conn = tokio::net::UnixStream::connect(socket).await?;
    conn.write_all(b"zPING\0").await?;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).await?;
    if reply.starts_with(b"PONG") {
        Ok(())
    } else {
        bail!("unexpected answer {reply:?}")
    }
}
