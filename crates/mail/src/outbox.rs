//! The outbox worker: claims due messages (a lease, so one node sends each), composes
//! them, hands them to the relay and records the outcome. Temporary failures are
//! retried with exponential back-off; permanent ones, and messages that keep failing,
//! are given up and their content wiped. A crash between the relay's 250 and the
//! "sent" mark means the message is sent again once its lease expires: delivery is at
//! least once, never silently lost.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use palisade_core::{EmailAddress, OutgoingMail};
use palisade_store::Store;

use crate::{MailError, compose, smtp_client};

/// How the relay connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayTls {
    /// STARTTLS, certificate verified; refused if the relay does not offer it.
    StartTls,
    /// Plain SMTP: only for a relay on loopback (a local MTA).
    None,
}

#[derive(Clone, Debug)]
pub struct RelaySettings {
    pub host: String,
    pub port: u16,
    pub tls: RelayTls,
    /// Extra CA certificates (PEM) to trust for the relay.
    pub ca_file: Option<PathBuf>,
    /// The name Palisade gives in EHLO.
    pub helo_name: String,
    /// The sender of everything Palisade sends.
    pub from: EmailAddress,
    pub from_name: String,
    /// Sign outbound mail with DKIM (strongly recommended: it is what lets receivers
    /// tell Palisade's mail from forgeries of the organisation's domain).
    pub dkim: Option<crate::DkimSettings>,
}

impl RelaySettings {
    pub fn validate(&self) -> Result<(), MailError> {
        let loopback = self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.tls == RelayTls::None && !loopback {
            return Err(MailError::Config(
                "plain SMTP is only allowed to a relay on loopback; use STARTTLS".into(),
            ));
        }
        if self.helo_name.is_empty()
            || self
                .helo_name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(MailError::Config("the EHLO name must be a host name".into()));
        }
        // The envelope sender is `<local>+b<token>@domain` (VERP), which must stay a
        // valid address.
        crate::threading::tokened_address(
            &self.from,
            crate::threading::BOUNCE_MARKER,
            &"a".repeat(palisade_crypto::CAPABILITY_TOKEN_CHARS),
        )?;
        if let Some(dkim) = &self.dkim {
            dkim.validate()?;
            if !crate::aligned(&dkim.domain, self.from.domain()) {
                return Err(MailError::Config(format!(
                    "the DKIM domain {} does not align with the sender {}",
                    dkim.domain,
                    self.from.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// Attempts before a message is given up; with the back-off below that is about six
/// hours of trying.
const MAX_ATTEMPTS: i64 = 10;
const LEASE_SECS: i64 = 5 * 60;
const POLL_INTERVAL: Duration = Duration::from_secs(5);

fn retry_delay_secs(attempts: i64) -> i64 {
    let exponent = u32::try_from(attempts.clamp(1, 7) - 1).unwrap_or(0);
    (60_i64 * 2_i64.pow(exponent)).min(3600)
}

#[derive(Clone)]
pub struct OutboxWorker {
    store: Store,
    relay: Arc<RelaySettings>,
    tls: tokio_rustls::TlsConnector,
    name: String,
    /// The key version bounce tokens are minted with (see `ReplyKeys`).
    key_version: u8,
}

impl OutboxWorker {
    pub fn new(store: Store, relay: RelaySettings) -> Result<Self, MailError> {
        relay.validate()?;
        let tls = crate::tls::verified_connector(relay.ca_file.as_deref())?;
        let suffix = palisade_crypto::random_bytes::<6>().map_err(|e| MailError::Config(e.to_string()))?;
        Ok(Self {
            store,
            relay: Arc::new(relay),
            tls,
            name: format!("outbox-{}", hex::encode(suffix)),
            key_version: crate::ReplyKeys::default().current,
        })
    }

    /// Mints bounce tokens with `keys.current` (rotation: see `ReplyKeys`).
    pub fn with_keys(mut self, keys: &crate::ReplyKeys) -> Self {
        self.key_version = keys.current;
        self
    }

    /// Runs until the task is dropped: drains what is due, then waits a little.
    /// Sends what is due until `stopping`; a message being sent when it comes is
    /// finished (or failed back to the queue), then the worker gives back any claim it
    /// still holds, so another node sends it at once rather than when the lease lapses.
    pub async fn run(self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stopping.borrow() {
                break;
            }
            if let Err(e) = self.drain_until(Some(&stopping)).await {
                tracing::warn!(error = %e, "outbox worker: store unavailable; retrying");
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = stopping.changed() => {}
            }
        }
        match self.store.release_mail_claims(&self.name).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "outbox claims given back"),
            Err(e) => tracing::warn!(error = %e, "giving back outbox claims failed; they lapse on their own"),
        }
    }

    /// Handles every message that is due now; returns how many were sent.
    pub async fn drain(&self) -> Result<usize, MailError> {
        self.drain_until(None).await
    }

    async fn drain_until(
        &self,
        stopping: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> Result<usize, MailError> {
        let mut sent = 0;
        while !stopping.is_some_and(|s| *s.borrow())
            && let Some(claimed) = self.store.claim_mail(&self.name, LEASE_SECS).await?
        {
            match self.send(&claimed.envelope, &claimed.bounce_id).await {
                Ok(()) => {
                    if self.store.mail_sent(&claimed.id, &self.name).await? {
                        sent += 1;
                    }
                    tracing::info!(id = %claimed.id, kind = %claimed.kind, "mail sent");
                }
                Err(MailError::Temporary(why)) if claimed.attempts < MAX_ATTEMPTS => {
                    let delay = retry_delay_secs(claimed.attempts);
                    tracing::warn!(id = %claimed.id, error = %why, retry_in_secs = delay, "mail delivery deferred");
                    self.store
                        .mail_failed(&claimed.id, &self.name, &why, Some(delay))
                        .await?;
                }
                Err(e) => {
                    tracing::error!(id = %claimed.id, error = %e, "mail given up");
                    self.store
                        .mail_failed(&claimed.id, &self.name, &e.to_string(), None)
                        .await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send(
        &self,
        envelope: &[u8],
        bounce_id: &[u8; palisade_store::BOUNCE_ID_LEN],
    ) -> Result<(), MailError> {
        let mail: OutgoingMail = serde_json::from_slice(envelope)
            .map_err(|e| MailError::Permanent(format!("unreadable envelope: {e}")))?;
        let mut data = compose(&mail, &self.relay.from, &self.relay.from_name)?;
        if let Some(dkim) = &self.relay.dkim {
            data = dkim.sign(&data)?;
        }
        let envelope_sender = crate::threading::bounce_address(
            self.store.keys().capabilities(),
            &self.relay.from,
            self.key_version,
            bounce_id,
        )?;
        smtp_client::deliver(&self.relay, &self.tls, envelope_sender.as_str(), &mail.to, &data).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_a_minute_to_an_hour() {
        assert_eq!(retry_delay_secs(1), 60);
        assert_eq!(retry_delay_secs(2), 120);
        assert_eq!(retry_delay_secs(6), 1920);
        assert_eq!(retry_delay_secs(7), 3600);
        assert_eq!(retry_delay_secs(50), 3600);
    }
}
