//! Malware scanning through ClamAV's daemon. Palisade streams each file to `clamd`
//! with the `INSTREAM` command (over its Unix socket or a TCP address) and reads the
//! verdict. Anything but a clear answer — the daemon unreachable, slow, over its size
//! limit, answering something unexpected — is an error, never "clean": the caller
//! keeps the file blocked until a later scan succeeds.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where `clamd` listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl Endpoint {
    /// `unix:/run/clamav/clamd.ctl`, `tcp:127.0.0.1:3310`, or a bare absolute path.
    pub fn parse(text: &str) -> Result<Self, ScanError> {
        if let Some(path) = text.strip_prefix("unix:") {
            return Self::unix(path);
        }
        if let Some(addr) = text.strip_prefix("tcp:") {
            return addr
                .parse()
                .map(Endpoint::Tcp)
                .map_err(|_| ScanError::Config(format!("not an address and port: {addr}")));
        }
        Self::unix(text)
    }

    fn unix(path: &str) -> Result<Self, ScanError> {
        if path.starts_with('/') {
            Ok(Endpoint::Unix(PathBuf::from(path)))
        } else {
            Err(ScanError::Config(format!(
                "expected unix:/absolute/path or tcp:address:port, got {path}"
            )))
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// What the scanner found in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// The signature's name, as ClamAV reports it.
    Infected(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("scanner configuration: {0}")]
    Config(String),
    #[error("scanner unreachable: {0}")]
    Unreachable(String),
    #[error("scanner did not answer in time")]
    Timeout,
    #[error("scanner refused the file: {0}")]
    Refused(String),
    #[error("scanner answered something unexpected: {0}")]
    Garbled(String),
}

/// A `clamd` client. Cheap to clone; each scan is its own connection.
#[derive(Clone, Debug)]
pub struct Scanner {
    endpoint: Endpoint,
    timeout: Duration,
}

/// Chunks sent to clamd; well under its default `StreamMaxLength` chunking.
const CHUNK: usize = 64 * 1024;
/// A verdict line is short; a longer answer is not one clamd gives.
const MAX_REPLY: usize = 4096;

impl Scanner {
    /// Scans through `endpoint`, giving up (an error, not "clean") after `timeout` for
    /// the whole exchange.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        Self { endpoint, timeout }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Streams `content` to clamd and returns its verdict.
    pub async fn scan(&self, content: &[u8]) -> Result<Verdict, ScanError> {
        let reply = self
            .bounded(async {
                let mut conn = self.connect().await?;
                instream(conn.as_mut(), content).await
            })
            .await?;
        parse_verdict(&reply)
    }

    /// Whether clamd answers at all (for the readiness check).
    pub async fn ping(&self) -> Result<(), ScanError> {
        let reply = self
            .bounded(async {
                let mut conn = self.connect().await?;
                conn.write_all(b"zPING\0").await?;
                read_reply(conn.as_mut()).await
            })
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(ScanError::Garbled(reply))
        }
    }

    async fn connect(&self) -> std::io::Result<Box<dyn Conn>> {
        Ok(match &self.endpoint {
            Endpoint::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
            Endpoint::Tcp(addr) => Box::new(tokio::net::TcpStream::connect(addr).await?),
        })
    }

    /// The whole exchange within the timeout; an I/O failure means the daemon is not
    /// usable right now.
    async fn bounded(
        &self,
        work: impl std::future::Future<Output = Result<String, Talk>>,
    ) -> Result<String, ScanError> {
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| ScanError::Timeout)?
            .map_err(|e| match e {
                Talk::Io(e) => ScanError::Unreachable(format!("{}: {e}", self.endpoint)),
                Talk::Scan(e) => e,
            })
    }
}

/// A connection to clamd, whichever socket it is.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

enum Talk {
    Io(std::io::Error),
    Scan(ScanError),
}

impl From<std::io::Error> for Talk {
    fn from(e: std::io::Error) -> Self {
        Talk::Io(e)
    }
}

/// `zINSTREAM`, then length-prefixed chunks and a zero length to end the stream.
async fn instream(conn: &mut dyn Conn, content: &[u8]) -> Result<String, Talk> {
    conn.write_all(b"zINSTREAM\0").await?;
    for chunk in content.chunks(CHUNK) {
        let len = u32::try_from(chunk.len())
            .map_err(|_| Talk::Scan(ScanError::Refused("chunk too large".into())))?;
        conn.write_all(&len.to_be_bytes()).await?;
        conn.write_all(chunk).await?;
    }
    conn.write_all(&0u32.to_be_bytes()).await?;
    conn.flush().await?;
    read_reply(conn).await
}

/// One NUL-terminated reply (clamd may also just close the connection after it).
async fn read_reply(conn: &mut dyn Conn) -> Result<String, Talk> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let n = conn.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
        if let Some(end) = reply.iter().position(|b| *b == 0) {
            reply.truncate(end);
            break;
        }
        if reply.len() > MAX_REPLY {
            return Err(Talk::Scan(ScanError::Garbled("reply too long".into())));
        }
    }
    Ok(String::from_utf8_lossy(&reply).trim().to_owned())
}

/// `stream: OK`, `stream: <Signature> FOUND`, or `<why> ERROR`.
fn parse_verdict(reply: &str) -> Result<Verdict, ScanError> {
    let Some(rest) = reply.strip_prefix("stream: ") else {
        if let Some(why) = reply.strip_suffix(" ERROR") {
            return Err(ScanError::Refused(why.to_owned()));
        }
        return Err(ScanError::Garbled(reply.chars().take(200).collect()));
    };
    if rest == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(signature) = rest.strip_suffix(" FOUND") {
        let signature = signature.trim();
        if !signature.is_empty() {
            return Ok(Verdict::Infected(signature.chars().take(200).collect()));
        }
    }
    if let Some(why) = rest.strip_suffix(" ERROR") {
        return Err(ScanError::Refused(why.to_owned()));
    }
    Err(ScanError::Garbled(reply.chars().take(200).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_read_strictly() {
        assert_eq!(parse_verdict("stream: OK").ok(), Some(Verdict::Clean));
        assert_eq!(
            parse_verdict("stream: Eicar-Signature FOUND").ok(),
            Some(Verdict::Infected("Eicar-Signature".into()))
        );
        assert!(matches!(
            parse_verdict("INSTREAM size limit exceeded. ERROR"),
            Err(ScanError::Refused(_))
        ));
        // Nothing that merely contains "OK" counts as clean.
        for reply in [
            "",
            "OK",
            "stream: OKAY",
            "stream:  FOUND",
            "stream: FOUND",
            "PONG",
            "stream: OK extra",
        ] {
            assert!(parse_verdict(reply).is_err(), "{reply:?} must not be a verdict");
        }
    }

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            Endpoint::parse("unix:/run/clamav/clamd.ctl").ok(),
            Some(Endpoint::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert_eq!(
            Endpoint::parse("tcp:127.0.0.1:3310").ok(),
            Some(Endpoint::Tcp(([127, 0, 0, 1], 3310).into()))
        );
        assert!(Endpoint::parse("relative.sock").is_err());
        assert!(Endpoint::parse("tcp:localhost").is_err());
    }

    #[tokio::test]
    async fn an_absent_daemon_is_an_error_not_clean() {
        let scanner = Scanner::new(
            Endpoint::Unix("/nonexistent/palisade/clamd.sock".into()),
            Duration::from_secs(2),
        );
        assert!(matches!(
            scanner.scan(b"hello").await,
            Err(ScanError::Unreachable(_))
        ));
        assert!(scanner.ping().await.is_err());
    }
}
