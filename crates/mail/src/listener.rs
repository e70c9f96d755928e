//! The SMTP listener: tokio + `smtp-proto`, with Palisade's strict readers in front.
//! Every refusal happens before anything is stored, and a 250 is sent only after the
//! receiving side (`Reception`, then `Deliver`) has durably taken the message. Bounded everywhere:
//! concurrent connections, line and message sizes, errors per session, time per read.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use palisade_core::EmailAddress;
use smtp_proto::request::receiver::DataReceiver;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::{Arrival, Command, MAX_COMMAND_LINE, Reception, Recipient, Threading, parse_command};

const READ_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_ERRORS: usize = 10;

#[derive(Clone)]
pub struct ListenerSettings {
    pub hostname: String,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    /// Concurrent connections from one client address.
    pub max_connections_per_ip: usize,
    /// Transactions (MAIL FROM) per minute from one client address, bursts of a sixth.
    pub messages_per_minute_per_ip: u32,
    /// Offered as STARTTLS when present.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

#[derive(Clone)]
pub struct SmtpListener {
    settings: ListenerSettings,
    threading: Arc<Threading>,
    reception: Arc<Reception>,
    slots: Arc<Semaphore>,
    per_ip: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
    rate: Arc<governor::DefaultKeyedRateLimiter<IpAddr>>,
}

impl SmtpListener {
    pub fn new(settings: ListenerSettings, threading: Arc<Threading>, reception: Arc<Reception>) -> Self {
        let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
        let per_minute =
            NonZeroU32::new(settings.messages_per_minute_per_ip.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst =
            NonZeroU32::new((settings.messages_per_minute_per_ip / 6).max(1)).unwrap_or(NonZeroU32::MIN);
        let rate = Arc::new(governor::RateLimiter::hashmap(
            governor::Quota::per_minute(per_minute).allow_burst(burst),
        ));
        Self {
            settings,
            threading,
            reception,
            slots,
            per_ip: Arc::new(std::sync::Mutex::new(HashMap::new())),
            rate,
        }
    }

    /// Accepts connections until the task is dropped.
    pub async fn serve(self, listener: TcpListener) {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let this = self.clone();
            tokio::spawn(async move {
                let Ok(permit) = this.slots.clone().try_acquire_owned() else {
                    let mut stream = stream;
                    let _ = stream
                        .write_all(b"421 4.3.2 too many connections, try later\r\n")
                        .await;
                    return;
                };
                let Some(_ip_slot) =
                    IpSlot::take(&this.per_ip, peer.ip(), this.settings.max_connections_per_ip)
                else {
                    let mut stream = stream;
                    let _ = stream
                        .write_all(b"421 4.7.0 too many connections from your address, try later\r\n")
                        .await;
                    return;
                };
                if let Err(e) = this.connection(stream, peer).await {
                    tracing::debug!(%peer, error = %e, "SMTP session ended");
                }
                drop(permit);
            });
        }
    }

    async fn connection(&self, stream: TcpStream, peer: SocketAddr) -> std::io::Result<()> {
        let mut plain = BufReader::new(stream);
        let greeting = format!("220 {} ESMTP Palisade\r\n", self.settings.hostname);
        plain.get_mut().write_all(greeting.as_bytes()).await?;
        let tls = self.settings.tls.clone();
        match self.session(&mut plain, peer.ip(), tls.is_some()).await? {
            Ended::Closed => Ok(()),
            Ended::StartTls => {
                // Commands pipelined behind STARTTLS arrived in clear; running them inside
                // TLS would let a man in the middle inject them.
                if !plain.buffer().is_empty() {
                    plain
                        .get_mut()
                        .write_all(b"554 5.5.1 commands after STARTTLS must wait for TLS\r\n")
                        .await?;
                    return Ok(());
                }
                let Some(config) = tls else { return Ok(()) };
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                let secure = tokio::time::timeout(READ_TIMEOUT, acceptor.accept(plain.into_inner()))
                    .await
                    .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
                let mut secure = BufReader::new(secure);
                self.session(&mut secure, peer.ip(), false).await.map(|_| ())
            }
        }
    }

    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: &mut BufReader<S>,
        client_ip: IpAddr,
        offer_tls: bool,
    ) -> std::io::Result<Ended> {
        let mut helo: Option<String> = None;
        let mut mail_from: Option<Option<EmailAddress>> = None;
        let mut recipient: Option<Recipient> = None;
        let mut errors = 0;
        loop {
            let Some(line) = read_line(io).await? else {
                return Ok(Ended::Closed);
            };
            let command = match parse_command(&line) {
                Ok(c) => c,
                Err(rejection) => {
                    let (code, text) = rejection.reply();
                    reply(io, code, text).await?;
                    errors += 1;
                    if errors >= MAX_ERRORS {
                        reply(io, 421, "4.7.0 too many errors").await?;
                        return Ok(Ended::Closed);
                    }
                    continue;
                }
            };
            match command {
                Command::Ehlo(host) => {
                    let mut lines = vec![
                        self.settings.hostname.clone(),
                        format!("SIZE {}", self.settings.max_message_bytes),
                        "8BITMIME".into(),
                        "PIPELINING".into(),
                    ];
                    if offer_tls {
                        lines.push("STARTTLS".into());
                    }
                    lines.push("ENHANCEDSTATUSCODES".into());
                    multiline(io, 250, &lines).await?;
                    (helo, mail_from, recipient) = (Some(host), None, None);
                }
                Command::Helo(host) => {
                    reply(io, 250, &self.settings.hostname).await?;
                    (helo, mail_from, recipient) = (Some(host), None, None);
                }
                Command::StartTls if offer_tls => {
                    reply(io, 220, "2.0.0 ready to start TLS").await?;
                    return Ok(Ended::StartTls);
                }
                Command::StartTls => reply(io, 502, "5.5.1 STARTTLS not available").await?,
                Command::MailFrom { .. } if helo.is_none() => reply(io, 503, "5.5.1 say EHLO first").await?,
                Command::MailFrom { size: Some(size), .. } if size > self.settings.max_message_bytes => {
                    reply(io, 552, "5.3.4 message too large").await?
                }
                Command::MailFrom { .. } if self.rate.check_key(&client_ip).is_err() => {
                    reply(io, 451, "4.7.1 too many messages from your address; slow down").await?
                }
                Command::MailFrom { from, .. } => {
                    (mail_from, recipient) = (Some(from), None);
                    reply(io, 250, "2.1.0 ok").await?;
                }
                Command::RcptTo(_) if mail_from.is_none() => reply(io, 503, "5.5.1 MAIL first").await?,
                // One of our recipients per transaction: each gets its own decision.
                Command::RcptTo(_) if recipient.is_some() => {
                    reply(
                        io,
                        452,
                        "4.5.3 one recipient per message here; send again for the others",
                    )
                    .await?
                }
                Command::RcptTo(rcpt) => match self.threading.recipient(&rcpt).await {
                    Ok(Recipient::Unknown) => {
                        reply(io, 550, "5.1.1 no such recipient").await?;
                        errors += 1;
                    }
                    Ok(found) => {
                        recipient = Some(found);
                        reply(io, 250, "2.1.5 ok").await?;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "recipient lookup failed");
                        reply(io, 451, "4.3.0 try again later").await?;
                    }
                },
                Command::Data => {
                    let (Some(helo_name), Some(from), Some(rcpt)) = (&helo, &mail_from, &recipient) else {
                        reply(io, 503, "5.5.1 RCPT first").await?;
                        continue;
                    };
                    reply(io, 354, "end with <CRLF>.<CRLF>").await?;
                    let Some(raw) = read_data(io, self.settings.max_message_bytes).await? else {
                        reply(io, 552, "5.3.4 message too large").await?;
                        (mail_from, recipient) = (None, None);
                        continue;
                    };
                    let arrival = Arrival {
                        client_ip,
                        helo: helo_name.clone(),
                        mail_from: from.clone(),
                        recipient: rcpt.clone(),
                    };
                    let answer = self.reception.receive(arrival, raw).await;
                    reply(io, answer.code, &answer.text).await?;
                    (mail_from, recipient) = (None, None);
                }
                Command::Rset => {
                    (mail_from, recipient) = (None, None);
                    reply(io, 250, "2.0.0 ok").await?;
                }
                Command::Noop => reply(io, 250, "2.0.0 ok").await?,
                Command::Quit => {
                    reply(io, 221, "2.0.0 bye").await?;
                    return Ok(Ended::Closed);
                }
                Command::NotOffered(_) => reply(io, 502, "5.5.1 command not implemented").await?,
            }
        }
    }
}

/// One of a client address's connection slots, given back when dropped.
struct IpSlot {
    table: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl IpSlot {
    fn take(table: &Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let mut counts = table.lock().ok()?;
        let count = counts.entry(ip).or_insert(0);
        if *count >= max.max(1) {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            table: table.clone(),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.table.lock()
            && let Some(count) = counts.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

enum Ended {
    Closed,
    StartTls,
}

/// One command line (up to the LF), bounded in length and time; `None` at EOF.
async fn read_line<S: AsyncRead + Unpin>(io: &mut BufReader<S>) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = tokio::time::timeout(
        READ_TIMEOUT,
        (&mut *io)
            .take(MAX_COMMAND_LINE as u64 + 1)
            .read_until(b'\n', &mut line),
    )
    .await
    .map_err(|_| std::io::Error::other("timed out"))??;
    Ok((read > 0).then_some(line))
}

/// The message after DATA, unstuffed, up to the CRLF.CRLF terminator; `None` when it
/// exceeded `max` (the rest is read and dropped so the session can go on).
async fn read_data<S: AsyncRead + Unpin>(
    io: &mut BufReader<S>,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut receiver = DataReceiver::new();
    let mut buf = Vec::new();
    let mut too_large = false;
    loop {
        let chunk = tokio::time::timeout(READ_TIMEOUT, io.fill_buf())
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        if chunk.is_empty() {
            return Err(std::io::Error::other("connection closed during DATA"));
        }
        let mut iter = chunk.iter();
        let done = receiver.ingest(&mut iter, &mut buf);
        let used = chunk.len() - iter.as_slice().len();
        io.consume(used);
        if buf.len() > max {
            too_large = true;
            buf.clear();
        }
        if done {
            return Ok((!too_large).then_some(buf));
        }
    }
}

async fn reply<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    code: u16,
    text: &str,
) -> std::io::Result<()> {
    io.get_mut()
        .write_all(format!("{code} {text}\r\n").as_bytes())
        .await?;
    io.get_mut().flush().await
}

async fn multiline<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    code: u16,
    lines: &[String],
) -> std::io::Result<()> {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let separator = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("{code}{separator}{line}\r\n"));
    }
    io.get_mut().write_all(out.as_bytes()).await?;
    io.get_mut().flush().await
}
