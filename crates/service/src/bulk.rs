//! Bulk actions on a selection of tickets: the same change applied ticket by ticket
//! through the ordinary use cases, so each ticket is authorised on its own and gets
//! its own audit entry and domain events. One refusal does not stop the others; the
//! caller learns what happened to each ticket.

use palisade_core::{Priority, TagName, TeamId, TicketStatus, TicketType, UserId};
use palisade_i18n::Refusal;
use palisade_store::TicketUpdate;

use crate::{Actor, Desk, ServiceError};

/// At most this many tickets per bulk action.
pub const MAX_BULK_TICKETS: usize = 100;

/// What to do to every selected ticket; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct BulkChange {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// `Some(None)` clears the type.
    pub ticket_type: Option<Option<TicketType>>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<UserId>>,
    pub team: Option<TeamId>,
    /// Added to each ticket's tags (the tags it has stay).
    pub add_tags: Vec<TagName>,
    /// A macro applied to each ticket after the fields above, through the same use case
    /// as applying it by hand (so whole or not at all on each ticket).
    pub apply_macro: Option<String>,
}

impl BulkChange {
    fn fields(&self) -> TicketUpdate {
        TicketUpdate {
            status: self.status,
            assignee: self.assignee.clone(),
            team: self.team.clone(),
            priority: self.priority,
            ticket_type: self.ticket_type,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields().is_empty() && self.add_tags.is_empty() && self.apply_macro.is_none()
    }
}

/// What happened to one ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BulkOutcome {
    Updated,
    /// Missing, or not readable by the actor (never told apart).
    NotFound,
    /// Readable, but this change is not the actor's to make.
    Forbidden,
    /// The change does not fit this ticket (an assignee outside its team…).
    Invalid(Refusal),
}

impl Desk {
    /// Applies `change` to each ticket of `ids` (duplicates count once), in order. An
    /// empty change changes nothing and reports which tickets the actor may read.
    pub async fn bulk_update(
        &self,
        actor: &Actor,
        ids: &[String],
        change: &BulkChange,
    ) -> Result<Vec<(String, BulkOutcome)>, ServiceError> {
        // A staff tool: for customers it does not exist.
        self.enter_workspace(actor).await?;
        let mut unique: Vec<&String> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if unique.is_empty() || unique.len() > MAX_BULK_TICKETS {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-bulk-count").with("max", MAX_BULK_TICKETS),
            ));
        }
        let mut outcomes = Vec::with_capacity(unique.len());
        for id in unique {
            let outcome = match self.bulk_one(actor, id, change).await {
                Ok(()) => BulkOutcome::Updated,
                Err(ServiceError::NotFound) => BulkOutcome::NotFound,
                Err(ServiceError::Forbidden) => BulkOutcome::Forbidden,
                Err(ServiceError::Invalid(why) | ServiceError::Conflict(why)) => BulkOutcome::Invalid(why),
                Err(other) => return Err(other),
            };
            outcomes.push((id.clone(), outcome));
        }
        Ok(outcomes)
    }

    async fn bulk_one(&self, actor: &Actor, id: &str, change: &BulkChange) -> Result<(), ServiceError> {
        let fields = change.fields();
        if fields.is_empty() {
            self.readable_ticket(actor, id).await?;
        } else {
            self.update_ticket(actor, id, fields, None).await?;
        }
        if !change.add_tags.is_empty() {
            let (ticket, _) = self.readable_ticket(actor, id).await?;
            let mut tags = ticket.tags.clone();
            for tag in &change.add_tags {
                if !tags.contains(tag) {
                    tags.push(tag.clone());
                }
            }
            if tags != ticket.tags {
                self.set_tags(actor, id, tags).await?;
            }
        }
        if let Some(macro_id) = &change.apply_macro {
            self.apply_macro(actor, id, macro_id).await?;
        }
        Ok(())
    }
}
