//! Ticket mail to participants: each public reply by an agent is sent to the ticket's
//! requester and collaborators (customers only, never the author), from the team's
//! support mailbox, with that participant's own capability reply address and
//! `Message-ID`. That address is the only way their answer threads back.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_core::{EmailAddress, OutgoingMail, TeamId, UserId};
use palisade_store::{Store, TicketRecord, Tx};

use crate::{MailError, Threading};

/// Outbox kind of ticket mail.
pub const MAIL_TICKET_REPLY: &str = "ticket_reply";

pub struct ReplyNotifier {
    store: Store,
    threading: Arc<Threading>,
    /// The support address each team's mail goes out from.
    mailboxes: HashMap<TeamId, EmailAddress>,
}

impl ReplyNotifier {
    pub fn new(store: Store, threading: Arc<Threading>, mailboxes: HashMap<TeamId, EmailAddress>) -> Self {
        Self {
            store,
            threading,
            mailboxes,
        }
    }

    /// Queues, in the caller's transaction, the reply `body` by `author` to everyone
    /// else on `ticket`; returns how many messages were queued.
    pub async fn public_reply(
        &self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        author: &UserId,
        body: &str,
    ) -> Result<usize, MailError> {
        let Some(mailbox) = self.mailboxes.get(&ticket.team) else {
            return Ok(0);
        };
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
            let mail = OutgoingMail {
                to: user.email.as_str().to_owned(),
                subject: format!("[#{}] {}", ticket.number, ticket.subject),
                text: format!(
                    "{body}\n\n-- \nReply to this email to answer (ticket #{number}). Your reply reaches the \
                     ticket only from this address.\n",
                    number = ticket.number
                ),
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
            self.public_reply(tx, &ticket, &author, &message.body)
                .await
                .map_err(|e| {
                    palisade_service::ServiceError::Reaction(format!("queueing ticket mail: {e}"))
                })?;
            Ok(())
        })
    }
}
