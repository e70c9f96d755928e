//! The subscriber that turns domain events into queued deliveries: one per enabled
//! endpoint asking for the event's type (and, when it names a team, for that team's
//! tickets), in the dispatcher's transaction, so each event is queued exactly once and
//! in the order events happened.

use palisade_core::TicketId;
use palisade_store::{DomainEventRecord, Store, StoreError, Tx};

use super::WEBHOOK_EVENT_TYPES;
use crate::{ReactionFuture, ServiceError, Subscriber};

pub struct WebhookQueue {
    store: Store,
}

impl WebhookQueue {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn queue(&self, tx: &mut Tx, event: &DomainEventRecord) -> Result<(), ServiceError> {
        if !WEBHOOK_EVENT_TYPES.contains(&event.kind.as_str()) {
            return Ok(());
        }
        let endpoints: Vec<_> = self
            .store
            .webhook_endpoints()
            .await?
            .into_iter()
            .filter(|e| e.event_types.contains(&event.kind))
            .collect();
        if endpoints.is_empty() {
            return Ok(());
        }
        let Ok(ticket_id) = TicketId::parse(&event.subject) else {
            return Ok(());
        };
        // The ticket's team now, which is its team at the event or a later move's: a
        // ticket moved away is no longer that team's business.
        let team = match self.store.get_ticket(&ticket_id).await {
            Ok(ticket) => Some(ticket.team),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        for endpoint in endpoints {
            if endpoint.team.is_some() && endpoint.team != team {
                continue;
            }
            self.store
                .enqueue_webhook(tx, &endpoint.id, event.seq, &event.kind, &ticket_id)
                .await?;
        }
        Ok(())
    }
}

impl Subscriber for WebhookQueue {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a DomainEventRecord) -> ReactionFuture<'a> {
        Box::pin(self.queue(tx, event))
    }
}
