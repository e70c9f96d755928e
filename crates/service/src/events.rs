//! Domain events: what changed, recorded in the change's transaction beside its audit
//! entry, and handed to the [`Reaction`]s that must happen with it.

use std::future::Future;
use std::pin::Pin;

use palisade_audit::AuditEvent;
use palisade_core::{MessageId, Visibility};
use palisade_store::{NewDomainEvent, TicketRecord, Tx};
use serde_json::Value;

use crate::{Actor, Desk, ServiceError};

/// A change as reactions see it: the event's kind and detail, and what it was about.
pub struct Happened<'a> {
    /// `ticket.created`, `message.added`, `ticket.status_changed`, …
    pub kind: &'static str,
    pub actor: &'a Actor,
    pub ticket: &'a TicketRecord,
    /// For `message.added`: the message, its visibility and its (redacted) text.
    pub message: Option<(&'a MessageId, Visibility, &'a str)>,
    /// Ids and states, as recorded; never content.
    pub detail: Value,
}

pub type ReactionFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ServiceError>> + Send + 'a>>;

/// Something that must happen together with a change, in its transaction (queueing
/// the mail an agent's reply sends): it exists exactly if the change does.
pub trait Reaction: Send + Sync {
    fn react<'a>(&'a self, tx: &'a mut Tx, happened: &'a Happened<'a>) -> ReactionFuture<'a>;
}

impl Desk {
    /// Runs the reactions, appends the audit entry and records the domain event, in
    /// that order and in `tx`. The two shared rows come last, in one order everywhere
    /// (the audit chain's head, then the event counter): every transaction takes its row
    /// locks before them, so two never wait for each other, and concurrent changes queue
    /// only for those last statements and the commit, not for their whole work.
    pub(crate) async fn record(
        &self,
        tx: &mut Tx,
        audit: AuditEvent,
        happened: Happened<'_>,
    ) -> Result<(), ServiceError> {
        self.react(tx, &happened).await?;
        self.store.append_audit(tx, &happened.actor.audit, &audit).await?;
        self.record_event(tx, &happened).await
    }

    /// Records the domain event and runs the reactions (for a change whose audit entry
    /// is already written).
    pub(crate) async fn publish(&self, tx: &mut Tx, happened: &Happened<'_>) -> Result<(), ServiceError> {
        self.record_event(tx, happened).await?;
        self.react(tx, happened).await
    }

    async fn react(&self, tx: &mut Tx, happened: &Happened<'_>) -> Result<(), ServiceError> {
        for reaction in &self.reactions {
            reaction.react(tx, happened).await?;
        }
        Ok(())
    }

    async fn record_event(&self, tx: &mut Tx, happened: &Happened<'_>) -> Result<(), ServiceError> {
        // A rule's change carries the rules that led to it, so the triggers it would
        // set off know where the chain stands.
        let chain = crate::automation::current_chain();
        let mut detail = happened.detail.clone();
        if !chain.is_empty()
            && let Some(object) = detail.as_object_mut()
        {
            object.insert("rules".to_owned(), serde_json::json!(chain));
        }
        self.store
            .record_event(
                tx,
                &NewDomainEvent {
                    kind: happened.kind.to_owned(),
                    subject: happened.ticket.id.to_string(),
                    channel: happened.actor.channel.as_str().to_owned(),
                    actor: happened.actor.principal.user_id.to_string(),
                    detail: detail.to_string(),
                },
            )
            .await?;
        Ok(())
    }
}
