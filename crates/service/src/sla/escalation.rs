//! Escalation: the steps a policy takes before and at a breach, fired from timers in the
//! database rather than in any process's memory. A step's changes commit together with
//! the mark that it fired, so it runs exactly once however many nodes look (the first
//! transaction to mark it wins; the others find it marked), and a restart or a clock
//! that jumps neither loses a step (it is still unmarked and due) nor repeats one (it
//! is marked).
//!
//! Changes to the ticket are made with the rights of the administrator who saved the
//! policy, as Cedar decides them when the step runs: a demoted or disabled author's
//! escalations still notify, but change nothing (and the refusal is audited).

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{Priority, TeamId};
use palisade_policy::{Action, Resource};
use palisade_store::{SlaTimer, TicketRecord, TicketUpdate, Tx};
use serde_json::json;

use super::EscalationStep;
use super::levels::{step_key, targets as levels_targets};
use super::policies::escalations_of;
use crate::{Actor, Channel, Desk, NotificationKind, ServiceError};

/// Steps fired per round.
const ROUND: u32 = 100;

fn raised(p: Priority) -> Option<Priority> {
    match p {
        Priority::Low => Some(Priority::Normal),
        Priority::Normal => Some(Priority::High),
        Priority::High => Some(Priority::Urgent),
        Priority::Urgent => None,
    }
}

impl Desk {
    /// Fires the escalation steps that are due now; returns how many this call fired.
    /// A step that fails is consumed with its failure audited, so one broken step
    /// never holds up the others.
    pub async fn escalate(&self, public_origin: &str) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut fired = 0;
        for timer in self.store.due_sla_timers(now, ROUND).await? {
            let mut tx = self.store.begin().await?;
            if !self.store.claim_sla_timer(&mut tx, &timer, now).await? {
                continue;
            }
            match self.run_step(&mut tx, &timer, now, public_origin).await {
                Ok(()) => tx.commit().await?,
                Err(e) => {
                    drop(tx);
                    tracing::error!(error = %e, ticket = %timer.ticket, "a service-level escalation step failed");
                    let mut tx = self.store.begin().await?;
                    if self.store.claim_sla_timer(&mut tx, &timer, now).await? {
                        let event = AuditEvent::new(
                            AuditAction::SlaEscalated,
                            timer.ticket.to_string(),
                            Outcome::Failure,
                        )
                        .with_detail(json!({ "policy": timer.policy.to_string(), "target": timer.target }));
                        self.store
                            .append_audit(&mut tx, &AuditContext::system(), &event)
                            .await?;
                    }
                    tx.commit().await?;
                }
            }
            fired += 1;
        }
        Ok(fired)
    }

    async fn run_step(
        &self,
        tx: &mut Tx,
        timer: &SlaTimer,
        now: i64,
        public_origin: &str,
    ) -> Result<(), ServiceError> {
        // The ticket as it is now, locked for the change the step may make.
        let ticket = match self.store.get_ticket_for_update(tx, &timer.ticket).await {
            Ok(t) => t,
            Err(palisade_store::StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let Some(policy) = self
            .store
            .sla_policies()
            .await?
            .into_iter()
            .find(|p| p.id == timer.policy)
        else {
            return Ok(());
        };
        let mut step = None;
        for s in escalations_of(&policy)? {
            if step_key(&s)? == timer.step {
                step = Some(s);
            }
        }
        // The policy no longer has this step: nothing to do.
        let Some(step) = step else { return Ok(()) };
        // Measured again from the ticket's whole history (the subscriber may not have
        // seen the answer that met the target yet): only a target still unmet, running
        // and within the step's reach is escalated.
        let still_owed = ticket.merged_into.is_none()
            && levels_targets(&self.store, &ticket, &policy, i64::MAX)
                .await?
                .iter()
                .any(|t| {
                    t.target == timer.target
                        && t.started_at == timer.started_at
                        && t.met_at.is_none()
                        && t.due_at
                            .is_some_and(|due| due - step.minutes_before * 60_000 <= now)
                });
        let mut done = Vec::new();
        if still_owed {
            done = self
                .step_actions(tx, &ticket, &step, &policy.updated_by, public_origin)
                .await?;
        }
        let event = AuditEvent::new(AuditAction::SlaEscalated, ticket.id.to_string(), Outcome::Success)
            .with_detail(json!({ "policy": policy.id.to_string(), "target": timer.target,
                    "minutes_before": step.minutes_before, "done": done, "owed": still_owed }));
        self.store
            .append_audit(tx, &AuditContext::system(), &event)
            .await?;
        Ok(())
    }

    /// Carries out one step; returns what it did (and what was refused) by name.
    async fn step_actions(
        &self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        step: &EscalationStep,
        author: &palisade_core::UserId,
        public_origin: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let mut done = Vec::new();
        let recipients = self
            .recipients(ticket, step.notify_assignee, step.notify_supervisors)
            .await?;
        for user in &recipients {
            self.notify(
                tx,
                user,
                NotificationKind::ServiceLevel,
                ticket,
                public_origin,
                None,
            )
            .await?;
        }
        if !recipients.is_empty() {
            done.push("notified".to_owned());
        }
        let mut update = TicketUpdate::default();
        let mut needed = Vec::new();
        if step.raise_priority
            && let Some(next) = raised(ticket.priority)
        {
            update.priority = Some(next);
            needed.push(Action::TicketClassify);
        }
        let team = step.move_to_team.as_deref().and_then(|t| TeamId::parse(t).ok());
        if let Some(team) = team.as_ref().filter(|t| **t != ticket.team) {
            update.team = Some(team.clone());
            update.assignee = Some(None);
            needed.push(Action::TicketAssign);
        }
        if needed.is_empty() {
            return Ok(done);
        }
        let principal = match self.principal_of(author).await {
            Ok(p) if !self.store.get_user(author).await?.disabled => p,
            _ => {
                done.push("refused".to_owned());
                return Ok(done);
            }
        };
        let resource = Resource::Ticket(ticket.facts());
        let mut proofs = Vec::new();
        for action in needed {
            match self.policy.authorize(&principal, action, &resource) {
                Ok(proof) => proofs.push(proof),
                Err(_) => {
                    done.push("refused".to_owned());
                    return Ok(done);
                }
            }
        }
        if let Some(team) = &update.team
            && self
                .policy
                .authorize(&principal, Action::TeamRouteTo, &Resource::Team(team.clone()))
                .is_err()
        {
            done.push("refused".to_owned());
            return Ok(done);
        }
        self.store.update_ticket(tx, &proofs, &ticket.id, &update).await?;
        let updated = self.store.get_ticket_for_update(tx, &ticket.id).await?;
        let actor = Actor {
            principal,
            audit: AuditContext::system(),
            channel: Channel::ServiceLevel,
        };
        let detail = json!({ "priority": update.priority.map(|p| p.as_str()),
                             "team": update.team.as_ref().map(ToString::to_string),
                             "version": updated.version, "channel": Channel::ServiceLevel.as_str() });
        let audit = AuditEvent::new(
            AuditAction::TicketUpdated,
            ticket.id.to_string(),
            Outcome::Success,
        )
        .with_detail(detail);
        self.store.append_audit(tx, &actor.audit, &audit).await?;
        if update.priority.is_some() {
            done.push("priority_raised".to_owned());
            self.happened(
                tx,
                &actor,
                &updated,
                "ticket.classified",
                json!({ "priority": updated.priority.as_str(), "type": updated.ticket_type.map(|t| t.as_str()) }),
            )
            .await?;
        }
        if update.team.is_some() {
            done.push("moved".to_owned());
            self.happened(
                tx,
                &actor,
                &updated,
                "ticket.team_changed",
                json!({ "from": ticket.team.to_string(), "to": updated.team.to_string() }),
            )
            .await?;
        }
        Ok(done)
    }
}
