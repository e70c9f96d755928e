//! Handing an assistant conversation to a person: a verified customer's becomes a ticket
//! of theirs (new, or one of their own they chose), an anonymous one waits in the
//! quarantine review like mail from an unverified address. Either way the conversation
//! closes in the same transaction as the write, so a handover is never half done.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{ConversationId, TeamId, Visibility};
use palisade_policy::{Action, Reader, Resource};
use palisade_store::TicketRecord;
use serde_json::json;

use crate::{Actor, Channel, Desk, HeldMail, OpenTicket, ServiceError};

/// Where a verified customer's conversation goes.
pub enum HandoverTo {
    NewTicket(OpenTicket),
    /// One of the customer's own tickets (by id, checked like any reply of theirs).
    Ticket {
        raw_id: String,
        body: String,
    },
}

impl Desk {
    /// A verified customer's handover (Cedar decides who may: a customer, never staff
    /// talking to the assistant); returns the ticket it landed on.
    pub async fn hand_over(
        &self,
        customer: &Actor,
        conversation: &ConversationId,
        to: HandoverTo,
    ) -> Result<TicketRecord, ServiceError> {
        let actor = Actor {
            channel: Channel::Assistant,
            ..customer.clone()
        };
        let owned = Resource::Conversation(conversation.clone(), Some(actor.principal.user_id.clone()));
        self.authorize(&actor, Action::AssistantHandOver, &owned).await?;
        match to {
            HandoverTo::NewTicket(input) => Ok(self
                .open_ticket_closing(&actor, input, Some(conversation))
                .await?
                .ticket),
            HandoverTo::Ticket { raw_id, body } => {
                let (_, ticket, _) = self
                    .add_message_closing(
                        &actor,
                        &raw_id,
                        &body,
                        Visibility::Public,
                        Some(conversation),
                        &crate::Sending::default(),
                    )
                    .await?;
                Ok(ticket)
            }
        }
    }

    /// An anonymous handover: the transcript (`held`, as a quarantine record) waits for
    /// a reviewer of `team`, and the conversation closes.
    pub async fn hand_over_anonymously(
        &self,
        audit: &AuditContext,
        conversation: &ConversationId,
        team: &TeamId,
        held: &HeldMail,
    ) -> Result<String, ServiceError> {
        let anonymous = Resource::Conversation(conversation.clone(), None);
        if self
            .policy
            .authorize_reader(Reader::Visitor, Action::AssistantHandOver, &anonymous)
            .is_err()
        {
            self.audit_denial(audit, Action::AssistantHandOver, conversation.as_str(), "denied")
                .await?;
            return Err(ServiceError::Forbidden);
        }
        let mut tx = self.store.begin().await?;
        let id = self
            .store
            .quarantine_mail(&mut tx, team, &held.to_bytes()?)
            .await?;
        self.store
            .hand_over_conversation(&mut tx, conversation, None)
            .await?;
        let event = AuditEvent::new(AuditAction::MailReceived, conversation.as_str(), Outcome::Success)
            .with_detail(json!({ "source": "assistant", "held": true, "quarantine_id": id }));
        self.store.append_audit(&mut tx, audit, &event).await?;
        tx.commit().await?;
        Ok(id)
    }
}

impl Desk {
    /// Turns the assistant's answers off for a conversation that kept trying to
    /// instruct it; the way to a person stays open.
    pub async fn stop_automated_answers(
        &self,
        audit: &AuditContext,
        conversation: &ConversationId,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        self.store.stop_automated_answers(&mut tx, conversation).await?;
        let event = AuditEvent::new(
            AuditAction::ConversationEnded,
            conversation.as_str(),
            Outcome::Denied,
        )
        .with_detail(json!({ "reason": "manipulation", "automated_answers": "off", "handover": "open" }));
        self.store.append_audit(&mut tx, audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}
