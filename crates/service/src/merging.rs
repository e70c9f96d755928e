//! Merging duplicate tickets and linking related ones: both only between tickets the
//! actor may change, each decided on both tickets.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::TicketId;
use palisade_policy::{Action, Authorized, Resource};
use palisade_store::{MergeMoved, TicketRecord, Tx};
use serde_json::json;

use crate::{Actor, Desk, Happened, ServiceError};

/// The refusal of any write to a merged duplicate.
pub(crate) fn merged() -> ServiceError {
    ServiceError::conflict("refusal-ticket-merged")
}

/// The longest chain of merges followed (a survivor later merged itself): merges only
/// ever go into tickets that were not merged, so a real chain is short.
const MAX_MERGE_HOPS: usize = 16;

impl Desk {
    /// Merges the ticket `duplicate_id` into `survivor_id`: its messages, files,
    /// participants, followers and tags move to the survivor, it is closed and points
    /// there, and mail to its old reply addresses continues on the survivor. The actor
    /// needs `ticket.merge` on both; an unreadable ticket is not found, either way.
    pub async fn merge_ticket(
        &self,
        actor: &Actor,
        duplicate_id: &str,
        survivor_id: &str,
    ) -> Result<(TicketRecord, MergeMoved), ServiceError> {
        let tx = self.store.begin().await?;
        let (mut tx, duplicate, survivor, proofs) = self
            .two_tickets(tx, actor, duplicate_id, survivor_id, Action::TicketMerge)
            .await?;
        if duplicate.id == survivor.id {
            return Err(ServiceError::invalid("refusal-merge-itself"));
        }
        // Neither ticket was merged already: `ticket_in` refuses every write to one.
        let moved = self
            .store
            .merge_tickets(&mut tx, &proofs, &duplicate, &survivor)
            .await?;
        let survivor = self.store.get_ticket_for_update(&mut tx, &survivor.id).await?;
        let detail = json!({
            "into": survivor.id.to_string(),
            "into_number": survivor.number,
            "messages": moved.messages,
            "attachments": moved.attachments,
            "participants": moved.participants,
            "channel": actor.channel.as_str(),
        });
        let audit = AuditEvent::new(
            AuditAction::TicketMerged,
            duplicate.id.to_string(),
            Outcome::Success,
        )
        .with_detail(detail.clone());
        let happened = Happened {
            kind: "ticket.merged",
            actor,
            ticket: &duplicate,
            message: None,
            detail: detail.clone(),
        };
        self.record(&mut tx, audit, happened).await?;
        self.happened(
            &mut tx,
            actor,
            &survivor,
            "ticket.merged_in",
            json!({ "from": duplicate.id.to_string(), "from_number": duplicate.number }),
        )
        .await?;
        tx.commit().await?;
        Ok((survivor, moved))
    }

    /// Links two related tickets; `ticket.link` on both. Linking twice changes nothing.
    pub async fn link_tickets(
        &self,
        actor: &Actor,
        one_id: &str,
        other_id: &str,
    ) -> Result<(), ServiceError> {
        self.change_link(actor, one_id, other_id, true).await
    }

    /// Removes the link between two tickets; `ticket.link` on both. Removing a link
    /// that is not there changes nothing.
    pub async fn unlink_tickets(
        &self,
        actor: &Actor,
        one_id: &str,
        other_id: &str,
    ) -> Result<(), ServiceError> {
        self.change_link(actor, one_id, other_id, false).await
    }

    async fn change_link(
        &self,
        actor: &Actor,
        one_id: &str,
        other_id: &str,
        link: bool,
    ) -> Result<(), ServiceError> {
        let tx = self.store.begin().await?;
        let (mut tx, one, other, proofs) = self
            .two_tickets(tx, actor, one_id, other_id, Action::TicketLink)
            .await?;
        if one.id == other.id {
            return Err(ServiceError::invalid("refusal-link-itself"));
        }
        let by = &actor.principal.user_id;
        // Both ways are idempotent: linking twice or removing a missing link writes
        // nothing and is not an error.
        let changed = if link {
            self.store
                .link_tickets(&mut tx, &proofs, &one.id, &other.id, by)
                .await?
        } else {
            self.store
                .unlink_tickets(&mut tx, &proofs, &one.id, &other.id)
                .await?
        };
        if changed {
            let action = if link {
                AuditAction::TicketLinked
            } else {
                AuditAction::TicketUnlinked
            };
            let detail = json!({ "other": other.id.to_string(), "channel": actor.channel.as_str() });
            let audit = AuditEvent::new(action, one.id.to_string(), Outcome::Success).with_detail(detail);
            self.store.append_audit(&mut tx, &actor.audit, &audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The tickets linked to `raw_id` that the actor may read (the others are left out
    /// unmentioned).
    pub async fn linked_tickets(
        &self,
        actor: &Actor,
        raw_id: &str,
    ) -> Result<Vec<TicketRecord>, ServiceError> {
        let (ticket, _proof) = self.readable_ticket(actor, raw_id).await?;
        let mut readable = Vec::new();
        for id in self.store.linked_tickets(&ticket.id).await? {
            let linked = self.store.get_ticket(&id).await?;
            if self.permits(
                &actor.principal,
                Action::TicketRead,
                &Resource::Ticket(linked.facts()),
            ) {
                readable.push(linked);
            }
        }
        Ok(readable)
    }

    /// The survivor a merged ticket now lives on, when the actor may read it.
    pub async fn merged_survivor(
        &self,
        actor: &Actor,
        ticket: &TicketRecord,
    ) -> Result<Option<TicketRecord>, ServiceError> {
        let Some(into) = &ticket.merged_into else {
            return Ok(None);
        };
        let survivor = self.store.get_ticket(into).await?;
        let readable = self.permits(
            &actor.principal,
            Action::TicketRead,
            &Resource::Ticket(survivor.facts()),
        );
        Ok(readable.then_some(survivor))
    }

    /// The id of the ticket numbered `number`, for forms that name tickets by number;
    /// whether the actor may touch it is decided by the use case it is given to.
    pub async fn ticket_id_for_number(&self, number: i64) -> Result<Option<TicketId>, ServiceError> {
        Ok(self.store.ticket_id_by_number(number).await?)
    }

    /// Where mail to a merged ticket's reply address belongs: the end of its chain of
    /// merges, read for update in `tx`.
    pub(crate) async fn follow_merges(
        &self,
        tx: &mut Tx,
        ticket: TicketRecord,
    ) -> Result<TicketRecord, ServiceError> {
        let mut ticket = ticket;
        for _ in 0..MAX_MERGE_HOPS {
            let Some(into) = ticket.merged_into.clone() else {
                return Ok(ticket);
            };
            ticket = self.store.get_ticket_for_update(tx, &into).await?;
        }
        Err(ServiceError::conflict("refusal-merge-chain"))
    }

    /// Reads both tickets for update (the smaller id first, so two concurrent changes
    /// of the same pair cannot deadlock) and decides `action` on each: a ticket the
    /// actor may not read is not found, one they may read but not change is forbidden.
    async fn two_tickets(
        &self,
        tx: Tx,
        actor: &Actor,
        first_id: &str,
        second_id: &str,
        action: Action,
    ) -> Result<(Tx, TicketRecord, TicketRecord, Vec<Authorized>), ServiceError> {
        let swap = second_id < first_id;
        let (early, late) = if swap {
            (second_id, first_id)
        } else {
            (first_id, second_id)
        };
        let (tx, early_ticket, early_proof) = self.ticket_in(tx, actor, early, action).await?;
        if early == late {
            return Ok((tx, early_ticket.clone(), early_ticket, vec![early_proof]));
        }
        let (tx, late_ticket, late_proof) = self.ticket_in(tx, actor, late, action).await?;
        let proofs = vec![early_proof, late_proof];
        Ok(if swap {
            (tx, late_ticket, early_ticket, proofs)
        } else {
            (tx, early_ticket, late_ticket, proofs)
        })
    }
}
