//! The `automation` subscriber: queues the runs of the triggers an event calls for,
//! in the transaction that moves its position, so each event queues each run once.

use palisade_core::{Role, TicketId, UserId};
use palisade_store::{DomainEventRecord, RuleRun, Store, Tx};
use serde_json::Value;

use super::{MAX_CHAIN, body_of};
use crate::{ReactionFuture, ServiceError, Subscriber};

pub struct Triggers {
    store: Store,
}

impl Triggers {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The trigger event a domain event is, if any.
    async fn trigger_of(
        &self,
        event: &DomainEventRecord,
        detail: &Value,
    ) -> Result<Option<&'static str>, ServiceError> {
        Ok(match event.kind.as_str() {
            "ticket.created" => Some("ticket_created"),
            "ticket.status_changed" => Some("status_changed"),
            "ticket.assigned" => Some("assignee_changed"),
            "ticket.team_changed" => Some("team_changed"),
            "message.added" if detail["visibility"] == "internal" => Some("note_added"),
            "message.added" => {
                let by_customer = match UserId::parse(&event.actor) {
                    Ok(user) => self
                        .store
                        .get_user(&user)
                        .await
                        .is_ok_and(|u| u.role == Role::Customer),
                    Err(_) => false,
                };
                Some(if by_customer {
                    "customer_replied"
                } else {
                    "agent_replied"
                })
            }
            _ => None,
        })
    }
}

impl Subscriber for Triggers {
    fn name(&self) -> &'static str {
        "automation"
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a DomainEventRecord) -> ReactionFuture<'a> {
        Box::pin(async move {
            let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
            let Some(trigger) = self.trigger_of(event, &detail).await? else {
                return Ok(());
            };
            let chain: Vec<String> = detail["rules"]
                .as_array()
                .map(|a| a.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            // A chain of rules causing one another ends here, however it is built.
            if chain.len() >= MAX_CHAIN {
                return Ok(());
            }
            let Ok(ticket_id) = TicketId::parse(&event.subject) else {
                return Ok(());
            };
            let ticket = match self.store.get_ticket(&ticket_id).await {
                Ok(t) => t,
                Err(palisade_store::StoreError::NotFound) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            for rule in self.store.rules().await? {
                if !rule.enabled
                    || rule.kind != "trigger"
                    || rule.team != ticket.team
                    || chain.iter().any(|r| r == rule.id.as_str())
                {
                    continue;
                }
                if body_of(&rule)?.when.event.as_deref() != Some(trigger) {
                    continue;
                }
                self.store
                    .queue_rule_run(
                        tx,
                        &RuleRun {
                            rule: rule.id.clone(),
                            ticket: ticket_id.clone(),
                            event_seq: event.seq,
                            since: 0,
                            chain: serde_json::to_string(&chain).unwrap_or_else(|_| "[]".into()),
                        },
                    )
                    .await?;
            }
            Ok(())
        })
    }
}
