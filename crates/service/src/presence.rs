//! Collision detection's first half: who else has a ticket open, and who is typing a
//! reply on it, for staff who read its internal side (customers neither see nor
//! announce anyone). The second half is the ticket's version: an update based on an
//! older one is refused ([`crate::Desk::update_ticket`]).

use palisade_core::UnixMillis;
use palisade_policy::{Action, Resource};

use crate::{Actor, Desk, ServiceError};

/// How long a view counts after its last sign of life (page load, stream tick).
const PRESENT_FOR_MS: i64 = 20_000;
/// How long one keystroke counts as typing.
const TYPING_FOR_MS: i64 = 8_000;

/// Someone else on the same ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Colleague {
    pub name: String,
    pub typing: bool,
}

impl Desk {
    /// Records the actor on the ticket (typing, when they are) and returns who else is
    /// there. Only for those who read the ticket's internal side; anyone else gets
    /// `NotFound` and leaves no trace.
    pub async fn present_on_ticket(
        &self,
        actor: &Actor,
        raw_ticket: &str,
        typing: bool,
    ) -> Result<Vec<Colleague>, ServiceError> {
        let (ticket, _) = self.readable_ticket(actor, raw_ticket).await?;
        self.authorize(
            actor,
            Action::TicketReadInternal,
            &Resource::Ticket(ticket.facts()),
        )
        .await
        .map_err(|_| ServiceError::NotFound)?;
        let me = &actor.principal.user_id;
        self.store
            .touch_presence(&ticket.id, me, if typing { TYPING_FOR_MS } else { 0 })
            .await?;
        let since = UnixMillis(UnixMillis::now().0 - PRESENT_FOR_MS);
        let others = self.store.present_on(&ticket.id, me, since).await?;
        let mut present = Vec::with_capacity(others.len());
        for (id, typing) in others {
            // Someone who may no longer read it (moved off the team, disabled) is not shown.
            let user = self.store.get_user(&id).await?;
            let principal = self.principal_of(&id).await?;
            if !user.disabled
                && self.permits(&principal, Action::TicketRead, &Resource::Ticket(ticket.facts()))
            {
                present.push(Colleague {
                    name: user.name,
                    typing,
                });
            }
        }
        Ok(present)
    }
}
