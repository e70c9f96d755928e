//! IMAP intake, for teams whose support address lives at a hosted provider: Palisade
//! signs in to the mailbox over TLS with a verified certificate, takes each message it
//! has not taken yet through the same reception as SMTP (strict reading, limits,
//! placement, quarantine), and only once that has durably placed or finally refused
//! the message marks it with the keyword [`TAKEN`] on the server. A connection lost
//! in between leaves the message unmarked, so the next round takes it again — and the
//! reception recognises it by its `Message-ID` and does not place it twice.
//!
//! Palisade never saw the sender's connection, so the sender verdict is the provider's
//! own `Authentication-Results`, believed only as [`crate::provider_verdict`] says.

mod client;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use palisade_core::{EmailAddress, SecretString};
use tokio::net::TcpStream;

pub use client::{Credentials, ImapError, Session};

use crate::{Arrival, MailError, ProviderTrust, Reception, Recipient, Threading};

/// How long one IDLE lasts before it is renewed (servers end them after 30 minutes).
const IDLE_RENEWAL: Duration = Duration::from_secs(25 * 60);

/// The keyword a message gets once it is taken (placed, held or refused for good).
pub const TAKEN: &str = "$PalisadeTaken";

/// How Palisade signs in to a mailbox.
#[derive(Clone, Debug)]
pub enum ImapAuth {
    Password {
        user: String,
        password: SecretString,
    },
    /// XOAUTH2 with the access token in this file, read at every connection (a
    /// token refresher the operator runs keeps it current).
    XOAuth2 {
        user: String,
        token_file: PathBuf,
    },
}

/// One hosted mailbox to take mail from.
#[derive(Clone, Debug)]
pub struct ImapMailbox {
    /// The server's name (its certificate must be valid for it) and port (993: TLS
    /// from the first byte).
    pub host: String,
    pub port: u16,
    pub auth: ImapAuth,
    pub folder: String,
    /// The support address this mailbox receives for (one of `[[mailbox]]`).
    pub mailbox: EmailAddress,
    /// Whose `Authentication-Results` and ARC seals are believed.
    pub trust: ProviderTrust,
    /// An extra CA to trust for this server, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// How often to look for new mail.
    pub poll: Duration,
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImapRound {
    /// Placed or held (and marked taken).
    pub taken: usize,
    /// Refused for good by the reception (and marked taken, so never fetched again).
    pub refused: usize,
    /// Left for the next round (a temporary failure).
    pub deferred: usize,
}

pub struct ImapIntake {
    mailbox: ImapMailbox,
    reception: Arc<Reception>,
    threading: Arc<Threading>,
    tls: tokio_rustls::TlsConnector,
    max_message_bytes: usize,
}

impl ImapIntake {
    pub fn new(
        mailbox: ImapMailbox,
        reception: Arc<Reception>,
        threading: Arc<Threading>,
        max_message_bytes: usize,
    ) -> Result<Self, MailError> {
        let tls = crate::tls::verified_connector(mailbox.ca_file.as_deref())?;
        Ok(Self {
            mailbox,
            reception,
            threading,
            tls,
            max_message_bytes,
        })
    }

    /// One round: sign in, take every message not yet taken, sign out.
    pub async fn poll_once(&self) -> Result<ImapRound, MailError> {
        let mut session = self.connect().await?;
        session.select(&self.mailbox.folder).await.map_err(temporary)?;
        let round = self.take_new(&mut session).await?;
        session.logout().await;
        Ok(round)
    }

    /// One connection's life: take what is there, then, where the server offers IDLE,
    /// wait on it for new mail and take that, for as long as the connection lasts;
    /// without IDLE, one round.
    async fn session_rounds(&self) -> Result<(), MailError> {
        let mut session = self.connect().await?;
        session.select(&self.mailbox.folder).await.map_err(temporary)?;
        let idle = session.supports("IDLE").await.map_err(temporary)?;
        loop {
            let round = self.take_new(&mut session).await?;
            if round.taken + round.refused > 0 {
                tracing::info!(mailbox = %self.mailbox.mailbox.as_str(), ?round, "took mail by IMAP");
            }
            if !idle {
                session.logout().await;
                return Ok(());
            }
            // Servers end an IDLE after 30 minutes; renew it before that.
            session.idle(IDLE_RENEWAL).await.map_err(temporary)?;
        }
    }

    async fn take_new<S>(&self, session: &mut Session<S>) -> Result<ImapRound, MailError>
    where
        S: tokio::io::AsyncBufRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut round = ImapRound::default();
        for uid in session.uids_without(TAKEN).await.map_err(temporary)? {
            let Some(raw) = session.fetch(uid).await.map_err(temporary)? else {
                continue;
            };
            let arrival = Arrival {
                client_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                helo: format!("imap:{}", self.mailbox.host),
                mail_from: None,
                recipient: self.recipient_of(&raw).await,
            };
            let reply = self
                .reception
                .receive_fetched(arrival, raw, &self.mailbox.trust)
                .await;
            if reply.is_temporary() {
                round.deferred += 1;
                continue;
            }
            // Placed, held, or refused for good: either way it is done with, and marked
            // only now that it is durably so.
            session.mark(uid, TAKEN).await.map_err(temporary)?;
            if reply.is_accepted() {
                round.taken += 1;
            } else {
                tracing::info!(uid, code = reply.code, "a fetched message was refused");
                round.refused += 1;
            }
        }
        Ok(round)
    }

    /// Takes mail until `shutdown` resolves: waiting on IDLE where the server offers
    /// it, otherwise a round every `poll`; after a failure (logged) the next attempt
    /// comes after `poll`.
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                result = self.session_rounds() => {
                    if let Err(e) = result {
                        tracing::warn!(mailbox = %self.mailbox.mailbox.as_str(), error = %e, "IMAP round failed");
                    }
                }
                _ = shutdown.changed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(self.mailbox.poll) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// A capability reply address the message was sent to (its own `Delivered-To`,
    /// `To` or `Cc`: the token, not the header, is what grants anything), or the
    /// support mailbox itself.
    async fn recipient_of(&self, raw: &[u8]) -> Recipient {
        if let Ok(message) = crate::read_message(raw) {
            for field in ["Delivered-To", "To", "Cc"] {
                for value in message.values(field) {
                    for candidate in value.split(',').filter_map(address_in) {
                        if let Ok(recipient @ Recipient::Reply { .. }) =
                            self.threading.recipient(&candidate).await
                        {
                            return recipient;
                        }
                    }
                }
            }
        }
        Recipient::Mailbox(self.mailbox.mailbox.clone())
    }

    async fn connect(
        &self,
    ) -> Result<Session<tokio::io::BufReader<tokio_rustls::client::TlsStream<TcpStream>>>, MailError> {
        let name = rustls::pki_types::ServerName::try_from(self.mailbox.host.clone()).map_err(|_| {
            MailError::Config(format!("IMAP host {:?} is not a server name", self.mailbox.host))
        })?;
        let connecting = async {
            let tcp = TcpStream::connect((self.mailbox.host.as_str(), self.mailbox.port)).await?;
            self.tls.connect(name, tcp).await
        };
        let tls = tokio::time::timeout(Duration::from_secs(30), connecting)
            .await
            .map_err(|_| MailError::Temporary(format!("IMAP {}: connection timed out", self.mailbox.host)))?
            .map_err(|e| MailError::Temporary(format!("IMAP {}: {e}", self.mailbox.host)))?;
        let token;
        let credentials = match &self.mailbox.auth {
            ImapAuth::Password { user, password } => Credentials::Password {
                user,
                password: password.expose(),
            },
            ImapAuth::XOAuth2 { user, token_file } => {
                token = std::fs::read_to_string(token_file).map_err(|e| {
                    MailError::Config(format!("XOAUTH2 token file {}: {e}", token_file.display()))
                })?;
                Credentials::XOAuth2 {
                    user,
                    token: token.trim(),
                }
            }
        };
        Session::sign_in(
            tokio::io::BufReader::new(tls),
            &credentials,
            self.max_message_bytes,
        )
        .await
        .map_err(temporary)
    }
}

fn temporary(e: ImapError) -> MailError {
    MailError::Temporary(format!("IMAP: {e}"))
}

/// The address in one list entry: `Name <a@b>` or a bare `a@b`.
fn address_in(entry: &str) -> Option<EmailAddress> {
    let entry = entry.trim();
    let inner = match (entry.rfind('<'), entry.rfind('>')) {
        (Some(open), Some(close)) if open < close => &entry[open + 1..close],
        _ => entry,
    };
    EmailAddress::parse(inner.trim()).ok()
}
