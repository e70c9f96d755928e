//! What happens to a message once its envelope is known and its data read, whichever
//! way it arrived (the SMTP listener, or `palisade ingest` behind an existing MTA): the
//! strict reading, the sender verdict, the refusal of mail that claims the
//! organisation's own domains without authenticating, and the durable hand-over. One
//! path, so the two entry points cannot drift apart.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use palisade_core::EmailAddress;
use palisade_store::BOUNCE_ID_LEN;

use crate::files::{FileLimits, files_of};
use crate::{
    Envelope, MailError, ProviderTrust, Recipient, SenderVerifier, StrictMessage, Verdict, aligned,
    check_line_endings, read_message,
};

/// A message that passed every check, handed over for durable storage.
pub struct Accepted {
    pub client_ip: IpAddr,
    pub helo: String,
    pub mail_from: Option<EmailAddress>,
    pub recipient: Recipient,
    pub raw: Vec<u8>,
    pub message: StrictMessage,
    pub verdict: Verdict,
    /// Its attachments and inline images, within the limits.
    pub files: Vec<palisade_service::MailFile>,
}

pub type DeliverFuture = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send>>;

/// Takes an accepted message; only when this returns `Ok` does the client get 250.
pub type Deliver = Arc<dyn Fn(Accepted) -> DeliverFuture + Send + Sync>;

/// Records a bounce for the outbox row with this id; `Ok` means it was taken.
pub type RecordBounce = Arc<dyn Fn([u8; BOUNCE_ID_LEN]) -> DeliverFuture + Send + Sync>;

/// The answer for the sending side, as an SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    fn new(code: u16, text: impl Into<String>) -> Self {
        Self {
            code,
            text: text.into(),
        }
    }

    pub fn is_accepted(&self) -> bool {
        self.code == 250
    }

    /// 4xx: the sender should try again later.
    pub fn is_temporary(&self) -> bool {
        (400..500).contains(&self.code)
    }
}

/// The facts about one arrival besides its data.
pub struct Arrival {
    pub client_ip: IpAddr,
    pub helo: String,
    /// `None` for the null sender `<>`.
    pub mail_from: Option<EmailAddress>,
    pub recipient: Recipient,
}

pub struct Reception {
    verifier: Arc<SenderVerifier>,
    deliver: Deliver,
    bounces: Option<RecordBounce>,
    own_domains: Vec<String>,
    file_limits: FileLimits,
}

impl Reception {
    pub fn new(verifier: Arc<SenderVerifier>, deliver: Deliver) -> Self {
        Self {
            verifier,
            deliver,
            bounces: None,
            own_domains: Vec::new(),
            file_limits: FileLimits::default(),
        }
    }

    /// How many files a message may carry, and how large each may be.
    pub fn with_file_limits(mut self, limits: FileLimits) -> Self {
        self.file_limits = limits;
        self
    }

    /// The organisation's own domains: mail claiming one of them (or a subdomain) in
    /// `From` or `MAIL FROM` that does not authenticate is refused, not quarantined.
    pub fn with_own_domains(mut self, domains: Vec<String>) -> Self {
        self.own_domains = domains.into_iter().map(|d| d.to_ascii_lowercase()).collect();
        self
    }

    pub fn with_bounces(mut self, record: RecordBounce) -> Self {
        self.bounces = Some(record);
        self
    }

    fn is_own(&self, domain: &str) -> bool {
        self.own_domains.iter().any(|own| aligned(own, domain))
    }

    /// Everything after the data was read. Refusals come before anything is stored; a
    /// 250 only after the message was durably taken.
    pub async fn receive(&self, arrival: Arrival, raw: Vec<u8>) -> Reply {
        self.admit(arrival, raw, None).await
    }

    /// As [`Reception::receive`], for mail fetched from a hosted mailbox: the verdict
    /// comes from its provider's `Authentication-Results` ([`crate::provider_verdict`])
    /// or, failing an aligned pass there, from the ARC seals of the sealers the
    /// operator named for that mailbox — never from checks of a connection Palisade
    /// never saw.
    pub async fn receive_fetched(&self, arrival: Arrival, raw: Vec<u8>, provider: &ProviderTrust) -> Reply {
        self.admit(arrival, raw, Some(provider)).await
    }

    async fn admit(&self, arrival: Arrival, raw: Vec<u8>, provider: Option<&ProviderTrust>) -> Reply {
        if let Recipient::Bounce { bounce_id } = arrival.recipient {
            return self.bounce(bounce_id, arrival.mail_from.is_none(), &raw).await;
        }
        let message = match read_message(&raw) {
            Ok(m) => m,
            Err(rejection) => return Reply::new(550, rejection.reply()),
        };
        // Over the limits, the whole message is refused: never kept with files missing.
        let files = match files_of(&raw, &self.file_limits) {
            Ok(files) => files,
            Err(rejection) => return Reply::new(rejection.code(), rejection.reply(&self.file_limits)),
        };
        let envelope = Envelope {
            client_ip: arrival.client_ip,
            helo: &arrival.helo,
            mail_from: arrival.mail_from.as_ref(),
        };
        let verdict = match provider {
            Some(provider) => match crate::provider_verdict(&message, &provider.authserv_id) {
                Verdict::Unauthenticated(findings) if !provider.arc_sealers.is_empty() => {
                    match self
                        .verifier
                        .fetched_arc(&raw, &message.from, &provider.arc_sealers)
                        .await
                    {
                        Ok(Some(method)) => Verdict::Authenticated(method),
                        Ok(None) => Verdict::Unauthenticated(findings),
                        Err(why) => Verdict::TryLater(why),
                    }
                }
                verdict => verdict,
            },
            None => self.verifier.verdict(&envelope, &raw, &message.from).await,
        };
        if let Verdict::TryLater(why) = &verdict {
            tracing::info!(reason = %why, "sender verification deferred");
            return Reply::new(451, "4.7.0 cannot verify the sender now; try again later");
        }
        let claims_own = self.is_own(message.from.address.domain())
            || arrival
                .mail_from
                .as_ref()
                .is_some_and(|a| self.is_own(a.domain()));
        if claims_own && !matches!(verdict, Verdict::Authenticated(_)) {
            tracing::info!(from = %message.from.address.domain(), "refused unauthenticated mail claiming an own domain");
            return Reply::new(550, "5.7.1 mail from this domain must be authenticated");
        }
        let accepted = Accepted {
            client_ip: arrival.client_ip,
            helo: arrival.helo,
            mail_from: arrival.mail_from,
            recipient: arrival.recipient,
            raw,
            message,
            verdict,
            files,
        };
        match (self.deliver)(accepted).await {
            Ok(()) => Reply::new(250, "2.0.0 accepted"),
            Err(e) => delivery_failed(&e),
        }
    }

    /// Mail to a genuine VERP address: a failure report marks the address; anything
    /// else (a delay notice, an auto-reply) is taken and dropped. The content is not
    /// kept and nothing answers it.
    async fn bounce(&self, bounce_id: [u8; BOUNCE_ID_LEN], null_sender: bool, raw: &[u8]) -> Reply {
        if let Err(rejection) = check_line_endings(raw) {
            return Reply::new(550, rejection.reply());
        }
        if !reports_failure(null_sender, raw) {
            return Reply::new(250, "2.0.0 noted");
        }
        let Some(record) = &self.bounces else {
            return Reply::new(550, "5.1.1 no such recipient");
        };
        match record(bounce_id).await {
            Ok(()) => Reply::new(250, "2.0.0 bounce recorded"),
            Err(e) => delivery_failed(&e),
        }
    }
}

/// The one mapping of a failure to take a message into an SMTP reply: what retrying
/// cannot fix is refused for good (5xx), so the sender stops and tells its user,
/// instead of being told to try again until its queue gives up days later.
fn delivery_failed(error: &MailError) -> Reply {
    match error {
        MailError::Permanent(_) | MailError::Refused(_) => {
            tracing::info!(reason = %error, "refused a received message");
            Reply::new(550, "5.7.1 this message cannot be accepted here")
        }
        MailError::Temporary(_) | MailError::Config(_) | MailError::Store(_) => {
            tracing::error!(error = %error, "storing a received message failed");
            Reply::new(451, "4.3.0 try again later")
        }
    }
}

/// Whether mail to a bounce address reports a failed delivery. It must come from the
/// null sender, as delivery status notifications do (RFC 5321 section 4.5.5), and not be
/// an auto-reply; when it carries RFC 3464 `Action:` fields, at least one must be
/// `failed` (delay and relay notices do not mark an address). Reports without such
/// fields (older MTAs' plain-text bounces) count.
fn reports_failure(null_sender: bool, raw: &[u8]) -> bool {
    if !null_sender {
        return false;
    }
    let text = String::from_utf8_lossy(raw);
    let field = |line: &str, name: &str| {
        line.split_once(':')
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let header_end = text.find("\r\n\r\n").unwrap_or(text.len());
    if text[..header_end]
        .lines()
        .filter_map(|l| field(l, "Auto-Submitted"))
        .any(|v| v.starts_with("auto-replied"))
    {
        return false;
    }
    let actions: Vec<String> = text.lines().filter_map(|l| field(l, "Action")).collect();
    actions.is_empty() || actions.iter().any(|a| a.starts_with("failed"))
}

#[cfg(test)]
mod tests {
    use super::reports_failure;

    #[test]
    fn only_failure_reports_from_the_null_sender_mark_an_address() {
        let dsn = b"From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n\
            Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n";
        assert!(reports_failure(true, dsn));
        assert!(
            !reports_failure(false, dsn),
            "a real DSN comes from the null sender"
        );
        let delayed = b"From: MAILER-DAEMON@mx.example\r\n\r\nFinal-Recipient: rfc822; slow@example.com\r\nAction: delayed\r\n";
        assert!(!reports_failure(true, delayed));
        let plain = b"From: MAILER-DAEMON@mx.example\r\nSubject: Undeliverable\r\n\r\nUser unknown\r\n";
        assert!(reports_failure(true, plain));
        let vacation =
            b"From: ann@example.com\r\nAuto-Submitted: auto-replied (vacation)\r\n\r\nAway until Monday\r\n";
        assert!(!reports_failure(true, vacation));
    }
}
