//! Keeping every ticket's targets current: the `service_levels` subscriber replays a
//! ticket's history through its policy's clocks whenever something happens to it, and
//! every unsolved ticket's when the policies or calendars change. What it writes goes
//! with its position in one transaction, so each event moves the targets exactly once.

use std::collections::HashMap;

use palisade_core::{Role, TicketId, UserId};
use palisade_store::{
    DomainEventRecord, SlaPolicyRecord, SlaTimer, Store, TicketRecord, TicketTargetRecord, Tx,
};
use serde_json::Value;

use super::policies::{LEVELS_CHANGED, calendar_of, conditions_of, escalations_of};
use super::{Goals, Happening, Moment, Phase, Target, progress};
use crate::{ReactionFuture, ServiceError, Subscriber};

/// The kinds of ticket event that can move a target.
const MOVING: [&str; 7] = [
    "ticket.created",
    "message.added",
    "ticket.status_changed",
    "ticket.team_changed",
    "ticket.classified",
    "ticket.fields_changed",
    "ticket.merged",
];

/// Unsolved tickets recomputed per query after a change of the policies.
const BATCH: u32 = 200;

pub struct ServiceLevels {
    store: Store,
}

impl ServiceLevels {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl Subscriber for ServiceLevels {
    fn name(&self) -> &'static str {
        "service_levels"
    }

    fn handle<'a>(&'a self, tx: &'a mut Tx, event: &'a DomainEventRecord) -> ReactionFuture<'a> {
        Box::pin(async move {
            if event.kind == LEVELS_CHANGED {
                // One batch of unsolved tickets per event: the next batch is another
                // event, so no transaction outgrows the subscriber's lease.
                let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
                let after = detail["after"].as_str().and_then(|a| TicketId::parse(a).ok());
                let batch = self.store.unsolved_ticket_ids(after.as_ref(), BATCH).await?;
                for id in &batch {
                    recompute(&self.store, tx, id, event.seq).await?;
                }
                if let Some(last) = batch.last().filter(|_| batch.len() == BATCH as usize) {
                    self.store
                        .record_event(
                            tx,
                            &palisade_store::NewDomainEvent {
                                kind: LEVELS_CHANGED.to_owned(),
                                subject: event.subject.clone(),
                                channel: event.channel.clone(),
                                actor: event.actor.clone(),
                                detail: serde_json::json!({ "after": last.to_string() }).to_string(),
                            },
                        )
                        .await?;
                }
                return Ok(());
            }
            if !MOVING.contains(&event.kind.as_str()) {
                return Ok(());
            }
            let Ok(ticket) = TicketId::parse(&event.subject) else {
                return Ok(());
            };
            recompute(&self.store, tx, &ticket, event.seq).await
        })
    }
}

/// Rewrites `ticket`'s targets from its history up to event `until`.
async fn recompute(store: &Store, tx: &mut Tx, id: &TicketId, until: i64) -> Result<(), ServiceError> {
    let ticket = match store.get_ticket(id).await {
        Ok(t) => t,
        Err(palisade_store::StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let (targets, timers) = match (&ticket.merged_into, policy_for(store, &ticket).await?) {
        // A duplicate's thread goes on in the ticket it was merged into.
        (Some(_), _) | (None, None) => (Vec::new(), Vec::new()),
        (None, Some(policy)) => {
            let targets = targets(store, &ticket, &policy, until).await?;
            let timers = timers(&policy, &targets)?;
            (targets, timers)
        }
    };
    store.replace_ticket_targets(tx, id, &targets).await?;
    store.sync_sla_timers(tx, id, &timers).await?;
    Ok(())
}

/// A step's name in its timers: its own content, so a timer never stands for another
/// step after the policy's steps are reordered or edited.
pub(crate) fn step_key(step: &super::EscalationStep) -> Result<String, ServiceError> {
    serde_json::to_string(step)
        .map_err(|e| ServiceError::Store(palisade_store::StoreError::Corrupt(e.to_string())))
}

/// The escalation steps still to come for the unmet, running targets.
fn timers(policy: &SlaPolicyRecord, targets: &[TicketTargetRecord]) -> Result<Vec<SlaTimer>, ServiceError> {
    let steps = escalations_of(policy)?;
    let mut out = Vec::new();
    for t in targets.iter().filter(|t| t.met_at.is_none()) {
        let Some(due) = t.due_at else { continue };
        for step in &steps {
            if step.target.as_ref().is_some_and(|only| *only != t.target) {
                continue;
            }
            out.push(SlaTimer {
                ticket: t.ticket.clone(),
                target: t.target.clone(),
                started_at: t.started_at,
                policy: policy.id.clone(),
                step: step_key(step)?,
                fire_at: due - step.minutes_before * 60_000,
            });
        }
    }
    Ok(out)
}

/// The first policy, in order, whose conditions the ticket meets.
pub(crate) async fn policy_for(
    store: &Store,
    ticket: &TicketRecord,
) -> Result<Option<SlaPolicyRecord>, ServiceError> {
    let policies = store.sla_policies().await?;
    if policies.is_empty() {
        return Ok(None);
    }
    let mut values: Option<Vec<(String, String)>> = None;
    for policy in policies {
        let c = conditions_of(&policy)?;
        let holds = (c.priorities.is_empty() || c.priorities.iter().any(|p| p == ticket.priority.as_str()))
            && (c.types.is_empty()
                || ticket
                    .ticket_type
                    .is_some_and(|t| c.types.iter().any(|x| x == t.as_str())))
            && (c.teams.is_empty() || c.teams.iter().any(|t| t == ticket.team.as_str()))
            && (c.companies.is_empty()
                || ticket
                    .company
                    .as_ref()
                    .is_some_and(|co| c.companies.iter().any(|x| x == co.as_str())));
        if !holds {
            continue;
        }
        if let Some((key, value)) = &c.field {
            if values.is_none() {
                values = Some(field_values(store, ticket).await?);
            }
            let matches = values
                .as_ref()
                .is_some_and(|v| v.iter().any(|(k, v)| k == key && v == value));
            if !matches {
                continue;
            }
        }
        return Ok(Some(policy));
    }
    Ok(None)
}

/// The ticket's custom field values by key.
async fn field_values(store: &Store, ticket: &TicketRecord) -> Result<Vec<(String, String)>, ServiceError> {
    let fields = store.fields().await?;
    Ok(store
        .field_values(ticket)
        .await?
        .into_iter()
        .filter_map(|(id, value)| {
            fields
                .iter()
                .find(|f| f.id == id)
                .map(|f| (f.definition.key.clone(), value))
        })
        .collect())
}

pub(crate) async fn targets(
    store: &Store,
    ticket: &TicketRecord,
    policy: &SlaPolicyRecord,
    until: i64,
) -> Result<Vec<TicketTargetRecord>, ServiceError> {
    let calendar = match &policy.calendar {
        Some(id) => match store.calendars().await?.iter().find(|c| c.id == *id) {
            Some(record) => Some(calendar_of(record)?),
            None => None,
        },
        None => None,
    };
    let minute = |m: Option<i64>| m.map(|m| m * 60_000);
    let goals = Goals {
        first_response: minute(policy.first_response_minutes),
        next_response: minute(policy.next_response_minutes),
        resolution: minute(policy.resolution_minutes),
        calendar: calendar.as_ref(),
    };
    let history = history(store, ticket, until).await?;
    Ok(progress(&goals, &history)
        .into_iter()
        .map(|p| TicketTargetRecord {
            ticket: ticket.id.clone(),
            target: p.target.as_str().to_owned(),
            policy: policy.id.clone(),
            started_at: p.started_at,
            due_at: p.due_at,
            remaining_ms: p.remaining_ms,
            met_at: p.met_at,
        })
        .collect())
}

/// What the clocks hear of the ticket: its opening, public replies by staff and by
/// customers, and its status moving between running, waiting and done.
async fn history(store: &Store, ticket: &TicketRecord, until: i64) -> Result<Vec<Happening>, ServiceError> {
    let mut roles: HashMap<String, Role> = HashMap::new();
    let mut out = vec![Happening {
        at: ticket.created_at.0,
        moment: Moment::Opened,
    }];
    for event in store.events_of(ticket.id.as_str(), until).await? {
        let detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
        let moment = match event.kind.as_str() {
            // A rule's automatic reply answers nobody: it neither meets a response
            // target nor counts as the customer writing again.
            "message.added" if event.channel == crate::Channel::Automation.as_str() => continue,
            "message.added" if detail["visibility"] == "public" => {
                let role = match roles.get(&event.actor) {
                    Some(role) => *role,
                    None => {
                        let role = match UserId::parse(&event.actor) {
                            Ok(user) => match store.get_user(&user).await {
                                Ok(u) => u.role,
                                Err(palisade_store::StoreError::NotFound) => Role::Customer,
                                Err(e) => return Err(e.into()),
                            },
                            Err(_) => Role::Customer,
                        };
                        roles.insert(event.actor.clone(), role);
                        role
                    }
                };
                if role.is_staff() {
                    Moment::StaffReplied
                } else {
                    Moment::CustomerReplied
                }
            }
            "ticket.status_changed" => match detail["to"].as_str() {
                Some("new" | "open") => Moment::Phase(Phase::Running),
                Some("pending") => Moment::Phase(Phase::Waiting),
                Some("solved" | "closed") => Moment::Phase(Phase::Done),
                _ => continue,
            },
            _ => continue,
        };
        out.push(Happening {
            at: event.at.0.max(ticket.created_at.0),
            moment,
        });
    }
    Ok(out)
}

/// A target of a ticket as the pages and the API show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetView {
    pub target: Target,
    pub due_at: Option<i64>,
    pub remaining_ms: Option<i64>,
    pub met_at: Option<i64>,
    pub breached: bool,
}

impl TargetView {
    pub(crate) fn of(record: &TicketTargetRecord, now: i64) -> Option<Self> {
        let target = Target::parse(&record.target)?;
        let breached = super::clock::breached(record.met_at, record.due_at, now);
        Some(Self {
            target,
            due_at: record.due_at,
            remaining_ms: record.remaining_ms,
            met_at: record.met_at,
            breached,
        })
    }
}

impl crate::Desk {
    /// The ticket's service-level targets for staff who read it (the caller read the
    /// ticket through its own authorisation); customers are shown none.
    pub async fn targets_shown(
        &self,
        actor: &crate::Actor,
        ticket: &TicketRecord,
    ) -> Result<Vec<TargetView>, ServiceError> {
        if !self.sees_workspace(&actor.principal) {
            return Ok(Vec::new());
        }
        let now = self.now();
        Ok(self
            .store
            .ticket_targets(&ticket.id)
            .await?
            .iter()
            .filter_map(|r| TargetView::of(r, now))
            .collect())
    }
}
