//! Ticket mail to participants: each public reply by an agent is sent to the ticket's
//! requester and collaborators (customers only, never the author), from the team's
//! support mailbox, with that participant's own capability reply address and
//! `Message-ID`. That address is the only way their answer threads back. A reply goes
//! out as plain text with an escaped HTML alternative — or, delivered securely (the
//! team's setting, or the agent's choice for one reply), as a notice that carries
//! nothing of the reply but a link to sign in and read it.

use palisade_i18n::{Arg, Locale, text_with};
use std::collections::HashMap;
use std::sync::Arc;

use palisade_core::{EmailAddress, OutgoingFile, OutgoingMail, TeamId, UserId};
use palisade_store::{ScanState, Store, TicketRecord, Tx};

use crate::{MailError, Threading};

/// Outbox kind of ticket mail.
pub const MAIL_TICKET_REPLY: &str = "ticket_reply";
/// Outbox kind of a new ticket's acknowledgement.
pub const MAIL_TICKET_ACK: &str = "ticket_ack";
/// Outbox kind of the satisfaction survey sent once a ticket is solved.
pub const MAIL_TICKET_SURVEY: &str = "ticket_survey";

pub struct ReplyNotifier {
    store: Store,
    threading: Arc<Threading>,
    /// The support address each team's mail goes out from, as the file routes them; an
    /// address routed to the team on the Teams page comes first.
    mailboxes: HashMap<TeamId, EmailAddress>,
    /// Where customers sign in (`https://desk.example.com`), for secure-delivery links.
    public_origin: String,
    /// Files are scanned for malware here: one not judged yet is not mailed.
    scanning: bool,
}

/// A reply's files as its mail carries them.
#[derive(Default)]
pub struct ReplyFiles {
    pub attached: Vec<OutgoingFile>,
    /// Files that stay behind (waiting for the scan, or blocked): the mail says so and
    /// links to the ticket instead.
    pub withheld: usize,
}

/// How one reply reaches customers by mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The reply's text (and its HTML rendering).
    Content,
    /// Only that there is a reply, and a link to the ticket in the portal.
    Secure,
}

impl ReplyNotifier {
    /// The address a team's mail goes out from: one routed to it on the Teams page,
    /// else the file's. Replies come back to the ticket through the reply address's
    /// capability whatever the address's team, so a team whose file address was
    /// routed elsewhere still writes from it.
    async fn sending_address(&self, team: &TeamId) -> Result<Option<EmailAddress>, MailError> {
        for (address, routed) in self.store.mailbox_routes().await? {
            if routed == *team
                && self.threading.serves(&address)
                && let Ok(address) = EmailAddress::parse(&address)
            {
                return Ok(Some(address));
            }
        }
        Ok(self.mailboxes.get(team).cloned())
    }

    pub fn new(
        store: Store,
        threading: Arc<Threading>,
        mailboxes: HashMap<TeamId, EmailAddress>,
        public_origin: impl Into<String>,
    ) -> Self {
        Self {
            store,
            threading,
            mailboxes,
            public_origin: public_origin.into(),
            // Fail closed: a file not judged yet is not mailed unless the desk says
            // scanning is off.
            scanning: true,
        }
    }

    /// Whether files are scanned here (the default): then a reply's file is mailed only
    /// once judged clean; with scanning off, files are mailed unscanned.
    pub fn with_scanning(mut self, scanning: bool) -> Self {
        self.scanning = scanning;
        self
    }

    /// The files sent with `message`, as its mail may carry them.
    async fn files_of(
        &self,
        ticket: &TicketRecord,
        message: &palisade_core::MessageId,
    ) -> Result<ReplyFiles, MailError> {
        let mut files = ReplyFiles::default();
        for file in self.store.public_message_files(ticket, message).await? {
            let sendable = match file.record.scan {
                ScanState::Clean => true,
                ScanState::Pending => !self.scanning,
                ScanState::Infected(_) => false,
            };
            if sendable {
                files.attached.push(OutgoingFile {
                    name: file.record.filename,
                    content_type: file.record.content_type,
                    content: file.content,
                });
            } else {
                files.withheld += 1;
            }
        }
        Ok(files)
    }

    /// Queues, in the caller's transaction, the reply `body` by `author` to everyone
    /// else on `ticket`; returns how many messages were queued. A team that delivers
    /// securely always does, whatever `delivery` asks.
    pub async fn public_reply(
        &self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        author: &UserId,
        body: &str,
        delivery: Delivery,
    ) -> Result<usize, MailError> {
        self.public_reply_with(tx, ticket, author, body, delivery, &ReplyFiles::default())
            .await
    }

    /// As [`ReplyNotifier::public_reply`], with the reply's files.
    pub async fn public_reply_with(
        &self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        author: &UserId,
        body: &str,
        delivery: Delivery,
        files: &ReplyFiles,
    ) -> Result<usize, MailError> {
        let delivery = if self.store.get_team(&ticket.team).await?.secure_delivery {
            Delivery::Secure
        } else {
            delivery
        };
        let Some(mailbox) = self.sending_address(&ticket.team).await? else {
            return Ok(0);
        };
        let mailbox = &mailbox;
        let mut queued = 0;
        // Until the requester confirms, only the address's owner gets mail: nobody else
        // is shown what an unauthenticated sender wrote.
        let collaborators = if ticket.requester_confirmed {
            ticket.collaborators.as_slice()
        } else {
            &[]
        };
        let participants = std::iter::once(&ticket.requester).chain(collaborators.iter());
        for participant in participants.filter(|p| *p != author) {
            let user = self.store.get_user(participant).await?;
            if user.disabled || user.role.is_staff() {
                continue;
            }
            let (reply_to, message_id) = self
                .threading
                .reply_identity(tx, mailbox, &ticket.id, participant)
                .await?;
            let link = format!(
                "{}/tickets/{}",
                self.public_origin.trim_end_matches('/'),
                ticket.id
            );
            let locale = Locale::for_mail(self.store.mail_language(user.locale.as_deref()).await?.as_deref());
            let number = || Arg::Number(ticket.number);
            let (subject, text, html) = match delivery {
                Delivery::Content => {
                    let withheld = match files.withheld {
                        0 => String::new(),
                        n => format!(
                            "\n\n{}",
                            text_with(
                                locale,
                                "mail-reply-withheld",
                                &[
                                    ("count", Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))),
                                    ("link", link.as_str().into()),
                                ],
                            )
                        ),
                    };
                    let text = format!(
                        "{body}{withheld}\n\n-- \n{}\n",
                        text_with(locale, "mail-reply-footer", &[("number", number())])
                    );
                    let html = html_of(&text);
                    (
                        format!("[#{}] {}", ticket.number, ticket.subject),
                        text,
                        Some(html),
                    )
                }
                // Not even the subject: it was written by the customer or an agent and
                // can say as much as the reply.
                Delivery::Secure => {
                    let text = text_with(
                        locale,
                        "mail-secure-body",
                        &[("number", number()), ("link", link.as_str().into())],
                    ) + "\n";
                    (
                        text_with(locale, "mail-secure-subject", &[("number", number())]),
                        text,
                        None,
                    )
                }
            };
            let mail = OutgoingMail {
                to: user.email.as_str().to_owned(),
                subject,
                text,
                html,
                files: match delivery {
                    Delivery::Content => files.attached.clone(),
                    Delivery::Secure => Vec::new(),
                },
                reply_to: Some(reply_to.as_str().to_owned()),
                message_id: Some(
                    message_id
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_owned(),
                ),
            };
            self.store.enqueue_mail(tx, MAIL_TICKET_REPLY, &mail).await?;
            queued += 1;
        }
        Ok(queued)
    }
}

impl ReplyNotifier {
    /// Sends a new ticket's requester the team's acknowledgement (unless the team
    /// turned it off): in their language, from the team's address, with their own
    /// reply address so an answer adds to the ticket. Only a ticket its requester
    /// opened, and only once they are confirmed (until then the confirmation mail is
    /// all they get). A team that delivers securely is not sent the subject back.
    pub async fn acknowledge(
        &self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        opener: &UserId,
    ) -> Result<bool, MailError> {
        let team = self.store.get_team(&ticket.team).await?;
        if !team.acknowledge || !ticket.requester_confirmed || *opener != ticket.requester {
            return Ok(false);
        }
        let user = self.store.get_user(&ticket.requester).await?;
        if user.disabled || user.role.is_staff() {
            return Ok(false);
        }
        let Some(mailbox) = self.sending_address(&ticket.team).await? else {
            return Ok(false);
        };
        let (reply_to, message_id) = self
            .threading
            .reply_identity(tx, &mailbox, &ticket.id, &ticket.requester)
            .await?;
        let locale = Locale::for_mail(self.store.mail_language(user.locale.as_deref()).await?.as_deref());
        let told = if team.secure_delivery {
            ""
        } else {
            ticket.subject.as_str()
        };
        let (subject, text) =
            palisade_service::automation::ack_text(&team.ack_texts, locale, &user.name, ticket.number, told);
        let text = format!("{}\n", text.trim_end());
        let mail = OutgoingMail {
            to: user.email.as_str().to_owned(),
            subject,
            html: Some(html_of(&text)),
            text,
            files: Vec::new(),
            reply_to: Some(reply_to.as_str().to_owned()),
            message_id: Some(
                message_id
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned(),
            ),
        };
        self.store.enqueue_mail(tx, MAIL_TICKET_ACK, &mail).await?;
        Ok(true)
    }
}

impl ReplyNotifier {
    /// Asks a solved ticket's requester how satisfied they are, if the team asks: a
    /// single-use link to a page that shows nothing of the ticket, and the ticket's
    /// reply address (an answer by mail reopens it as usual).
    pub async fn ask_satisfaction(&self, tx: &mut Tx, ticket: &TicketRecord) -> Result<bool, MailError> {
        let team = self.store.get_team(&ticket.team).await?;
        if !team.satisfaction_survey || !ticket.requester_confirmed || ticket.merged_into.is_some() {
            return Ok(false);
        }
        let user = self.store.get_user(&ticket.requester).await?;
        if user.disabled || user.role.is_staff() {
            return Ok(false);
        }
        let Some(mailbox) = self.sending_address(&ticket.team).await? else {
            return Ok(false);
        };
        let token = palisade_crypto::RandomToken::generate().map_err(|e| MailError::Config(e.to_string()))?;
        self.store
            .create_satisfaction_link(
                tx,
                &ticket.id,
                &user.id,
                &token.hash(),
                palisade_service::SURVEY_LINK_SECS,
            )
            .await?;
        let (reply_to, message_id) = self
            .threading
            .reply_identity(tx, &mailbox, &ticket.id, &ticket.requester)
            .await?;
        let link = format!(
            "{}/rate/{}",
            self.public_origin.trim_end_matches('/'),
            token.expose()
        );
        let locale = Locale::for_mail(self.store.mail_language(user.locale.as_deref()).await?.as_deref());
        let (subject, text) = palisade_service::automation::survey_text(
            &team.survey_texts,
            locale,
            &user.name,
            ticket.number,
            &link,
        );
        let text = format!("{}\n", text.trim_end());
        let mail = OutgoingMail {
            to: user.email.as_str().to_owned(),
            subject,
            html: Some(html_of(&text)),
            text,
            files: Vec::new(),
            reply_to: Some(reply_to.as_str().to_owned()),
            message_id: Some(
                message_id
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned(),
            ),
        };
        self.store.enqueue_mail(tx, MAIL_TICKET_SURVEY, &mail).await?;
        Ok(true)
    }
}

/// Agents' public replies are mailed once committed: the `message.added` events of
/// public messages by staff, through the dispatcher (one node at a time, the queueing
/// committed with the subscriber's position, so each reply is queued once).
impl palisade_service::Subscriber for ReplyNotifier {
    fn name(&self) -> &'static str {
        "ticket_mail"
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a palisade_store::DomainEventRecord,
    ) -> palisade_service::ReactionFuture<'a> {
        Box::pin(async move {
            if event.kind == "ticket.created" {
                let (Ok(opener), Ok(ticket_id)) = (
                    UserId::parse(&event.actor),
                    palisade_core::TicketId::parse(&event.subject),
                ) else {
                    return Ok(());
                };
                let ticket = match self.store.get_ticket(&ticket_id).await {
                    Ok(ticket) => ticket,
                    Err(palisade_store::StoreError::NotFound) => return Ok(()),
                    Err(e) => return Err(e.into()),
                };
                self.acknowledge(tx, &ticket, &opener).await.map_err(|e| {
                    palisade_service::ServiceError::Reaction(format!("queueing an acknowledgement: {e}"))
                })?;
                return Ok(());
            }
            if event.kind == "ticket.status_changed" {
                let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap_or_default();
                let Ok(ticket_id) = palisade_core::TicketId::parse(&event.subject) else {
                    return Ok(());
                };
                if detail["to"] != "solved" {
                    return Ok(());
                }
                let ticket = match self.store.get_ticket(&ticket_id).await {
                    Ok(ticket) => ticket,
                    Err(palisade_store::StoreError::NotFound) => return Ok(()),
                    Err(e) => return Err(e.into()),
                };
                self.ask_satisfaction(tx, &ticket).await.map_err(|e| {
                    palisade_service::ServiceError::Reaction(format!("queueing a satisfaction survey: {e}"))
                })?;
                return Ok(());
            }
            if event.kind != "message.added" {
                return Ok(());
            }
            let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap_or_default();
            if detail["visibility"] != "public" {
                return Ok(());
            }
            // An event naming what no longer exists (or cannot be read) is nothing to
            // mail about; failing on it would stop every later reply's mail.
            let (Ok(author), Ok(ticket_id)) = (
                UserId::parse(&event.actor),
                palisade_core::TicketId::parse(&event.subject),
            ) else {
                return Ok(());
            };
            let author = match self.store.get_user(&author).await {
                Ok(user) if user.role.is_staff() => user.id,
                Ok(_) | Err(palisade_store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let ticket = match self.store.get_ticket(&ticket_id).await {
                Ok(ticket) => ticket,
                Err(palisade_store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            let Some(message) = self
                .store
                .list_messages(&ticket, palisade_store::Including::Public)
                .await?
                .into_iter()
                .find(|m| detail["message"] == m.id.as_str())
            else {
                return Ok(());
            };
            let delivery = if detail["secure_delivery"] == true {
                Delivery::Secure
            } else {
                Delivery::Content
            };
            let files = self.files_of(&ticket, &message.id).await.map_err(|e| {
                palisade_service::ServiceError::Reaction(format!("reading a reply's files: {e}"))
            })?;
            self.public_reply_with(tx, &ticket, &author, &message.body, delivery, &files)
                .await
                .map_err(|e| {
                    palisade_service::ServiceError::Reaction(format!("queueing ticket mail: {e}"))
                })?;
            Ok(())
        })
    }
}

/// The text as HTML: every character that means something in HTML escaped, line
/// breaks kept. Nothing an agent typed can become markup in the customer's mail.
fn html_of(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 128);
    html.push_str("<!DOCTYPE html><html><body><div style=\"white-space:pre-wrap;font-family:sans-serif\">");
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            '\r' => {}
            c => html.push(c),
        }
    }
    html.push_str("</div></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::html_of;

    #[test]
    fn nothing_typed_becomes_markup() {
        let html = html_of("<script>alert('x')</script> & \"quotes\"\r\nline");
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;\nline"),
            "{html}"
        );
        assert!(!html.contains("<script"));
    }
}
