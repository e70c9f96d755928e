//! Making the queued runs, and queueing the time-based ones that fell due.
//!
//! A run is claimed in its own transaction before it acts, so however many nodes look,
//! it happens at most once; its actions then go through the ordinary use cases, each
//! committing as it would for a person, and its outcome is recorded (and audited with
//! the rule) at the end. A run that fails part-way keeps what it did and says so.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{MacroId, Priority, RuleId, TagName, TicketStatus, TicketType, UserId, Visibility};
use palisade_policy::{Action, Resource};
use palisade_store::{RuleRecord, RuleRun, TicketRecord, TicketUpdate, Waiting};
use serde_json::json;

use super::{RULE_CHAIN, RuleActions, RuleBody, RuleConditions, body_of, rule_principal};
use crate::{Actor, Channel, Desk, NotificationKind, ServiceError};

/// Runs made, and tickets looked at per time-based rule, per round.
const ROUND: u32 = 100;

fn waiting(state: &str) -> Waiting<'_> {
    match state {
        "unassigned" => Waiting::Unassigned,
        status => Waiting::Status(status),
    }
}

/// How a run ended, as its record and audit entry name it.
enum Ended {
    Done(Vec<&'static str>),
    Skipped(&'static str),
    Refused(Action),
    Failed(Vec<&'static str>, ServiceError),
}

impl Desk {
    /// Queues a run of every enabled time-based rule for each of its team's tickets
    /// that has waited in the rule's state long enough — once per stay: a ticket that
    /// leaves the state and comes back waits again. Returns how many it queued.
    pub async fn sweep_automations(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let mut queued = 0;
        for rule in self.store.rules().await? {
            if !rule.enabled || rule.kind != "automation" {
                continue;
            }
            let body = body_of(&rule)?;
            let (Some(state), Some(minutes)) = (body.when.state.as_deref(), body.when.minutes) else {
                continue;
            };
            let cutoff = now - minutes * 60_000;
            let due = self
                .store
                .waiting_tickets(&rule.id, &rule.team, waiting(state), cutoff, ROUND)
                .await?;
            if due.is_empty() {
                continue;
            }
            let mut tx = self.store.begin().await?;
            for (ticket, since) in due {
                let run = RuleRun {
                    rule: rule.id.clone(),
                    ticket,
                    event_seq: 0,
                    since,
                    chain: "[]".to_owned(),
                };
                if self.store.queue_rule_run(&mut tx, &run).await? {
                    queued += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(queued)
    }

    /// Makes the queued runs (up to a round); returns how many this call made.
    pub async fn run_rules(&self, public_origin: &str) -> Result<usize, ServiceError> {
        let pending = self.store.pending_rule_runs(ROUND).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let automaton = self.automaton().await?;
        let rules = self.store.rules().await?;
        let mut made = 0;
        for run in pending {
            let mut tx = self.store.begin().await?;
            if !self.store.claim_rule_run(&mut tx, &run).await? {
                continue;
            }
            tx.commit().await?;
            let rule = rules.iter().find(|r| r.id == run.rule);
            let ended = match rule {
                Some(rule) if rule.enabled => {
                    let mut chain: Vec<String> = serde_json::from_str(&run.chain).unwrap_or_default();
                    chain.push(rule.id.to_string());
                    RULE_CHAIN
                        .scope(chain, self.make_run(rule, &run, &automaton, public_origin))
                        .await
                }
                _ => Ended::Skipped("rule_gone"),
            };
            self.finish_run(&run, ended).await?;
            made += 1;
        }
        Ok(made)
    }

    async fn finish_run(&self, run: &RuleRun, ended: Ended) -> Result<(), ServiceError> {
        let (outcome, audited, detail) = match &ended {
            Ended::Done(done) => ("done", Outcome::Success, json!({ "done": done })),
            Ended::Skipped(why) => ("skipped", Outcome::Success, json!({ "skipped": why })),
            Ended::Refused(action) => (
                "refused",
                Outcome::Denied,
                json!({ "refused": action.cedar_id() }),
            ),
            Ended::Failed(done, e) => {
                tracing::error!(error = %e, rule = %run.rule, ticket = %run.ticket, "a rule failed part-way");
                (
                    "failed",
                    Outcome::Failure,
                    json!({ "done": done, "failed": e.kind() }),
                )
            }
        };
        let mut detail = detail;
        detail["rule"] = json!(run.rule.to_string());
        detail["event"] = json!(run.event_seq);
        detail["since"] = json!(run.since);
        let mut tx = self.store.begin().await?;
        self.store.finish_rule_run(&mut tx, run, outcome).await?;
        let event =
            AuditEvent::new(AuditAction::RuleRan, run.ticket.to_string(), audited).with_detail(detail);
        self.store
            .append_audit(&mut tx, &rule_audit(&run.rule), &event)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn make_run(
        &self,
        rule: &RuleRecord,
        run: &RuleRun,
        automaton: &UserId,
        public_origin: &str,
    ) -> Ended {
        let body = match body_of(rule) {
            Ok(b) => b,
            Err(e) => return Ended::Failed(Vec::new(), e),
        };
        let actor = Actor {
            principal: rule_principal(automaton, &rule.team),
            audit: rule_audit(&rule.id),
            channel: Channel::Automation,
        };
        // The ticket as it is now, read with the rule's rights: one that left the
        // team is no longer the rule's business.
        let ticket = match self.readable_ticket(&actor, run.ticket.as_str()).await {
            Ok((t, _)) => t,
            Err(ServiceError::NotFound | ServiceError::Forbidden) => return Ended::Skipped("out_of_reach"),
            Err(e) => return Ended::Failed(Vec::new(), e),
        };
        if ticket.merged_into.is_some() || ticket.team != rule.team {
            return Ended::Skipped("out_of_reach");
        }
        match self.still_due(&body, run, &ticket).await {
            Ok(true) => {}
            Ok(false) => return Ended::Skipped("state_left"),
            Err(e) => return Ended::Failed(Vec::new(), e),
        }
        match self.conditions_hold(&body.conditions, &ticket).await {
            Ok(true) => {}
            Ok(false) => return Ended::Skipped("conditions"),
            Err(e) => return Ended::Failed(Vec::new(), e),
        }
        // Everything the rule would do is decided before any of it happens.
        let a = &body.actions;
        if let Some(action) = self.refused_action(&actor, &ticket, a) {
            if let Err(e) = self
                .audit_denial(&actor.audit, action, ticket.id.as_str(), "denied")
                .await
            {
                return Ended::Failed(Vec::new(), e);
            }
            return Ended::Refused(action);
        }
        // A rule that fills in a field is judged on solving once it has (the update
        // checks again); one that does not is refused before it does anything.
        let status = a.set_status.as_deref().and_then(|s| TicketStatus::parse(s).ok());
        if a.set_field.is_none()
            && let Err(e) = self.require_fields_to_solve(&ticket, status).await
        {
            return Ended::Failed(Vec::new(), e);
        }
        let mut done = Vec::new();
        match self
            .act(&actor, &ticket, a, public_origin, &rule.name, &mut done)
            .await
        {
            Ok(()) => Ended::Done(done),
            Err(e) => Ended::Failed(done, e),
        }
    }

    /// A time-based run still stands only while the ticket is in the stay it was
    /// queued for.
    async fn still_due(
        &self,
        body: &RuleBody,
        run: &RuleRun,
        ticket: &TicketRecord,
    ) -> Result<bool, ServiceError> {
        let Some(state) = body.when.state.as_deref() else {
            return Ok(true);
        };
        let in_state = match state {
            "unassigned" => {
                ticket.assignee.is_none()
                    && !matches!(ticket.status, TicketStatus::Solved | TicketStatus::Closed)
            }
            status => ticket.status.as_str() == status,
        };
        if !in_state {
            return Ok(false);
        }
        Ok(self.store.waiting_since(&ticket.id, waiting(state)).await? == Some(run.since))
    }

    async fn conditions_hold(&self, c: &RuleConditions, ticket: &TicketRecord) -> Result<bool, ServiceError> {
        let one_of = |list: &[String], value: &str| list.is_empty() || list.iter().any(|x| x == value);
        let holds = one_of(&c.statuses, ticket.status.as_str())
            && one_of(&c.priorities, ticket.priority.as_str())
            && (c.types.is_empty()
                || ticket
                    .ticket_type
                    .is_some_and(|t| c.types.iter().any(|x| x == t.as_str())))
            && (c.companies.is_empty()
                || ticket
                    .company
                    .as_ref()
                    .is_some_and(|co| c.companies.iter().any(|x| x == co.as_str())))
            && c.assigned.is_none_or(|a| a == ticket.assignee.is_some())
            && c.tags_all
                .iter()
                .all(|t| ticket.tags.iter().any(|x| x.as_str() == t))
            && !c
                .tags_none
                .iter()
                .any(|t| ticket.tags.iter().any(|x| x.as_str() == t));
        if !holds {
            return Ok(false);
        }
        if let Some((key, value)) = &c.field {
            let values = self.store.field_values(ticket).await?;
            let fields = self.store.fields().await?;
            let held = fields
                .iter()
                .find(|f| f.definition.key == *key)
                .and_then(|f| values.iter().find(|(id, _)| *id == f.id).map(|(_, v)| v.clone()));
            return Ok(held.as_deref() == Some(value.as_str()));
        }
        Ok(true)
    }

    /// The first action the rule's principal may not take on this ticket, if any.
    fn refused_action(&self, actor: &Actor, ticket: &TicketRecord, a: &RuleActions) -> Option<Action> {
        let mut needed = Vec::new();
        if a.reply.is_some() {
            needed.push(Action::TicketReply);
        }
        if a.set_status.is_some() {
            needed.push(Action::TicketSetStatus);
        }
        if a.set_priority.is_some() || a.set_type.is_some() {
            needed.push(Action::TicketClassify);
        }
        if a.assign.is_some() {
            needed.push(Action::TicketAssign);
        }
        if !a.add_tags.is_empty() || !a.remove_tags.is_empty() {
            needed.push(Action::TicketTag);
        }
        if a.set_field.is_some() {
            needed.push(Action::TicketSetFields);
        }
        let resource = Resource::Ticket(ticket.facts());
        needed
            .into_iter()
            .find(|action| !self.permits(&actor.principal, *action, &resource))
    }

    /// Carries the actions out through the use cases, naming each in `done`.
    async fn act(
        &self,
        actor: &Actor,
        ticket: &TicketRecord,
        a: &RuleActions,
        public_origin: &str,
        rule_name: &str,
        done: &mut Vec<&'static str>,
    ) -> Result<(), ServiceError> {
        let id = ticket.id.to_string();
        if let Some(reply) = &a.reply {
            let requester = self.store.get_user(&ticket.requester).await?;
            let text = crate::macros::render(reply, &requester.name, ticket.number, "");
            self.add_message(actor, &id, text.trim_end(), Visibility::Public)
                .await?;
            done.push("replied");
        }
        if let Some(raw) = &a.apply_macro {
            MacroId::parse(raw).map_err(|_| ServiceError::NotFound)?;
            self.apply_macro(actor, &id, raw).await?;
            done.push("macro_applied");
        }
        if let Some((key, value)) = &a.set_field {
            self.set_ticket_fields(actor, &id, &[(key.clone(), Some(value.clone()))], None)
                .await?;
            done.push("field_set");
        }
        let update = TicketUpdate {
            status: a.set_status.as_deref().map(TicketStatus::parse).transpose()?,
            priority: a.set_priority.as_deref().map(Priority::parse).transpose()?,
            ticket_type: a
                .set_type
                .as_deref()
                .map(TicketType::parse)
                .transpose()?
                .map(Some),
            team: None,
            assignee: match a.assign.as_deref() {
                None => None,
                Some("nobody") => Some(None),
                Some(raw) => Some(Some(UserId::parse(raw)?)),
            },
        };
        if !update.is_empty() {
            self.update_ticket(actor, &id, update, None).await?;
            done.push("updated");
        }
        if !a.add_tags.is_empty() || !a.remove_tags.is_empty() {
            let (now, _) = self.readable_ticket(actor, &id).await?;
            let mut tags: Vec<TagName> = now
                .tags
                .iter()
                .filter(|t| !a.remove_tags.iter().any(|r| r == t.as_str()))
                .cloned()
                .collect();
            for tag in &a.add_tags {
                let tag = TagName::parse(tag)?;
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
            if tags != now.tags {
                self.set_tags(actor, &id, tags).await?;
                done.push("tagged");
            }
        }
        if a.notify_assignee || a.notify_supervisors {
            let (now, _) = self.readable_ticket(actor, &id).await?;
            let recipients = self
                .recipients(&now, a.notify_assignee, a.notify_supervisors)
                .await?;
            let mut tx = self.store.begin().await?;
            for user in &recipients {
                self.notify(
                    &mut tx,
                    user,
                    NotificationKind::Rule,
                    &now,
                    public_origin,
                    Some(rule_name),
                )
                .await?;
            }
            tx.commit().await?;
            if !recipients.is_empty() {
                done.push("notified");
            }
        }
        Ok(())
    }
}

/// Whose change the audit trail names: the rule itself.
fn rule_audit(rule: &RuleId) -> AuditContext {
    AuditContext {
        actor: format!("rule:{rule}"),
        ..AuditContext::default()
    }
}
