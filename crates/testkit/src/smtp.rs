//! A capturing SMTP server for tests: [`SmtpSink::start`] listens on loopback, speaks enough RFC 5321
//! (plus RFC 3207 STARTTLS) for a real client to deliver to it, and keeps every accepted message in
//! memory for the test to inspect. Nothing is relayed anywhere.
//!
//! It is deliberately strict where lenient servers hide client bugs: lines must end with CRLF (a bare LF
//! closes the connection, as Postfix does against SMTP smuggling), MAIL needs a fresh EHLO after
//! STARTTLS, and plaintext pipelined behind STARTTLS is refused rather than run inside the TLS session.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// RFC 5321 4.5.3.1.6: a text line is at most 1000 octets including the CRLF.
const MAX_LINE: usize = 1000;
/// Advertised as SIZE; counts the stored bytes (after dot-unstuffing, with CRLF line endings).
const MAX_MESSAGE: usize = 10 * 1024 * 1024;
/// Enough for any test; stops a runaway client loop from exhausting file descriptors.
const MAX_CONNECTIONS: usize = 64;
/// RFC 5321 4.5.3.1.8 requires accepting at least 100 recipients.
const MAX_RECIPIENTS: usize = 100;
/// A misbehaving client gets this many error replies before it is disconnected, so it cannot spin forever.
const MAX_ERRORS: usize = 20;
/// Every read, write and handshake is bounded, so a stuck client fails its test instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// One message the sink accepted.
#[derive(Clone, Debug)]
pub struct CapturedMail {
    /// The argument of the last EHLO/HELO of the session that carried the message.
    pub helo: String,
    /// The reverse path, without angle brackets (empty for the null sender `<>`).
    pub mail_from: String,
    /// The accepted forward paths, without angle brackets, in order.
    pub rcpt_to: Vec<String>,
    /// The message as the client meant it: dot-stuffing undone, every line ending in CRLF, without the
    /// final `.` line.
    pub data: Vec<u8>,
    /// Whether the message arrived inside a STARTTLS session.
    pub tls: bool,
}

/// Whether the sink offers STARTTLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkTls {
    None,
    StartTls,
}

/// State shared by the handle and every connection task.
struct Shared {
    /// A watch channel rather than a mutex so [`SmtpSink::wait_for`] can sleep until a message arrives.
    messages: watch::Sender<Vec<CapturedMail>>,
    fail_next: AtomicUsize,
}

/// A capturing SMTP server on 127.0.0.1; stops accepting (and drops open connections) when dropped.
pub struct SmtpSink {
    port: u16,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    accept_loop: JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on 127.0.0.1 (port 0). With `SinkTls::StartTls` it advertises STARTTLS and serves a
    /// certificate for "localhost" and 127.0.0.1 signed by a fresh test CA.
    pub async fn start(tls: SinkTls) -> anyhow::Result<SmtpSink> {
        let (acceptor, ca_pem) = match tls {
            SinkTls::None => (None, None),
            SinkTls::StartTls => {
                let (acceptor, ca_pem) = tls_acceptor()?;
                (Some(acceptor), Some(ca_pem))
            }
        };
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the SMTP sink on 127.0.0.1")?;
        let port = listener.local_addr().context("SMTP sink address")?.port();
        let shared = Arc::new(Shared {
            messages: watch::Sender::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
        });
        let accept_loop = tokio::spawn(accept_loop(listener, Arc::clone(&shared), acceptor));
        Ok(SmtpSink {
            port,
            ca_pem,
            shared,
            accept_loop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// PEM of the CA that signed the sink's certificate (None without TLS), for clients to trust.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Messages accepted so far (after the final "." of DATA got 250).
    pub fn messages(&self) -> Vec<CapturedMail> {
        self.shared.messages.borrow().clone()
    }

    /// Waits (bounded by `timeout`) until at least `n` messages arrived; returns them or an error.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<CapturedMail>> {
        let mut rx = self.shared.messages.subscribe();
        match tokio::time::timeout(timeout, rx.wait_for(|messages| messages.len() >= n)).await {
            Ok(Ok(messages)) => Ok(messages.clone()),
            // Cannot happen while `self` holds the sender, but it is not worth a panic.
            Ok(Err(_)) => bail!("the SMTP sink stopped"),
            Err(_) => bail!(
                "the SMTP sink got {} message(s) within {timeout:?}, expected at least {n}",
                self.messages().len()
            ),
        }
    }

    /// Make the next `n` transactions fail with a temporary 451 reply at RCPT (to test retries).
    pub fn fail_next(&self, n: usize) {
        self.shared.fail_next.store(n, Ordering::SeqCst);
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // The connection tasks live in a JoinSet owned by the accept loop, so aborting it ends them too.
        self.accept_loop.abort();
    }
}

/// A certificate for `localhost` and `127.0.0.1` signed by a CA whose key is discarded
/// right here, so the CA can never vouch for anything else even if a test trusts it
/// somewhere broader than intended. Shared by the test peers that speak TLS.
pub(crate) struct LocalhostCertificate {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    cert_der: rustls::pki_types::CertificateDer<'static>,
    key_der: Vec<u8>,
}

pub(crate) fn localhost_certificate() -> anyhow::Result<LocalhostCertificate> {
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Palisade test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().context("CA key")?)
        .context("self-signing the test CA")?;

    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .context("leaf certificate names")?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().context("leaf key")?;
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca)
        .context("signing the leaf certificate")?;
    Ok(LocalhostCertificate {
        ca_pem: ca.pem(),
        cert_pem: leaf.pem(),
        key_pem: leaf_key.serialize_pem(),
        cert_der: leaf.der().clone(),
        key_der: leaf_key.serialize_der(),
    })
}

fn tls_acceptor() -> anyhow::Result<(TlsAcceptor, String)> {
    let certificate = localhost_certificate()?;
    // No process-wide crypto provider is installed, so name ring explicitly.
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(
                vec![certificate.cert_der],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certificate.key_der)),
            )
            .context("TLS server config")?;
    Ok((TlsAcceptor::from(Arc::new(config)), certificate.ca_pem))
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, acceptor: Option<TlsAcceptor>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Transient (e.g. out of file descriptors): keep serving the rest of the test, but do not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        if connections.len() >= MAX_CONNECTIONS {
            // Best effort and non-blocking: a refused client must not stall the accept loop.
            let _ = stream.try_write(b"421 4.3.2 too many connections\r\n");
            continue;
        }
        let shared = Arc::clone(&shared);
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            // A broken session only concerns its own client, which sees the connection drop.
            let _ = serve(stream, &shared, acceptor).await;
        });
    }
}

async fn serve(stream: TcpStream, shared: &Shared, acceptor: Option<TlsAcceptor>) -> anyhow::Result<()> {
    let mut plain = BufReader::new(stream);
    reply(&mut plain, "220 localhost ESMTP sink").await?;
    let mut session = Session::new(shared, acceptor.is_some(), false);
    if session.run(&mut plain).await? == Outcome::Closed {
        return Ok(());
    }
    let Some(acceptor) = acceptor else {
        bail!("STARTTLS accepted without a TLS configuration");
    };
    let tls = tokio::time::timeout(IO_TIMEOUT, acceptor.accept(plain.into_inner()))
        .await
        .context("TLS handshake timed out")?
        .context("TLS handshake")?;
    // RFC 3207 4.2: everything learnt before the handshake is forgotten, including the EHLO.
    let mut session = Session::new(shared, false, true);
    session.run(&mut BufReader::new(tls)).await?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Closed,
    StartTls,
}

struct Session<'a> {
    shared: &'a Shared,
    tls_offered: bool,
    tls_active: bool,
    errors: usize,
    helo: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    /// Decided at the first RCPT of a transaction, so one `fail_next` unit fails one whole transaction.
    failing: Option<bool>,
}

impl<'a> Session<'a> {
    fn new(shared: &'a Shared, tls_offered: bool, tls_active: bool) -> Session<'a> {
        Session {
            shared,
            tls_offered,
            tls_active,
            errors: 0,
            helo: None,
            mail_from: None,
            rcpt_to: Vec::new(),
            failing: None,
        }
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
        self.failing = None;
    }

    async fn bad<W: AsyncWrite + Unpin>(&mut self, io: &mut W, text: &str) -> anyhow::Result<()> {
        self.errors += 1;
        reply(io, text).await
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut BufReader<S>,
    ) -> anyhow::Result<Outcome> {
        loop {
            if self.errors >= MAX_ERRORS {
                reply(io, "421 4.7.0 too many errors, closing").await?;
                return Ok(Outcome::Closed);
            }
            let line = match read_line(io).await? {
                Line::Eof => return Ok(Outcome::Closed),
                Line::TooLong => {
                    self.bad(io, "500 5.5.2 line too long").await?;
                    continue;
                }
                Line::Complete(line) => line,
            };
            let Some(line) = line.strip_suffix(b"\r\n") else {
                reply(io, "500 5.5.2 bare LF received, lines must end with CRLF").await?;
                return Ok(Outcome::Closed);
            };
            let Ok(line) = std::str::from_utf8(line) else {
                self.bad(io, "500 5.5.2 command is not UTF-8").await?;
                continue;
            };
            let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
            match verb.to_ascii_uppercase().as_str() {
                "EHLO" | "HELO" => {
                    let domain = arg.trim();
                    if domain.is_empty() {
                        self.bad(io, "501 5.5.4 domain required").await?;
                        continue;
                    }
                    self.helo = Some(domain.to_owned());
                    self.reset_transaction();
                    if verb.eq_ignore_ascii_case("HELO") {
                        reply(io, "250 localhost").await?;
                    } else {
                        reply(io, &self.ehlo_reply()).await?;
                    }
                }
                "MAIL" => self.mail(io, arg).await?,
                "RCPT" => self.rcpt(io, arg).await?,
                "DATA" => {
                    if !arg.is_empty() {
                        self.bad(io, "501 5.5.4 DATA takes no argument").await?;
                    } else if self.mail_from.is_none() {
                        self.bad(io, "503 5.5.1 need MAIL first").await?;
                    } else if self.rcpt_to.is_empty() {
                        self.bad(io, "554 5.5.1 no valid recipients").await?;
                    } else {
                        reply(io, "354 end data with <CR><LF>.<CR><LF>").await?;
                        if !self.data(io).await? {
                            return Ok(Outcome::Closed);
                        }
                    }
                }
                "RSET" => {
                    self.reset_transaction();
                    reply(io, "250 2.0.0 ok").await?;
                }
                "NOOP" => reply(io, "250 2.0.0 ok").await?,
                "QUIT" => {
                    reply(io, "221 2.0.0 bye").await?;
                    return Ok(Outcome::Closed);
                }
                "STARTTLS" => {
                    if !arg.is_empty() {
                        self.bad(io, "501 5.5.4 STARTTLS takes no argument").await?;
                    } else if self.tls_active {
                        self.bad(io, "503 5.5.1 TLS already active").await?;
                    } else if !self.tls_offered {
                        self.bad(io, "502 5.5.1 STARTTLS not offered").await?;
                    } else if !io.buffer().is_empty() {
                        // Bytes pipelined behind STARTTLS were sent in plaintext; running them inside the TLS
                        // session would let an attacker inject commands (CVE-2011-0411).
                        reply(io, "554 5.5.1 plaintext pipelined after STARTTLS").await?;
                        return Ok(Outcome::Closed);
                    } else {
                        reply(io, "220 2.0.0 ready to start TLS").await?;
                        return Ok(Outcome::StartTls);
                    }
                }
                _ => self.bad(io, "500 5.5.1 command unrecognized").await?,
            }
        }
    }

    fn ehlo_reply(&self) -> String {
        let size = format!("SIZE {MAX_MESSAGE}");
        let mut lines = vec!["localhost", &size, "8BITMIME", "ENHANCEDSTATUSCODES"];
        if self.tls_offered && !self.tls_active {
            lines.push("STARTTLS");
        }
        lines.push("SMTPUTF8");
        let last = lines.len() - 1;
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| format!("250{}{line}", if i == last { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    async fn mail<W: AsyncWrite + Unpin>(&mut self, io: &mut W, arg: &str) -> anyhow::Result<()> {
        if self.helo.is_none() {
            return self.bad(io, "503 5.5.1 send EHLO first").await;
        }
        if self.mail_from.is_some() {
            return self.bad(io, "503 5.5.1 nested MAIL command").await;
        }
        let Some((address, params)) = parse_path(arg, "FROM:") else {
            return self.bad(io, "501 5.5.4 syntax: MAIL FROM:<address>").await;
        };
        let declared_size = params
            .split_ascii_whitespace()
            .filter_map(|param| param.split_once('='))
            .find(|(key, _)| key.eq_ignore_ascii_case("SIZE"))
            .map(|(_, value)| value.parse::<usize>());
        match declared_size {
            Some(Err(_)) => return self.bad(io, "501 5.5.4 bad SIZE parameter").await,
            Some(Ok(size)) if size > MAX_MESSAGE => {
                return reply(io, "552 5.3.4 message size exceeds fixed limit").await;
            }
            _ => {}
        }
        self.mail_from = Some(address.to_owned());
        reply(io, "250 2.1.0 ok").await
    }

    async fn rcpt<W: AsyncWrite + Unpin>(&mut self, io: &mut W, arg: &str) -> anyhow::Result<()> {
        if self.mail_from.is_none() {
            return self.bad(io, "503 5.5.1 need MAIL first").await;
        }
        let Some((address, _params)) = parse_path(arg, "TO:").filter(|(address, _)| !address.is_empty())
        else {
            return self.bad(io, "501 5.5.4 syntax: RCPT TO:<address>").await;
        };
        let fail_next = &self.shared.fail_next;
        let failing = *self.failing.get_or_insert_with(|| {
            fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        });
        if failing {
            return reply(io, "451 4.3.0 temporary failure (fail_next), try again later").await;
        }
        if self.rcpt_to.len() >= MAX_RECIPIENTS {
            return reply(io, "452 4.5.3 too many recipients").await;
        }
        self.rcpt_to.push(address.to_owned());
        reply(io, "250 2.1.5 ok").await
    }

    /// Reads the message after the 354 and answers it; false if the connection must close.
    async fn data<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut BufReader<S>,
    ) -> anyhow::Result<bool> {
        let mut data = Vec::new();
        // The first problem wins, but the message is still read to its end so the session stays in sync.
        let mut problem: Option<&str> = None;
        loop {
            let line = match read_line(io).await? {
                Line::Eof => bail!("connection closed inside DATA"),
                Line::TooLong => {
                    problem.get_or_insert("500 5.5.2 line too long");
                    continue;
                }
                Line::Complete(line) => line,
            };
            let Some(line) = line.strip_suffix(b"\r\n") else {
                // Only CRLF.CRLF ends the data; guessing at other endings is what makes SMTP smuggling work.
                reply(io, "500 5.5.2 bare LF received, lines must end with CRLF").await?;
                return Ok(false);
            };
            if line == b"." {
                break;
            }
            // RFC 5321 4.5.2: the first of a line's leading periods was added by the client.
            let line = line.strip_prefix(b".").unwrap_or(line);
            if data.len() + line.len() + 2 > MAX_MESSAGE {
                problem.get_or_insert("552 5.3.4 message size exceeds fixed limit");
            } else if problem.is_none() {
                data.extend_from_slice(line);
                data.extend_from_slice(b"\r\n");
            }
        }
        if let Some(problem) = problem {
            self.reset_transaction();
            self.errors += 1;
            reply(io, problem).await?;
            return Ok(true);
        }
        let mail = CapturedMail {
            helo: self.helo.clone().unwrap_or_default(),
            mail_from: self.mail_from.take().unwrap_or_default(),
            rcpt_to: std::mem::take(&mut self.rcpt_to),
            data,
            tls: self.tls_active,
        };
        self.reset_transaction();
        // Stored before the 250 goes out, so a test that saw the client succeed always finds the message.
        self.shared.messages.send_modify(|messages| messages.push(mail));
        reply(io, "250 2.0.0 queued").await?;
        Ok(true)
    }
}

/// Splits `FROM:<address> params` (keyword matched case-insensitively) into the address and the params.
fn parse_path<'s>(arg: &'s str, keyword: &str) -> Option<(&'s str, &'s str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    // Not allowed by RFC 5321, but common enough in clients that rejecting it would test the wrong thing.
    let rest = arg.get(keyword.len()..)?.trim_start_matches(' ');
    let rest = rest.strip_prefix('<')?;
    let (address, params) = rest.split_once('>')?;
    if !(params.is_empty() || params.starts_with(' ')) {
        return None;
    }
    if address
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '<')
    {
        return None;
    }
    Some((address, params.trim()))
}

enum Line {
    /// A line including its terminating LF.
    Complete(Vec<u8>),
    /// A line over [`MAX_LINE`], already discarded up to its LF.
    TooLong,
    /// The peer closed the connection (a partial last line is dropped with it).
    Eof,
}

/// Reads one line without ever buffering more than [`MAX_LINE`] bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> anyhow::Result<Line> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = tokio::time::timeout(IO_TIMEOUT, reader.fill_buf())
            .await
            .context("SMTP read timed out")?
            .context("SMTP read")?;
        if buf.is_empty() {
            return Ok(Line::Eof);
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let consumed = chunk.len();
        if !too_long {
            if line.len() + consumed > MAX_LINE {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        reader.consume(consumed);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete(line)
            });
        }
    }
}

/// Sends a (possibly multi-line, CRLF-separated) reply.
async fn reply<W: AsyncWrite + Unpin>(io: &mut W, text: &str) -> anyhow::Result<()> {
    let write = async {
        io.write_all(text.as_bytes()).await?;
        io.write_all(b"\r\n").await?;
        io.flush().await
    };
    tokio::time::timeout(IO_TIMEOUT, write)
        .await
        .context("SMTP write timed out")?
        .context("SMTP write")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::TlsConnector;

    const WAIT: Duration = Duration::from_secs(10);

    /// A minimal SMTP client that returns raw replies, so tests can assert on exact wire text.
    struct Client<S> {
        io: BufReader<S>,
    }

    impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
        fn new(stream: S) -> Client<S> {
            Client {
                io: BufReader::new(stream),
            }
        }

        /// All lines of one reply, without CRLF.
        async fn reply(&mut self) -> Vec<String> {
            let mut lines = Vec::new();
            loop {
                let mut line = String::new();
                tokio::time::timeout(WAIT, self.io.read_line(&mut line))
                    .await
                    .unwrap()
                    .unwrap();
                assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
                line.truncate(line.len() - 2);
                let last = line.as_bytes().get(3) == Some(&b' ') || line.len() == 3;
                lines.push(line);
                if last {
                    return lines;
                }
            }
        }

        async fn send(&mut self, raw: &[u8]) {
            self.io.write_all(raw).await.unwrap();
            self.io.flush().await.unwrap();
        }

        /// Sends one command and returns the last line of its reply.
        async fn cmd(&mut self, command: &str) -> String {
            self.send(format!("{command}\r\n").as_bytes()).await;
            self.reply().await.pop().unwrap()
        }
    }

    async fn connect(sink: &SmtpSink) -> Client<TcpStream> {
        let mut client = Client::new(TcpStream::connect(("127.0.0.1", sink.port())).await.unwrap());
        assert_eq!(client.reply().await, ["220 localhost ESMTP sink"]);
        client
    }

    #[tokio::test]
    async fn message_round_trips_with_dot_stuffing_undone() {
        let sink = SmtpSink::start(SinkTls::None).await.unwrap();
        assert_eq!(sink.ca_pem(), None);
        let mut c = connect(&sink).await;

        c.send(b"ehlo client.test\r\n").await;
        assert_eq!(
            c.reply().await,
            [
                "250-localhost",
                "250-SIZE 10485760",
                "250-8BITMIME",
                "250-ENHANCEDSTATUSCODES",
                "250 SMTPUTF8"
            ]
        );
        assert!(
            c.cmd("Mail From:<from@example.test> SIZE=120 BODY=8BITMIME")
                .await
                .starts_with("250 ")
        );
        assert!(c.cmd("RCPT TO:<one@example.test>").await.starts_with("250 "));
        assert!(c.cmd("rcpt to:<two@example.test>").await.starts_with("250 "));
        assert!(c.cmd("DATA").await.starts_with("354 "));
        c.send(b"Subject: hi\r\n\r\n..leading dot\r\n..\r\n...\r\nend\r\n.\r\n")
            .await;
        assert_eq!(c.reply().await, ["250 2.0.0 queued"]);
        assert_eq!(c.cmd("QUIT").await, "221 2.0.0 bye");

        let messages = sink.wait_for(1, WAIT).await.unwrap();
        assert_eq!(messages.len(), 1);
        let m = &messages[0];
        assert_eq!(m.helo, "client.test");
        assert_eq!(m.mail_from, "from@example.test");
        assert_eq!(m.rcpt_to, ["one@example.test", "two@example.test"]);
        assert_eq!(
            String::from_utf8(m.data.clone()).unwrap(),
            "Subject: hi\r\n\r\n.leading dot\r\n.\r\n..\r\nend\r\n"
        );
        assert!(!m.tls);
        assert_eq!(sink.messages().len(), 1);
    }

    #[tokio::test]
    async fn fail_next_rejects_one_transaction_then_retry_succeeds() {
        let sink = SmtpSink::start(SinkTls::None).await.unwrap();
        sink.fail_next(1);
        let mut c = connect(&sink).await;
        assert_eq!(c.cmd("EHLO client.test").await, "250 SMTPUTF8");

        assert!(c.cmd("MAIL FROM:<>").await.starts_with("250 "));
        assert!(c.cmd("RCPT TO:<a@example.test>").await.starts_with("451 "));
        // The whole transaction fails, not just its first recipient.
        assert!(c.cmd("RCPT TO:<b@example.test>").await.starts_with("451 "));
        assert!(c.cmd("DATA").await.starts_with("554 "));
        assert!(c.cmd("RSET").await.starts_with("250 "));

        assert!(c.cmd("MAIL FROM:<>").await.starts_with("250 "));
        assert!(c.cmd("RCPT TO:<a@example.test>").await.starts_with("250 "));
        assert!(c.cmd("DATA").await.starts_with("354 "));
        c.send(b"retried\r\n.\r\n").await;
        assert_eq!(c.reply().await, ["250 2.0.0 queued"]);

        let messages = sink.wait_for(1, WAIT).await.unwrap();
        assert_eq!(messages[0].mail_from, "");
        assert_eq!(messages[0].rcpt_to, ["a@example.test"]);
        assert_eq!(messages[0].data, b"retried\r\n");
    }

    #[tokio::test]
    async fn oversize_lines_and_bad_sequences_are_rejected() {
        let sink = SmtpSink::start(SinkTls::None).await.unwrap();
        let mut c = connect(&sink).await;

        let long = format!("NOOP {}", "x".repeat(1200));
        assert_eq!(c.cmd(&long).await, "500 5.5.2 line too long");
        // The connection stays usable after the long line was discarded.
        assert!(c.cmd("NOOP").await.starts_with("250 "));
        assert!(c.cmd("MAIL FROM:<a@example.test>").await.starts_with("503 "));
        assert!(c.cmd("VRFY root").await.starts_with("500 "));
        assert!(c.cmd("STARTTLS").await.starts_with("502 "));
        assert_eq!(c.cmd("HELO client.test").await, "250 localhost");
        assert!(c.cmd("RCPT TO:<a@example.test>").await.starts_with("503 "));
        assert!(c.cmd("MAIL FROM:a@example.test").await.starts_with("501 "));
        assert!(
            c.cmd("MAIL FROM:<a@example.test> SIZE=99999999")
                .await
                .starts_with("552 ")
        );

        assert!(c.cmd("MAIL FROM:<a@example.test>").await.starts_with("250 "));
        assert!(c.cmd("RCPT TO:<b@example.test>").await.starts_with("250 "));
        assert!(c.cmd("DATA").await.starts_with("354 "));
        c.send(format!("short\r\n{}\r\n.\r\n", "y".repeat(1200)).as_bytes())
            .await;
        assert_eq!(c.reply().await, ["500 5.5.2 line too long"]);
        assert!(c.cmd("NOOP").await.starts_with("250 "));

        // A bare LF ends the session rather than being guessed at.
        c.send(b"NOOP\n").await;
        assert!(c.reply().await[0].starts_with("500 5.5.2 bare LF"));
        let mut rest = String::new();
        assert_eq!(c.io.read_line(&mut rest).await.unwrap(), 0);

        assert!(sink.messages().is_empty());
        let err = sink.wait_for(1, Duration::from_millis(50)).await.unwrap_err();
        assert!(err.to_string().contains("got 0 message(s)"), "{err}");
    }

    #[tokio::test]
    async fn starttls_with_the_test_ca() {
        let sink = SmtpSink::start(SinkTls::StartTls).await.unwrap();
        let mut c = connect(&sink).await;
        let ehlo = {
            c.send(b"EHLO client.test\r\n").await;
            c.reply().await
        };
        assert!(ehlo.contains(&"250-STARTTLS".to_owned()), "{ehlo:?}");
        assert_eq!(ehlo.last().unwrap(), "250 SMTPUTF8");
        assert!(c.cmd("STARTTLS").await.starts_with("220 "));
        assert!(c.io.buffer().is_empty());
        let tcp = c.io.into_inner();

        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(sink.ca_pem().unwrap().as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        assert_eq!(roots.len(), 1);
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        let tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let mut c = Client::new(tls);

        // The handshake reset the session: the earlier EHLO no longer counts.
        assert!(c.cmd("MAIL FROM:<a@example.test>").await.starts_with("503 "));
        c.send(b"EHLO client.test\r\n").await;
        let ehlo = c.reply().await;
        assert!(!ehlo.iter().any(|line| line.contains("STARTTLS")), "{ehlo:?}");
        assert!(c.cmd("STARTTLS").await.starts_with("503 "));
        assert!(c.cmd("MAIL FROM:<a@example.test>").await.starts_with("250 "));
        assert!(c.cmd("RCPT TO:<b@example.test>").await.starts_with("250 "));
        assert!(c.cmd("DATA").await.starts_with("354 "));
        c.send(b"Subject: over TLS\r\n\r\nsecret\r\n.\r\n").await;
        assert_eq!(c.reply().await, ["250 2.0.0 queued"]);
        assert!(c.cmd("QUIT").await.starts_with("221 "));

        let messages = sink.wait_for(1, WAIT).await.unwrap();
        assert!(messages[0].tls);
        assert_eq!(messages[0].data, b"Subject: over TLS\r\n\r\nsecret\r\n");
    }

    #[tokio::test]
    async fn plaintext_pipelined_after_starttls_is_refused() {
        let sink = SmtpSink::start(SinkTls::StartTls).await.unwrap();
        let mut c = connect(&sink).await;
        assert_eq!(c.cmd("EHLO client.test").await, "250 SMTPUTF8");
        c.send(b"STARTTLS\r\nMAIL FROM:<injected@example.test>\r\n").await;
        assert!(c.reply().await[0].starts_with("554 "));
        let mut rest = String::new();
        assert_eq!(c.io.read_line(&mut rest).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn drop_stops_listening_and_closes_sessions() {
        let sink = SmtpSink::start(SinkTls::None).await.unwrap();
        let port = sink.port();
        let mut c = connect(&sink).await;
        drop(sink);
        let mut rest = String::new();
        let read = tokio::time::timeout(WAIT, c.io.read_line(&mut rest))
            .await
            .unwrap();
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?} {rest:?}");
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
    }
}
