//! Where entries go. Syslog: RFC 5425 (TLS, octet-counted frames) to a collector whose
//! certificate verifies against the system's roots plus the configured CA; one
//! connection per batch, closed gracefully, and the batch counts as delivered only
//! once the collector has read to the end and closed its side — it saw every frame,
//! not just the kernel's buffers. JSON lines: appended to a file (owner-only), synced
//! before the batch counts; the file is opened for each batch, so a rotation by
//! renaming it is picked up.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use palisade_audit::AuditEntry;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::SiemError;
use crate::format::{json_line, octet_counted, rfc5424};

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct SyslogTls {
    pub(crate) address: String,
    server_name: rustls::pki_types::ServerName<'static>,
    connector: tokio_rustls::TlsConnector,
    hostname: String,
}

impl SyslogTls {
    /// `address` is `host:port`; the certificate must name `server_name`.
    pub fn new(
        address: &str,
        server_name: &str,
        tls: Arc<rustls::ClientConfig>,
        hostname: &str,
    ) -> Result<Self, SiemError> {
        let server_name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
            .map_err(|_| SiemError::Config(format!("{server_name:?} is not a server name")))?;
        Ok(Self {
            address: address.to_owned(),
            server_name,
            connector: tokio_rustls::TlsConnector::from(tls),
            hostname: hostname.to_owned(),
        })
    }

    pub(crate) async fn send(&self, entries: &[&AuditEntry]) -> Result<(), SiemError> {
        tokio::time::timeout(TIMEOUT, self.deliver(entries))
            .await
            .map_err(|_| SiemError::Timeout(self.address.clone()))?
    }

    async fn deliver(&self, entries: &[&AuditEntry]) -> Result<(), SiemError> {
        let io = |e| SiemError::Io(self.address.clone(), e);
        let tcp = tokio::net::TcpStream::connect(&self.address).await.map_err(io)?;
        let mut tls = self
            .connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(io)?;
        let procid = std::process::id();
        let mut frames = String::new();
        for entry in entries {
            frames.push_str(&octet_counted(&rfc5424(entry, &self.hostname, procid)));
        }
        tls.write_all(frames.as_bytes()).await.map_err(io)?;
        tls.flush().await.map_err(io)?;
        // close_notify and our FIN; the collector closes once it has read everything.
        tls.shutdown().await.map_err(io)?;
        // rsyslog closes after reading to our close_notify, but without one of its own
        // (seen with its gtls driver), so a plain close has to count. Syslog over TLS
        // has no acknowledgement: an attacker who can drop and forge TCP segments on
        // the path could make a batch that never arrived look delivered. Collectors
        // can see such a hole as a gap in `seq`; RELP would close it (docs/OPERATIONS.md).
        let mut rest = Vec::new();
        match tls.read_to_end(&mut rest).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) => Err(io(e)),
        }
    }
}

pub struct JsonLines {
    pub(crate) path: PathBuf,
}

impl JsonLines {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub(crate) async fn send(&self, entries: &[&AuditEntry]) -> Result<(), SiemError> {
        let mut lines = String::new();
        for entry in entries {
            lines.push_str(&json_line(entry));
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || append_synced(&path, lines.as_bytes()))
            .await
            .map_err(|e| SiemError::Io("the JSON lines writer".into(), std::io::Error::other(e)))?
    }
}

fn append_synced(path: &std::path::Path, bytes: &[u8]) -> Result<(), SiemError> {
    use std::io::Write as _;
    let io = |e| SiemError::Io(path.display().to_string(), e);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let created = !path.exists();
    let mut file = options.open(path).map_err(io)?;
    // A batch cut short (a full disk) left a partial line: start on a fresh one, so
    // the retried batch's first entry is not glued to it.
    let length = file.metadata().map_err(io)?.len();
    if length > 0 && !ends_with_newline(path, length)? {
        file.write_all(b"\n").map_err(io)?;
    }
    file.write_all(bytes).map_err(io)?;
    file.sync_data().map_err(io)?;
    if created && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The new file's name must survive a power loss as well as its lines.
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}

fn ends_with_newline(path: &std::path::Path, length: u64) -> Result<bool, SiemError> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let io = |e| SiemError::Io(path.display().to_string(), e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(length - 1)).map_err(io)?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last).map_err(io)?;
    Ok(last[0] == b'\n')
}
