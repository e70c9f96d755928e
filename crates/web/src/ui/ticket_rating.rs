//! A ticket's satisfaction on its page: the answer given, for everyone who reads the
//! ticket, and for its requester the form that gives or changes it while it is solved.

use palisade_core::TicketStatus;
use palisade_policy::{Action, Resource};
use palisade_store::TicketRecord;

use super::UiError;
use crate::{AppState, Caller};

pub struct Rating {
    /// `good`, `bad`, or empty when nobody answered.
    pub rating: String,
    pub comment: String,
    /// The requester may answer now (the ticket is solved).
    pub may_rate: bool,
}

impl Rating {
    pub async fn of(s: &AppState, caller: &Caller, ticket: &TicketRecord) -> Result<Self, UiError> {
        let desk = s.desk();
        let actor = caller.actor();
        let given = desk.satisfaction(&actor, ticket).await?;
        let may_rate = ticket.status == TicketStatus::Solved
            && desk.permits(
                &actor.principal,
                Action::TicketRate,
                &Resource::Ticket(ticket.facts()),
            );
        Ok(match given {
            Some(g) => Self {
                rating: g.rating,
                comment: g.comment,
                may_rate,
            },
            None => Self {
                rating: String::new(),
                comment: String::new(),
                may_rate,
            },
        })
    }
}
