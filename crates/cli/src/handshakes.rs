//! How many new TLS connections the HTTPS listener handshakes per second. A handshake
//! costs the server a key exchange and a signature; the flood benchmark
//! (`bench/flood.sh`: sign-ins and password resets from 5,000 addresses, a new
//! connection each) had handshakes take 28 % of the machine at 1,400 a second, on the
//! same threads that serve agents' requests on their established connections. So new
//! connections are admitted at a bounded rate (`[limits] tls_handshakes_per_second`,
//! with a second's worth as burst): beyond it they wait in line, at most
//! [`MAX_WAITING`] of them for at most [`MAX_WAIT`], and the rest are closed before any
//! TLS work. Connections already open keep their turn. A genuine visitor opening a
//! connection during a flood waits in the same line; browsers keep theirs open, so an
//! agent at work rarely needs a new one.

use std::future::Future;
use std::io;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::Semaphore;

/// The default rate: far above a desk's new connections (browsers and API clients
/// keep theirs open), about a twentieth of what one core can handshake.
pub const DEFAULT_HANDSHAKES_PER_SECOND: u32 = 200;

/// Connections waiting for their handshake beyond this are closed at once.
pub const MAX_WAITING: usize = 512;

/// A connection still waiting after this long is closed.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// Admits new connections to their handshake at a bounded rate.
#[derive(Debug)]
pub struct HandshakeAdmission {
    rate: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    clock: DefaultClock,
    waiting: Semaphore,
}

impl HandshakeAdmission {
    pub fn new(per_second: u32) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let clock = DefaultClock::default();
        Self {
            rate: RateLimiter::direct_with_clock(Quota::per_second(per_second), clock.clone()),
            clock,
            waiting: Semaphore::new(MAX_WAITING),
        }
    }

    /// Waits for this connection's turn; an error when the line is full or the wait
    /// too long (the connection is then closed without a handshake).
    pub async fn admit(&self) -> io::Result<()> {
        if self.rate.check().is_ok() {
            return Ok(());
        }
        let Ok(_place) = self.waiting.try_acquire() else {
            return Err(refused("too many connections waiting for a handshake"));
        };
        let waited = tokio::time::timeout(MAX_WAIT, async {
            while let Err(not_until) = self.rate.check() {
                tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
            }
        })
        .await;
        waited.map_err(|_| refused("waited too long for a handshake"))
    }
}

fn refused(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, why)
}

/// Admits every accepted connection through a [`HandshakeAdmission`] before the
/// acceptor it wraps (TLS) sees it.
#[derive(Clone, Debug)]
pub struct AdmittedAcceptor<A> {
    pub inner: A,
    pub admission: Arc<HandshakeAdmission>,
}

impl<A, I, S> axum_server::accept::Accept<I, S> for AdmittedAcceptor<A>
where
    A: axum_server::accept::Accept<I, S> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    I: Send + 'static,
    S: Send + 'static,
{
    type Stream = A::Stream;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let inner = self.inner.clone();
        let admission = self.admission.clone();
        Box::pin(async move {
            admission.admit().await?;
            inner.accept(stream, service).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn a_seconds_worth_passes_at_once_and_the_next_waits_its_turn() {
        let admission = HandshakeAdmission::new(20);
        let started = Instant::now();
        for _ in 0..20 {
            admission.admit().await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_millis(40),
            "the burst does not wait"
        );
        admission.admit().await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(40),
            "the 21st waits about a twentieth of a second"
        );
    }

    #[tokio::test]
    async fn beyond_the_waiting_line_connections_are_refused_at_once() {
        let admission = Arc::new(HandshakeAdmission::new(1));
        admission.admit().await.unwrap();
        let mut waiting = Vec::new();
        for _ in 0..MAX_WAITING {
            let admission = admission.clone();
            waiting.push(tokio::spawn(async move { admission.admit().await }));
        }
        // Every waiter has taken its place once the line is full.
        while admission.waiting.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let started = Instant::now();
        let refused = admission.admit().await.unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        assert!(started.elapsed() < Duration::from_millis(100));
        for task in waiting {
            task.abort();
        }
    }
}
