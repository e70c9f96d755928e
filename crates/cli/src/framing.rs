//! Strict HTTP/1 framing in front of hyper. hyper's parser (httparse) takes a bare LF
//! as a line end, as RFC 9112 allows a recipient to; a proxy in front of Palisade that
//! does not would read the same bytes as different requests (request smuggling). This
//! guard follows the request stream after TLS — heads, then bodies by
//! `Content-Length` or chunked encoding — and ends the connection at the first line of
//! a head, a chunk size or a trailer that does not end in CR LF. The scanner is pure;
//! [`Guarded`] wraps a connection with it and [`GuardedAcceptor`] every accepted one.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Heads larger than this are hyper's to refuse; the guard stops buffering them.
const MAX_HEAD: usize = 512 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    /// The CR LF after a chunk's data: how many of its two bytes were seen.
    ChunkEnd(u8),
    Trailers,
}

/// Why a connection was ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingViolation {
    /// A line ended in LF without CR.
    BareLf,
    /// A chunk's data was not followed by CR LF, or its size was not hex.
    BadChunk,
}

/// Follows one connection's request bytes.
#[derive(Debug)]
pub struct Scanner {
    state: State,
    /// The current head (or chunk-size or trailer line), to find where it ends.
    line: Vec<u8>,
    failed: Option<FramingViolation>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            state: State::Head,
            line: Vec::new(),
            failed: None,
        }
    }
}

impl Scanner {
    /// Takes the next bytes of the request stream.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), FramingViolation> {
        if let Some(why) = self.failed {
            return Err(why);
        }
        let mut at = 0;
        while at < bytes.len() {
            match self.state {
                State::Body(left) | State::ChunkData(left) => {
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(bytes.len() - at);
                    at += take;
                    let left = left - take as u64;
                    self.state = match (self.state, left) {
                        (State::Body(_), 0) => State::Head,
                        (State::Body(_), n) => State::Body(n),
                        (_, 0) => State::ChunkEnd(0),
                        (_, n) => State::ChunkData(n),
                    };
                }
                State::ChunkEnd(seen) => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if bytes[at] != expected {
                        return self.fail(FramingViolation::BadChunk);
                    }
                    at += 1;
                    self.state = if seen == 0 {
                        State::ChunkEnd(1)
                    } else {
                        State::ChunkSize
                    };
                }
                State::Head | State::ChunkSize | State::Trailers => {
                    let byte = bytes[at];
                    at += 1;
                    if byte == b'\n' && self.line.last() != Some(&b'\r') {
                        return self.fail(FramingViolation::BareLf);
                    }
                    if self.line.len() < MAX_HEAD {
                        self.line.push(byte);
                    }
                    if byte == b'\n' {
                        self.line_ended()?;
                    }
                }
            }
        }
        Ok(())
    }

    fn fail(&mut self, why: FramingViolation) -> Result<(), FramingViolation> {
        self.failed = Some(why);
        Err(why)
    }

    /// A line (CR LF included) of the head, a chunk size or the trailers ended.
    fn line_ended(&mut self) -> Result<(), FramingViolation> {
        match self.state {
            State::Head => {
                // Empty lines before a request line are skipped, as RFC 9112 allows.
                if self.line == b"\r\n" {
                    self.line.clear();
                    return Ok(());
                }
                if self.line.ends_with(b"\r\n\r\n") {
                    self.state = body_of(&self.line);
                    self.line.clear();
                }
            }
            State::ChunkSize => {
                let line = std::mem::take(&mut self.line);
                let text = std::str::from_utf8(&line[..line.len() - 2]).unwrap_or("");
                let size = text.split(';').next().unwrap_or("").trim();
                let Ok(size) = u64::from_str_radix(size, 16) else {
                    return self.fail(FramingViolation::BadChunk);
                };
                self.state = if size == 0 {
                    State::Trailers
                } else {
                    State::ChunkData(size)
                };
            }
            State::Trailers => {
                if self.line == b"\r\n" {
                    self.state = State::Head;
                }
                self.line.clear();
            }
            State::Body(_) | State::ChunkData(_) | State::ChunkEnd(_) => {}
        }
        Ok(())
    }
}

/// What follows a request head: a chunked body, `Content-Length` bytes, or the next
/// request.
fn body_of(head: &[u8]) -> State {
    let text = String::from_utf8_lossy(head);
    let mut length = 0u64;
    for line in text.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("transfer-encoding")
            && value.trim().to_ascii_lowercase().ends_with("chunked")
        {
            return State::ChunkSize;
        }
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    if length > 0 {
        State::Body(length)
    } else {
        State::Head
    }
}

/// A connection whose request bytes go through a [`Scanner`] before hyper reads them.
pub struct Guarded<S> {
    inner: S,
    scanner: Scanner,
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => match this.scanner.feed(&buf.filled()[before..]) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(why) => {
                    tracing::info!(?why, "HTTP/1 framing violation; connection closed");
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "HTTP/1 framing violation",
                    )))
                }
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Wraps every connection another acceptor (TLS) produces in a [`Guarded`].
#[derive(Clone, Debug)]
pub struct GuardedAcceptor<A>(pub A);

impl<A, I, S> axum_server::accept::Accept<I, S> for GuardedAcceptor<A>
where
    A: axum_server::accept::Accept<I, S>,
    A::Future: Send + 'static,
{
    type Stream = Guarded<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let inner = self.0.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = inner.await?;
            Ok((
                Guarded {
                    inner: stream,
                    scanner: Scanner::default(),
                },
                service,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(parts: &[&[u8]]) -> Result<(), FramingViolation> {
        let mut scanner = Scanner::default();
        for part in parts {
            scanner.feed(part)?;
        }
        Ok(())
    }

    #[test]
    fn genuine_requests_pass_split_anywhere() {
        let stream: &[u8] = b"\r\nPOST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe\nlo\
            GET /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\na\nb\r\n0\r\nT: 1\r\n\r\n\
            GET /c HTTP/1.1\r\nHost: x\r\n\r\n";
        for split in 0..stream.len() {
            assert_eq!(
                scan(&[&stream[..split], &stream[split..]]),
                Ok(()),
                "split at {split}"
            );
        }
    }

    #[test]
    fn bare_line_feeds_in_heads_chunk_sizes_and_trailers_end_the_connection() {
        for (stream, why) in [
            (&b"GET / HTTP/1.1\nHost: x\r\n\r\n"[..], FramingViolation::BareLf),
            (b"GET / HTTP/1.1\r\nHost: x\n\r\n", FramingViolation::BareLf),
            (b"GET / HTTP/1.1\r\nHost: x\r\n\n", FramingViolation::BareLf),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
                FramingViolation::BareLf,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
                FramingViolation::BadChunk,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                FramingViolation::BadChunk,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\n\r\n",
                FramingViolation::BareLf,
            ),
            // The body is skipped by its length; the next head is checked again.
            (
                b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET / HTTP/1.1\nHost: x\r\n\r\n",
                FramingViolation::BareLf,
            ),
        ] {
            assert_eq!(scan(&[stream]), Err(why), "{:?}", String::from_utf8_lossy(stream));
        }
    }
}
