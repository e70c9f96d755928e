//! A small SMTP client for handing mail to the relay. STARTTLS is required unless the
//! operator chose plain delivery to a relay on loopback; a relay that stops offering
//! STARTTLS (a downgrade) gets nothing. Replies are read with bounded lines and time.

use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
use tokio::net::TcpStream;

use crate::{MailError, RelaySettings, RelayTls};

const STEP_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_REPLY_LINES: usize = 64;
const MAX_LINE: usize = 2048;

fn temporary(what: impl std::fmt::Display) -> MailError {
    MailError::Temporary(what.to_string())
}

/// One SMTP transaction: `from` as the envelope sender, one recipient, `data` as the
/// message (CRLF line endings).
pub(crate) async fn deliver(
    relay: &RelaySettings,
    tls: &tokio_rustls::TlsConnector,
    from: &str,
    to: &str,
    data: &[u8],
) -> Result<(), MailError> {
    let tcp = tokio::time::timeout(
        STEP_TIMEOUT,
        TcpStream::connect((relay.host.as_str(), relay.port)),
    )
    .await
    .map_err(|_| temporary("connecting to the relay timed out"))?
    .map_err(|e| temporary(format!("connecting to the relay: {e}")))?;
    let mut plain = BufReader::new(tcp);
    expect(&mut plain, 220, "greeting").await?;
    let extensions = ehlo(&mut plain, &relay.helo_name).await?;
    match relay.tls {
        RelayTls::None => transaction(&mut plain, from, to, data).await,
        RelayTls::StartTls => {
            if !extensions.iter().any(|e| e.eq_ignore_ascii_case("STARTTLS")) {
                return Err(temporary(
                    "the relay does not offer STARTTLS; not sending in clear",
                ));
            }
            command(&mut plain, "STARTTLS", 220).await?;
            // Anything already buffered arrived before TLS and could be injected by a
            // man in the middle as if it came through the encrypted channel.
            if !plain.buffer().is_empty() {
                return Err(temporary("the relay sent data before the TLS handshake"));
            }
            let name = ServerName::try_from(relay.host.clone())
                .map_err(|e| MailError::Config(format!("relay host name: {e}")))?;
            let stream = tokio::time::timeout(STEP_TIMEOUT, tls.connect(name, plain.into_inner()))
                .await
                .map_err(|_| temporary("TLS handshake with the relay timed out"))?
                .map_err(|e| temporary(format!("TLS with the relay: {e}")))?;
            let mut secure = BufReader::new(stream);
            ehlo(&mut secure, &relay.helo_name).await?;
            transaction(&mut secure, from, to, data).await
        }
    }
}

async fn transaction<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    from: &str,
    to: &str,
    data: &[u8],
) -> Result<(), MailError> {
    command(io, &format!("MAIL FROM:<{from}>"), 250).await?;
    command(io, &format!("RCPT TO:<{to}>"), 250).await?;
    command(io, "DATA", 354).await?;
    let mut body = Vec::with_capacity(data.len() + 64);
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            body.push(b'.');
        }
        body.extend_from_slice(line);
    }
    if !body.ends_with(b"\r\n") {
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b".\r\n");
    write(io, &body).await?;
    expect(io, 250, "end of data").await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = write(io, b"QUIT\r\n").await;
    Ok(())
}

async fn ehlo<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    name: &str,
) -> Result<Vec<String>, MailError> {
    write(io, format!("EHLO {name}\r\n").as_bytes()).await?;
    let (code, lines) = reply(io).await?;
    check(code, 250, "EHLO", &lines)?;
    Ok(lines
        .iter()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect())
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    line: &str,
    want: u16,
) -> Result<(), MailError> {
    write(io, format!("{line}\r\n").as_bytes()).await?;
    let verb = line.split([' ', ':']).next().unwrap_or(line);
    let (code, lines) = reply(io).await?;
    check(code, want, verb, &lines)
}

async fn expect<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    want: u16,
    what: &str,
) -> Result<(), MailError> {
    let (code, lines) = reply(io).await?;
    check(code, want, what, &lines)
}

fn check(code: u16, want: u16, what: &str, lines: &[String]) -> Result<(), MailError> {
    if code == want {
        return Ok(());
    }
    let text = format!("{what}: relay answered {code} {}", lines.join(" / "));
    if (500..600).contains(&code) {
        Err(MailError::Permanent(text))
    } else {
        Err(MailError::Temporary(text))
    }
}

async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    bytes: &[u8],
) -> Result<(), MailError> {
    tokio::time::timeout(STEP_TIMEOUT, async {
        io.get_mut().write_all(bytes).await?;
        io.get_mut().flush().await
    })
    .await
    .map_err(|_| temporary("writing to the relay timed out"))?
    .map_err(|e| temporary(format!("writing to the relay: {e}")))
}

/// A (possibly multi-line) reply: its code and the text of each line.
async fn reply<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
) -> Result<(u16, Vec<String>), MailError> {
    let mut lines = Vec::new();
    loop {
        let mut raw = Vec::new();
        let read = tokio::time::timeout(
            STEP_TIMEOUT,
            (&mut *io).take(MAX_LINE as u64).read_until(b'\n', &mut raw),
        )
        .await
        .map_err(|_| temporary("the relay did not answer in time"))?
        .map_err(|e| temporary(format!("reading from the relay: {e}")))?;
        if read == 0 || !raw.ends_with(b"\n") {
            return Err(temporary(
                "the relay closed the connection or sent an overlong line",
            ));
        }
        let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| temporary(format!("malformed reply from the relay: {line:?}")))?;
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line.get(4..).unwrap_or_default().to_owned());
        if last {
            return Ok((code, lines));
        }
        if lines.len() >= MAX_REPLY_LINES {
            return Err(temporary("the relay's reply is too long"));
        }
    }
}
