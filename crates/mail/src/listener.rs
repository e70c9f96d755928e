//! The SMTP listener: tokio + `smtp-proto`, with Palisade's strict readers in front.
//! Every refusal happens before anything is stored, and a 250 is sent only after the
//! receiving side (`Reception`, then `Deliver`) has durably taken the message. Bounded everywhere:
//! concurrent connections, line and message sizes, errors per session, time per read,
//! and each session's total time, bytes and commands ([`SessionLimits`]). A framing
//! violation in DATA is answered and the connection closed: nothing after it is read.
//! On shutdown the listener stops accepting, idle sessions are told 421 at once, and a
//! message being received is finished first.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use palisade_core::EmailAddress;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use crate::data::{DataProgress, DataReader};
use crate::{Arrival, Command, MAX_COMMAND_LINE, Reception, Recipient, Threading, parse_command};

const READ_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_ERRORS: usize = 10;
/// How long a shutdown waits for sessions receiving a message.
const DRAIN: Duration = Duration::from_secs(10);

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
    pub session: SessionLimits,
}

/// What one SMTP session may use in total, whatever it does: a client that trickles
/// bytes or loops on NOOP/RSET cannot hold a connection slot for ever.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub max_duration: Duration,
    pub max_bytes: u64,
    pub max_commands: u32,
}

impl Default for SessionLimits {
    /// 15 minutes and 250 MiB, as Stalwart allows; 1,000 commands.
    fn default() -> Self {
        Self {
            max_duration: Duration::from_secs(15 * 60),
            max_bytes: 250 * 1024 * 1024,
            max_commands: 1_000,
        }
    }
}

/// What is left of a session's [`SessionLimits`].
struct Budget {
    deadline: Instant,
    bytes_left: u64,
    commands_left: u32,
}

impl Budget {
    fn new(limits: &SessionLimits) -> Self {
        Self {
            deadline: Instant::now() + limits.max_duration,
            bytes_left: limits.max_bytes,
            commands_left: limits.max_commands,
        }
    }

    /// How long the next read may wait: the per-read timeout or what is left.
    fn read_deadline(&self) -> Instant {
        (Instant::now() + READ_TIMEOUT).min(self.deadline)
    }

    fn spend_bytes(&mut self, n: usize) -> bool {
        match self.bytes_left.checked_sub(n as u64) {
            Some(left) => {
                self.bytes_left = left;
                true
            }
            None => false,
        }
    }

    fn spend_command(&mut self) -> bool {
        match self.commands_left.checked_sub(1) {
            Some(left) => {
                self.commands_left = left;
                true
            }
            None => false,
        }
    }
}

/// Why reading stopped short of a line or a message.
enum ReadEnd {
    Closed,
    Shutdown,
    OverBudget,
}

#[derive(Clone)]
pub struct SmtpListener {
    settings: ListenerSettings,
    threading: Arc<Threading>,
    reception: Arc<Reception>,
    slots: Arc<Semaphore>,
    per_ip: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
    rate: Arc<governor::DefaultKeyedRateLimiter<IpAddr>>,
    shutdown: watch::Receiver<bool>,
    metrics: Option<palisade_metrics::Metrics>,
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
            shutdown: watch::channel(false).1,
            metrics: None,
        }
    }

    /// Counts sessions and the answers given to messages into `metrics`.
    pub fn with_metrics(mut self, metrics: palisade_metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count_session(&self, answer: &'static str) {
        if let Some(metrics) = &self.metrics {
            metrics.smtp_session(answer);
        }
    }

    /// Stops when `shutdown` turns true: no new connections, 421 to idle sessions,
    /// messages being received finished first.
    pub fn with_shutdown(mut self, shutdown: watch::Receiver<bool>) -> Self {
        self.shutdown = shutdown;
        self
    }

    fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Accepts connections until shut down (or the task is dropped); then waits for
    /// the sessions in progress to end, as long as `drain` at most.
    pub async fn serve(self, listener: TcpListener) {
        let mut shutdown = self.shutdown.clone();
        loop {
            if self.shutting_down() {
                break;
            }
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = until_shutdown(&mut shutdown) => continue,
            };
            let Ok((stream, peer)) = accepted else {
                continue;
            };
            let this = self.clone();
            tokio::spawn(async move {
                let Ok(permit) = this.slots.clone().try_acquire_owned() else {
                    this.count_session("too_many");
                    let mut stream = stream;
                    let _ = stream
                        .write_all(b"421 4.3.2 too many connections, try later\r\n")
                        .await;
                    return;
                };
                let Some(_ip_slot) =
                    IpSlot::take(&this.per_ip, peer.ip(), this.settings.max_connections_per_ip)
                else {
                    this.count_session("too_many_from_address");
                    let mut stream = stream;
                    let _ = stream
                        .write_all(b"421 4.7.0 too many connections from your address, try later\r\n")
                        .await;
                    return;
                };
                this.count_session("accepted");
                if let Err(e) = this.connection(stream, peer).await {
                    tracing::debug!(%peer, error = %e, "SMTP session ended");
                }
                drop(permit);
            });
        }
        drop(listener);
        // Every session holds a slot; all slots back means every session has ended.
        let all = u32::try_from(self.settings.max_connections.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(DRAIN, self.slots.acquire_many(all)).await;
    }

    async fn connection(&self, stream: TcpStream, peer: SocketAddr) -> std::io::Result<()> {
        let mut plain = BufReader::new(stream);
        let greeting = format!("220 {} ESMTP Palisade\r\n", self.settings.hostname);
        plain.get_mut().write_all(greeting.as_bytes()).await?;
        let tls = self.settings.tls.clone();
        let mut budget = Budget::new(&self.settings.session);
        match self
            .session(&mut plain, peer.ip(), tls.is_some(), &mut budget)
            .await?
        {
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
                let secure =
                    tokio::time::timeout_at(budget.read_deadline(), acceptor.accept(plain.into_inner()))
                        .await
                        .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
                let mut secure = BufReader::new(secure);
                self.session(&mut secure, peer.ip(), false, &mut budget)
                    .await
                    .map(|_| ())
            }
        }
    }

    async fn session<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: &mut BufReader<S>,
        client_ip: IpAddr,
        offer_tls: bool,
        budget: &mut Budget,
    ) -> std::io::Result<Ended> {
        let mut helo: Option<String> = None;
        let mut mail_from: Option<Option<EmailAddress>> = None;
        let mut recipient: Option<Recipient> = None;
        let mut errors = 0;
        let mut shutdown = self.shutdown.clone();
        loop {
            let line = match read_line(io, budget, &mut shutdown).await? {
                Ok(line) => line,
                Err(ReadEnd::Closed) => return Ok(Ended::Closed),
                Err(ReadEnd::Shutdown) => {
                    reply(io, 421, "4.3.2 shutting down, try again later").await?;
                    return Ok(Ended::Closed);
                }
                Err(ReadEnd::OverBudget) => {
                    reply(io, 421, "4.7.0 session limit reached, closing").await?;
                    return Ok(Ended::Closed);
                }
            };
            if !budget.spend_command() {
                reply(io, 421, "4.7.0 too many commands, closing").await?;
                return Ok(Ended::Closed);
            }
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
                    let raw = match read_data(io, self.settings.max_message_bytes, budget).await? {
                        Data::Message(raw) => raw,
                        Data::TooLarge => {
                            reply(io, 552, "5.3.4 message too large").await?;
                            (mail_from, recipient) = (None, None);
                            continue;
                        }
                        // The client and this server no longer agree where the message
                        // ends: whatever follows must not be read as commands.
                        Data::Violation(why) => {
                            tracing::info!(%client_ip, ?why, "SMTP framing violation in DATA; closing");
                            reply(
                                io,
                                554,
                                "5.5.2 bare CR or LF or NUL in message; closing connection",
                            )
                            .await?;
                            return Ok(Ended::Closed);
                        }
                        Data::OverBudget => {
                            reply(io, 421, "4.7.0 session limit reached, closing").await?;
                            return Ok(Ended::Closed);
                        }
                    };
                    let arrival = Arrival {
                        client_ip,
                        helo: helo_name.clone(),
                        mail_from: from.clone(),
                        recipient: rcpt.clone(),
                    };
                    let answer = self.reception.receive(arrival, raw).await;
                    if let Some(metrics) = &self.metrics {
                        metrics.smtp_message(answer.code);
                    }
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

/// One command line (up to the LF), bounded in length and time, and within the
/// session's budget; while waiting for it, a shutdown ends the wait.
async fn read_line<S: AsyncRead + Unpin>(
    io: &mut BufReader<S>,
    budget: &mut Budget,
    shutdown: &mut watch::Receiver<bool>,
) -> std::io::Result<Result<Vec<u8>, ReadEnd>> {
    if *shutdown.borrow() {
        return Ok(Err(ReadEnd::Shutdown));
    }
    if Instant::now() >= budget.deadline {
        return Ok(Err(ReadEnd::OverBudget));
    }
    let mut line = Vec::new();
    let deadline = budget.read_deadline();
    let mut bounded = (&mut *io).take(MAX_COMMAND_LINE as u64 + 1);
    let read = tokio::select! {
        read = tokio::time::timeout_at(deadline, bounded.read_until(b'\n', &mut line)) => read,
        () = until_shutdown(shutdown) => return Ok(Err(ReadEnd::Shutdown)),
    };
    let read = match read {
        Ok(read) => read?,
        Err(_) if deadline >= budget.deadline => return Ok(Err(ReadEnd::OverBudget)),
        Err(_) => return Err(std::io::Error::other("timed out")),
    };
    if read == 0 {
        return Ok(Err(ReadEnd::Closed));
    }
    if !budget.spend_bytes(read) {
        return Ok(Err(ReadEnd::OverBudget));
    }
    Ok(Ok(line))
}

/// Resolves once shutdown is asked for; never when nobody can ask any more.
async fn until_shutdown(shutdown: &mut watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        if shutdown.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

enum Data {
    Message(Vec<u8>),
    TooLarge,
    Violation(crate::FramingViolation),
    OverBudget,
}

/// The message after DATA, read by the strict [`DataReader`]. Too large messages are
/// read to their end and dropped, so the session can go on; a violation stops reading
/// at once.
async fn read_data<S: AsyncRead + Unpin>(
    io: &mut BufReader<S>,
    max: usize,
    budget: &mut Budget,
) -> std::io::Result<Data> {
    let mut reader = DataReader::new(max);
    loop {
        let deadline = budget.read_deadline();
        let chunk = match tokio::time::timeout_at(deadline, io.fill_buf()).await {
            Ok(chunk) => chunk?,
            Err(_) if deadline >= budget.deadline => return Ok(Data::OverBudget),
            Err(_) => return Err(std::io::Error::other("timed out")),
        };
        if chunk.is_empty() {
            return Err(std::io::Error::other("connection closed during DATA"));
        }
        let (used, progress) = reader.feed(chunk);
        io.consume(used);
        if !budget.spend_bytes(used) {
            return Ok(Data::OverBudget);
        }
        match progress {
            DataProgress::More => {}
            DataProgress::Done => {
                return Ok(match reader.into_message() {
                    Some(raw) => Data::Message(raw),
                    None => Data::TooLarge,
                });
            }
            DataProgress::Violation(why) => return Ok(Data::Violation(why)),
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
