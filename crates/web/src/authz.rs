//! The web layer's way to decisions: every one is taken, and every denial audited, by
//! `palisade-service` ([`palisade_service::Desk::authorize`]); these only turn the
//! caller into the service's actor. Reads of objects the caller may not see come back
//! as `NotFound`, exactly like objects that do not exist.

use palisade_policy::{Action, Authorized, Resource};
use palisade_store::{TicketRecord, TicketScope};

use crate::{AppError, AppState, Caller};

impl AppState {
    /// Decides `action` on `resource` for `caller`; a denial is audited and returned as
    /// `Forbidden`.
    pub async fn authorize(
        &self,
        caller: &Caller,
        action: Action,
        resource: &Resource,
    ) -> Result<Authorized, AppError> {
        Ok(self.desk().authorize(&caller.actor(), action, resource).await?)
    }

    /// Whether `action` is allowed, without auditing: for deciding what to show, never
    /// for guarding a change.
    pub fn permits(&self, caller: &Caller, action: Action, resource: &Resource) -> bool {
        self.desk().permits(&caller.principal, action, resource)
    }

    /// Loads a ticket the caller may read. Missing and forbidden are the same `NotFound`.
    pub async fn readable_ticket(
        &self,
        caller: &Caller,
        raw_id: &str,
    ) -> Result<(TicketRecord, Authorized), AppError> {
        Ok(self.desk().readable_ticket(&caller.actor(), raw_id).await?)
    }

    /// Loads a readable ticket and authorises a further action on it (403 if the caller
    /// can read but not do this).
    pub async fn ticket_for(
        &self,
        caller: &Caller,
        raw_id: &str,
        action: Action,
    ) -> Result<(TicketRecord, Authorized), AppError> {
        let (ticket, _read) = self.readable_ticket(caller, raw_id).await?;
        let proof = self
            .authorize(caller, action, &Resource::Ticket(ticket.facts()))
            .await?;
        Ok((ticket, proof))
    }

    /// The SQL pre-filter for ticket lists (see [`palisade_service::Desk::ticket_scope`]).
    pub async fn ticket_scope(&self, caller: &Caller) -> Result<TicketScope, AppError> {
        Ok(self.desk().ticket_scope(&caller.principal).await?)
    }

    /// Keeps only tickets the caller may read: the final word over any SQL filter.
    pub fn only_readable(&self, caller: &Caller, tickets: Vec<TicketRecord>) -> Vec<TicketRecord> {
        self.desk().only_readable(&caller.principal, tickets)
    }

    pub fn can_read_internal(&self, caller: &Caller, ticket: &TicketRecord) -> bool {
        self.desk().can_read_internal(&caller.principal, ticket)
    }
}
