//! Customer satisfaction: a solved ticket's requester says good or bad (and why), in
//! the portal or through the single-use link a team may mail them once the ticket is
//! solved. One answer per ticket, changeable until the ticket closes. The link names
//! nothing: whoever holds it learns no more than that some request may be rated.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::TicketStatus;
use palisade_crypto::RandomToken;
use palisade_policy::{Action, Resource};
use palisade_store::{SatisfactionRecord, TicketRecord};
use serde_json::json;

use crate::events::Happened;
use crate::{Actor, Channel, Desk, ServiceError, validate_text};

/// The longest comment kept with an answer.
pub const MAX_RATING_COMMENT_CHARS: usize = 2000;
/// How long a survey link works.
pub const SURVEY_LINK_SECS: i64 = 30 * 24 * 3600;

/// The comment as kept: line breaks as browsers send them (`\r\n`) count once, as
/// the form's limit counts them.
fn comment_of(comment: &str) -> Result<String, ServiceError> {
    let comment = comment.replace("\r\n", "\n");
    if comment.trim().is_empty() {
        Ok(String::new())
    } else {
        validate_text("comment", &comment, MAX_RATING_COMMENT_CHARS)
    }
}

impl Desk {
    /// The requester's answer for a solved ticket (replacing an earlier one).
    pub async fn rate_ticket(
        &self,
        actor: &Actor,
        raw_ticket: &str,
        good: bool,
        comment: &str,
    ) -> Result<(), ServiceError> {
        let comment = comment_of(comment)?;
        let tx = self.store.begin().await?;
        let (mut tx, ticket, proof) = self.ticket_in(tx, actor, raw_ticket, Action::TicketRate).await?;
        match ticket.status {
            TicketStatus::Solved => {}
            TicketStatus::Closed => return Err(ServiceError::conflict("refusal-rate-closed")),
            _ => return Err(ServiceError::conflict("refusal-rate-unsolved")),
        }
        self.store
            .rate_ticket(&mut tx, &proof, &ticket, &actor.principal.user_id, good, &comment)
            .await?;
        let detail = json!({ "rating": if good { "good" } else { "bad" },
                             "comment": !comment.is_empty(), "channel": actor.channel.as_str() });
        let audit = AuditEvent::new(AuditAction::TicketRated, ticket.id.to_string(), Outcome::Success)
            .with_detail(detail.clone());
        let happened = Happened {
            kind: "ticket.rated",
            actor,
            ticket: &ticket,
            message: None,
            detail,
        };
        self.record(&mut tx, audit, happened).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The answer on a ticket the actor has read (staff and its customers alike).
    pub async fn satisfaction(
        &self,
        actor: &Actor,
        ticket: &TicketRecord,
    ) -> Result<Option<SatisfactionRecord>, ServiceError> {
        self.authorize(actor, Action::TicketRead, &Resource::Ticket(ticket.facts()))
            .await?;
        Ok(self.store.satisfaction_of(ticket).await?)
    }

    /// Whether a survey link can still be answered; anything else is `NotFound`, alike.
    pub async fn survey_open(&self, presented: &str) -> Result<(), ServiceError> {
        let token = RandomToken::from_presented(presented).ok_or(ServiceError::NotFound)?;
        let (ticket, _) = self
            .store
            .satisfaction_link(&token.hash())
            .await?
            .ok_or(ServiceError::NotFound)?;
        match self.store.get_ticket(&ticket).await?.status {
            TicketStatus::Solved => Ok(()),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// Answers through a survey link, once, as the requester it was mailed to (with
    /// their rights as Cedar decides them now: a requester who changed, or a ticket
    /// no longer solved, takes no answer).
    pub async fn rate_by_link(
        &self,
        audit: &AuditContext,
        presented: &str,
        good: bool,
        comment: &str,
    ) -> Result<(), ServiceError> {
        let token = RandomToken::from_presented(presented).ok_or(ServiceError::NotFound)?;
        // What the answer itself may be refused for is judged before the link is spent.
        comment_of(comment)?;
        let (ticket, user) = self
            .store
            .satisfaction_link(&token.hash())
            .await?
            .ok_or(ServiceError::NotFound)?;
        let actor = Actor {
            principal: self.principal_of(&user).await?,
            audit: AuditContext {
                actor: user.to_string(),
                ..audit.clone()
            },
            channel: Channel::Web,
        };
        // Refused before the link is spent: a ticket no longer solved, a requester who
        // changed.
        let current = self.store.get_ticket(&ticket).await?;
        if current.status != TicketStatus::Solved
            || !self.permits(
                &actor.principal,
                Action::TicketRate,
                &Resource::Ticket(current.facts()),
            )
        {
            return Err(ServiceError::NotFound);
        }
        let mut tx = self.store.begin().await?;
        if !self.store.use_satisfaction_link(&mut tx, &token.hash()).await? {
            return Err(ServiceError::NotFound);
        }
        tx.commit().await?;
        self.rate_ticket(&actor, ticket.as_str(), good, comment)
            .await
            .map_err(|e| match e {
                ServiceError::Forbidden | ServiceError::Conflict(_) => ServiceError::NotFound,
                other => other,
            })
    }
}
