//! Where an accepted message goes, durably, before the sender gets 250: a public reply
//! on a ticket (the token's participant, authenticated), a new ticket of the
//! authenticated sender's own, or the quarantine. This adapter reads the message,
//! judges the sender and applies the placement rule; the writes are the service
//! layer's use cases (`Desk::receive_mail`, `Desk::release_quarantined`), with the
//! same Cedar checks, audit entries and domain events as the web's. Nothing here sends
//! mail back (no backscatter).

use std::collections::HashMap;
use std::sync::Arc;

use mail_parser::MessageParser;
use palisade_audit::AuditContext;
use palisade_core::{EmailAddress, TeamId};
use palisade_policy::PolicyEngine;
use palisade_service::{Desk, HeldMail, MailPlacement, ReceivedMail, ReleasedMail, ServiceError};
use palisade_store::Store;
use serde_json::json;

use crate::{Accepted, MailError, Placement, Recipient, Verdict, place};

pub use palisade_service::{LOOKALIKE_TAG, RELEASED_TAG};

/// How many known sender domains a new sender is compared with (most recent first).
const KNOWN_DOMAINS_COMPARED: u32 = 2000;

pub struct Inbound {
    store: Store,
    desk: Desk,
    /// Which team each support mailbox belongs to.
    teams: HashMap<EmailAddress, TeamId>,
    /// The organisation's own domains (lookalikes of them are flagged).
    own_domains: Vec<String>,
    /// Applied to the subject and text of mail that becomes a ticket or a reply, when
    /// the operator turned redaction of inbound mail on.
    redact: Option<Redact>,
    /// What a held message may carry when it is released (it passed these at receipt).
    file_limits: crate::FileLimits,
}

/// Removes what must not be stored from a text (the binary passes `assist`'s redactor).
pub type Redact = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// One mapping of the use cases' refusals to SMTP: what the sender cannot change is
/// permanent (5xx), so it is never retried as if it were the desk's passing trouble.
impl From<ServiceError> for MailError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound => MailError::Permanent("no such ticket".into()),
            ServiceError::Forbidden => MailError::Permanent("the participant may no longer reply".into()),
            ServiceError::Invalid(why) | ServiceError::Conflict(why) => MailError::Refused(why),
            ServiceError::Store(e) => MailError::Store(e),
            ServiceError::Reaction(why) => MailError::Temporary(why),
            ServiceError::Identity(e) => MailError::Temporary(e.to_string()),
            ServiceError::Unavailable(what) => MailError::Config(what.into()),
            // Files are scanned after the message is placed; these never refuse mail.
            ServiceError::AwaitingScan | ServiceError::FileBlocked => {
                MailError::Permanent("the file is not available".into())
            }
            ServiceError::ScannerDown(why) => MailError::Temporary(why),
            // Mail never names a ticket version; a race with a colleague is passing.
            ServiceError::Stale(_) => MailError::Temporary("the ticket changed meanwhile".into()),
        }
    }
}

impl Inbound {
    pub fn new(store: Store, policy: Arc<PolicyEngine>, teams: HashMap<EmailAddress, TeamId>) -> Self {
        let mut own_domains: Vec<String> = teams.keys().map(|m| m.domain().to_ascii_lowercase()).collect();
        own_domains.sort();
        own_domains.dedup();
        Self {
            desk: Desk::new(store.clone(), policy),
            store,
            teams,
            own_domains,
            redact: None,
            file_limits: crate::FileLimits::default(),
        }
    }

    /// Files of received mail are scanned for malware by `scanner` before anyone may
    /// download them.
    pub fn with_scanner(mut self, scanner: palisade_scan::Scanner) -> Self {
        self.desk = self.desk.with_scanner(scanner);
        self
    }

    /// The limits reception applies, for reading the files of released messages.
    pub fn with_file_limits(mut self, limits: crate::FileLimits) -> Self {
        self.file_limits = limits;
        self
    }

    pub fn with_redaction(mut self, redact: Redact) -> Self {
        self.redact = Some(redact);
        self
    }

    fn redacted(&self, (subject, body): (String, String)) -> (String, String) {
        match &self.redact {
            Some(redact) => (redact(&subject), redact(&body)),
            None => (subject, body),
        }
    }

    /// The HTML part to show in place of the text, for a message that has no
    /// plain-text part. Not kept when the operator redacts mail: text split across
    /// tags (`4111<b></b>1111…`) could slip past redaction, so the redacted text is
    /// what is shown then.
    fn html_of(&self, raw: &[u8]) -> Option<String> {
        if self.redact.is_some() {
            return None;
        }
        html_only(raw)
    }

    /// Adds domains to compare senders with, besides the mailboxes' own.
    pub fn with_own_domains(mut self, domains: &[String]) -> Self {
        self.own_domains
            .extend(domains.iter().map(|d| d.to_ascii_lowercase()));
        self.own_domains.sort();
        self.own_domains.dedup();
        self
    }

    /// A bounce to the VERP address of an outbound message: marks its recipient's
    /// address (once per message) and audits it. Never a ticket, never a reply.
    pub async fn record_bounce(
        &self,
        bounce_id: [u8; palisade_store::BOUNCE_ID_LEN],
    ) -> Result<(), MailError> {
        Ok(self.desk.record_bounce(bounce_id).await?)
    }

    /// The known domain the sender's imitates, if any.
    async fn lookalike(&self, domain: &str) -> Result<Option<crate::Lookalike>, MailError> {
        let known = self.store.known_domains(KNOWN_DOMAINS_COMPARED).await?;
        Ok(crate::lookalike(
            domain,
            self.own_domains.iter().chain(known.iter()).map(String::as_str),
        ))
    }

    /// Stores `accepted` where the placement rule says; returns the placement.
    pub async fn deliver(&self, accepted: Accepted) -> Result<Placement, MailError> {
        match self.deliver_once(&accepted).await {
            // Two first messages from a new sender at once: one created the account, the
            // other's transaction hit it and rolled back. Once more finds the account.
            Err(MailError::Store(palisade_store::StoreError::Conflict)) => self.deliver_once(&accepted).await,
            other => other,
        }
    }

    async fn deliver_once(&self, accepted: &Accepted) -> Result<Placement, MailError> {
        let from = &accepted.message.from.address;
        let account = self.store.find_mail_sender(from).await?;
        let placement = place(
            &accepted.recipient,
            &accepted.verdict,
            account.as_ref().map(|u| &u.id),
        );
        let mailbox = match &accepted.recipient {
            Recipient::Mailbox(m) | Recipient::Reply { mailbox: m, .. } => m.clone(),
            Recipient::Unknown | Recipient::Bounce { .. } => {
                return Err(MailError::Permanent("not a mailbox".into()));
            }
        };
        // The Teams page's choice, else the file's.
        let team = match self.store.mailbox_route(mailbox.as_str()).await? {
            Some(team) => team,
            None => self
                .teams
                .get(&mailbox)
                .cloned()
                .ok_or_else(|| MailError::Config(format!("mailbox {} has no team", mailbox.as_str())))?,
        };
        let (subject, body) = self.redacted(text_of(accepted));
        let lookalike = match &placement {
            Placement::PublicReply { .. } => None,
            Placement::NewTicket | Placement::Quarantine => self.lookalike(from.domain()).await?,
        };
        let lookalike_json = lookalike.as_ref().map(
            |l| json!({ "domain": from.domain(), "resembles": l.resembles, "reason": l.reason.as_str() }),
        );
        let verdict = verdict_json(&accepted.verdict);
        let held = HeldMail {
            client_ip: accepted.client_ip.to_string(),
            helo: accepted.helo.clone(),
            mail_from: accepted.mail_from.as_ref().map(|a| a.as_str().to_owned()),
            from: from.as_str().to_owned(),
            display_name: accepted.message.from.display_name.clone(),
            verdict: verdict.clone(),
            lookalike: lookalike_json.clone(),
            raw: String::from_utf8_lossy(&accepted.raw).into_owned(),
        };
        let received = ReceivedMail {
            placement: match &placement {
                Placement::PublicReply { ticket, author } => MailPlacement::Reply {
                    ticket: ticket.clone(),
                    author: author.clone(),
                },
                Placement::NewTicket => MailPlacement::NewTicket,
                Placement::Quarantine => MailPlacement::Quarantine,
            },
            from: from.clone(),
            display_name: accepted.message.from.display_name.clone(),
            mailbox,
            team,
            subject,
            body,
            files: accepted.files.clone(),
            html: self.html_of(&accepted.raw),
            original: accepted.raw.clone(),
            message_id: accepted.message.single("Message-ID").map(|m| m.trim().to_owned()),
            verdict,
            lookalike: lookalike_json,
            held,
            audit: AuditContext {
                actor: "mail".into(),
                ip: accepted.client_ip.to_string(),
                user_agent: format!("smtp/{}", accepted.helo),
                session: String::new(),
            },
        };
        Ok(match self.desk.receive_mail(received).await? {
            palisade_service::Received::NewTicket(_) => Placement::NewTicket,
            palisade_service::Received::Quarantined(_) => Placement::Quarantine,
            palisade_service::Received::Reply(_) | palisade_service::Received::AlreadyTaken => placement,
        })
    }

    /// A quarantined message as a release needs it: its `From`, its subject and text
    /// (redacted like received mail when the operator asked for it) and its verdict.
    pub fn released_mail(&self, sealed: &[u8]) -> Result<ReleasedMail, MailError> {
        let held = HeldMail::from_bytes(sealed)
            .map_err(|e| MailError::Permanent(format!("unreadable quarantine: {e}")))?;
        let raw = held.raw.into_bytes();
        let message = crate::read_message(&raw).map_err(|e| MailError::Permanent(e.as_str().into()))?;
        let (subject, body) = self.redacted(subject_and_body(&message, &raw));
        let files = crate::files_of(&raw, &self.file_limits)
            .map_err(|e| MailError::Permanent(e.reply(&self.file_limits)))?;
        Ok(ReleasedMail {
            from: message.from.address.clone(),
            display_name: message.from.display_name.clone(),
            subject,
            body,
            files,
            html: self.html_of(&raw),
            original: raw.clone(),
            verdict: held.verdict,
        })
    }
}

/// The subject (from the strict reading) and the plain-text body.
fn text_of(accepted: &Accepted) -> (String, String) {
    subject_and_body(&accepted.message, &accepted.raw)
}

fn subject_and_body(message: &crate::StrictMessage, raw: &[u8]) -> (String, String) {
    let subject: String = message
        .single("Subject")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(no subject)".into())
        .chars()
        .filter(|c| !c.is_control())
        .take(palisade_service::MAX_SUBJECT_CHARS)
        .collect();
    let body = MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default();
    // Longer mail is kept to the length every channel allows, never refused for it.
    let body: String = body.chars().take(palisade_service::MAX_BODY_CHARS).collect();
    let body = if body.trim().is_empty() {
        "(empty message)".to_owned()
    } else {
        body
    };
    (subject, body)
}

/// The HTML body of a message whose body has no plain-text part (within the body
/// limit, counted generously for markup).
fn html_only(raw: &[u8]) -> Option<String> {
    let parsed = MessageParser::default().parse(raw)?;
    let has_plain = parsed.text_body.iter().any(|&part| {
        parsed
            .parts
            .get(part as usize)
            .is_some_and(|p| matches!(p.body, mail_parser::PartType::Text(_)))
    });
    if has_plain {
        return None;
    }
    let html = parsed.body_html(0)?;
    let html: String = html.chars().take(palisade_service::MAX_BODY_CHARS * 4).collect();
    (!html.trim().is_empty()).then_some(html)
}

fn verdict_json(verdict: &Verdict) -> serde_json::Value {
    match verdict {
        Verdict::Authenticated(crate::AuthMethod::Dkim { domain }) => {
            json!({ "authenticated": "dkim", "domain": domain })
        }
        Verdict::Authenticated(crate::AuthMethod::Spf { domain }) => {
            json!({ "authenticated": "spf", "domain": domain })
        }
        Verdict::Authenticated(crate::AuthMethod::Arc { forwarder, domain }) => {
            json!({ "authenticated": "arc", "domain": domain, "forwarder": forwarder })
        }
        Verdict::Authenticated(crate::AuthMethod::Provider {
            provider,
            method,
            domain,
        }) => {
            json!({ "authenticated": "provider", "domain": domain, "provider": provider, "method": method })
        }
        Verdict::Unauthenticated(f) => json!({
            "authenticated": false,
            "dkim_not_counted": f.dkim_not_counted,
            "dkim_failed": f.dkim_failed,
            "spf": f.spf,
        }),
        Verdict::TryLater(why) => json!({ "authenticated": false, "deferred": why }),
    }
}
