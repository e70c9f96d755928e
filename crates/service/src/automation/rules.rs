//! Administering triggers and automations: each rule is validated on save as strictly
//! as it is used, so a rule that names a missing team, a personal field or a macro its
//! team may not use is refused then, not discovered by a customer later.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{CompanyId, Priority, RuleId, TagName, TeamId, TicketStatus, TicketType, UserId};
use palisade_i18n::Refusal;
use palisade_policy::{Action, Resource};
use palisade_store::{RuleRecord, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{Actor, Desk, ServiceError, validate_line, validate_text};

/// At most this many rules.
pub const MAX_RULES: usize = 100;
/// A time-based rule waits at most a year.
pub const MAX_WAIT_MINUTES: i64 = 525_600;
/// Tags a rule adds or removes, each.
pub const MAX_RULE_TAGS: usize = 20;

/// What a trigger runs on.
pub const TRIGGER_EVENTS: [&str; 7] = [
    "ticket_created",
    "customer_replied",
    "agent_replied",
    "note_added",
    "status_changed",
    "assignee_changed",
    "team_changed",
];

/// The states a time-based rule can wait on: a status, or unsolved with nobody assigned.
pub const WAIT_STATES: [&str; 5] = ["new", "open", "pending", "solved", "unassigned"];

/// When a rule runs: on an event (a trigger), or once a ticket has stayed in a state
/// for some minutes (an automation). Exactly one of the two is given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleWhen {
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub minutes: Option<i64>,
}

/// What the ticket must be, when the rule runs, for its actions to happen: every
/// condition given must hold. A rule only ever sees its own team's tickets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleConditions {
    #[serde(default)]
    pub statuses: Vec<String>,
    #[serde(default)]
    pub priorities: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub companies: Vec<String>,
    /// Someone is assigned (`true`) or nobody is (`false`).
    #[serde(default)]
    pub assigned: Option<bool>,
    /// Tags the ticket must all carry.
    #[serde(default)]
    pub tags_all: Vec<String>,
    /// Tags the ticket must carry none of.
    #[serde(default)]
    pub tags_none: Vec<String>,
    /// A custom field's key and the value it must hold.
    #[serde(default)]
    pub field: Option<(String, String)>,
}

/// What a rule does, in this order: its reply, its macro, its field, its changes to
/// the ticket, its tags, its notifications.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleActions {
    /// A public reply to the requester (the macros' placeholders), sent by mail like
    /// any reply.
    #[serde(default)]
    pub reply: Option<String>,
    /// A shared macro the rule's team may use.
    #[serde(default)]
    pub apply_macro: Option<String>,
    #[serde(default)]
    pub set_status: Option<String>,
    #[serde(default)]
    pub set_priority: Option<String>,
    #[serde(default)]
    pub set_type: Option<String>,
    /// An agent of the rule's team, or `nobody`. (A rule never hands a ticket to
    /// another team: its team's rights route into no other.)
    #[serde(default)]
    pub assign: Option<String>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// A custom field's key and the value to give it.
    #[serde(default)]
    pub set_field: Option<(String, String)>,
    /// Tell the assignee (the team's agents while nobody is assigned).
    #[serde(default)]
    pub notify_assignee: bool,
    /// Tell the team's supervisors.
    #[serde(default)]
    pub notify_supervisors: bool,
}

impl RuleActions {
    fn is_empty(&self) -> bool {
        *self == RuleActions::default()
    }
}

/// A rule as an administrator writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDefinition {
    pub name: String,
    pub team: String,
    pub position: i64,
    pub enabled: bool,
    pub when: RuleWhen,
    pub conditions: RuleConditions,
    pub actions: RuleActions,
}

/// The part of a rule stored as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleBody {
    pub when: RuleWhen,
    pub conditions: RuleConditions,
    pub actions: RuleActions,
}

/// A stored rule, read back.
pub fn body_of(record: &RuleRecord) -> Result<RuleBody, ServiceError> {
    serde_json::from_str(&record.definition).map_err(corrupt)
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt(e.to_string()))
}

fn tags(raw: &[String]) -> Result<Vec<String>, ServiceError> {
    if raw.len() > MAX_RULE_TAGS {
        return Err(ServiceError::Invalid(
            Refusal::new("refusal-tags-at-most").with("max", MAX_RULE_TAGS),
        ));
    }
    let mut parsed = raw
        .iter()
        .map(|t| TagName::parse(t).map(|t| t.as_str().to_owned()))
        .collect::<Result<Vec<_>, _>>()?;
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

impl Desk {
    async fn manage_rules(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageAutomation, &Resource::Directory)
            .await
            .map(drop)
    }

    /// Every rule, in the order they run (administrators).
    pub async fn rules(&self, actor: &Actor) -> Result<Vec<RuleRecord>, ServiceError> {
        self.manage_rules(actor).await?;
        Ok(self.store.rules().await?)
    }

    /// Creates a rule, or with `id` replaces one; returns its id.
    pub async fn save_rule(
        &self,
        actor: &Actor,
        id: Option<&str>,
        definition: RuleDefinition,
    ) -> Result<RuleId, ServiceError> {
        self.manage_rules(actor).await?;
        let name = validate_line("name", &definition.name, 100)?;
        if !(0..=10_000).contains(&definition.position) {
            return Err(ServiceError::invalid("refusal-sla-position"));
        }
        let kind = valid_when(&definition.when)?;
        let team = self.known_team(&definition.team).await?;
        let conditions = self.valid_rule_conditions(definition.conditions).await?;
        let actions = self.valid_actions(&team, definition.actions).await?;
        let existing = self.store.rules().await?;
        let id = match id {
            Some(raw) => {
                let id = RuleId::parse(raw).map_err(|_| ServiceError::NotFound)?;
                if !existing.iter().any(|r| r.id == id) {
                    return Err(ServiceError::NotFound);
                }
                id
            }
            None if existing.len() >= MAX_RULES => {
                return Err(ServiceError::Conflict(
                    Refusal::new("refusal-rule-too-many").with("max", MAX_RULES),
                ));
            }
            None => RuleId::generate(),
        };
        let body = RuleBody {
            when: definition.when,
            conditions,
            actions,
        };
        let record = RuleRecord {
            id: id.clone(),
            name,
            kind: kind.to_owned(),
            team,
            position: definition.position,
            enabled: definition.enabled,
            definition: serde_json::to_string(&body).map_err(corrupt)?,
            updated_by: actor.principal.user_id.clone(),
            updated_at: 0,
        };
        let mut tx = self.store.begin().await?;
        self.store.put_rule(&mut tx, &record).await.map_err(|e| match e {
            StoreError::Conflict => ServiceError::conflict("refusal-rule-name-taken"),
            other => other.into(),
        })?;
        let event = AuditEvent::new(AuditAction::RuleSaved, id.to_string(), Outcome::Success)
            .with_detail(json!({ "kind": kind, "team": record.team.to_string(), "enabled": record.enabled }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes a rule; the runs it still owed are dropped with it.
    pub async fn delete_rule(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        self.manage_rules(actor).await?;
        let id = RuleId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        self.store.delete_rule(&mut tx, &id).await?;
        let event = AuditEvent::new(AuditAction::RuleDeleted, id.to_string(), Outcome::Success);
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn known_team(&self, raw: &str) -> Result<TeamId, ServiceError> {
        let id = TeamId::parse(raw).map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
        self.store
            .get_team(&id)
            .await
            .map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
        Ok(id)
    }

    async fn valid_rule_conditions(&self, mut c: RuleConditions) -> Result<RuleConditions, ServiceError> {
        for s in &c.statuses {
            TicketStatus::parse(s)?;
        }
        for p in &c.priorities {
            Priority::parse(p)?;
        }
        for t in &c.types {
            TicketType::parse(t)?;
        }
        for raw in &c.companies {
            let id = CompanyId::parse(raw).map_err(|_| ServiceError::conflict("refusal-unknown-company"))?;
            self.store
                .get_company(&id)
                .await
                .map_err(|_| ServiceError::conflict("refusal-unknown-company"))?;
        }
        c.tags_all = tags(&c.tags_all)?;
        c.tags_none = tags(&c.tags_none)?;
        if let Some((key, value)) = c.field.take() {
            c.field = Some(self.public_field_value(&key, &value).await?);
        }
        for list in [&mut c.statuses, &mut c.priorities, &mut c.types, &mut c.companies] {
            list.sort();
            list.dedup();
        }
        Ok(c)
    }

    async fn valid_actions(&self, team: &TeamId, mut a: RuleActions) -> Result<RuleActions, ServiceError> {
        if a.is_empty() {
            return Err(ServiceError::conflict("refusal-rule-nothing"));
        }
        if let Some(reply) = a.reply.take() {
            let reply = validate_text("body", &reply, 20_000)?;
            crate::macros::check_placeholders(&reply)?;
            a.reply = Some(reply);
        }
        if let Some(s) = &a.set_status {
            TicketStatus::parse(s)?;
        }
        if let Some(p) = &a.set_priority {
            Priority::parse(p)?;
        }
        if let Some(t) = &a.set_type {
            TicketType::parse(t)?;
        }
        if let Some(raw) = a.assign.as_deref().filter(|a| *a != "nobody") {
            let user = UserId::parse(raw).map_err(|_| ServiceError::conflict("refusal-assignee-team"))?;
            let member = self.store.team_members(team).await?.contains(&user);
            let takes = self
                .store
                .get_user(&user)
                .await
                .is_ok_and(|u| u.role.takes_assignments() && !u.disabled);
            if !member || !takes {
                return Err(ServiceError::conflict("refusal-assignee-team"));
            }
        }
        a.add_tags = tags(&a.add_tags)?;
        a.remove_tags = tags(&a.remove_tags)?;
        if a.add_tags.iter().any(|t| a.remove_tags.contains(t)) {
            return Err(ServiceError::conflict("refusal-rule-tag-both"));
        }
        if let Some((key, value)) = a.set_field.take() {
            a.set_field = Some(self.public_field_value(&key, &value).await?);
        }
        if let Some(raw) = &a.apply_macro {
            // The rule uses a macro with its team's rights, as Cedar decides them: a
            // personal macro, or one shared with another team, is refused here.
            let id = palisade_core::MacroId::parse(raw)
                .map_err(|_| ServiceError::conflict("refusal-rule-macro"))?;
            let record = self
                .store
                .get_macro(&id)
                .await
                .map_err(|_| ServiceError::conflict("refusal-rule-macro"))?;
            let principal = super::rule_principal(&self.automaton().await?, team);
            if !self.permits(&principal, Action::MacroUse, &Resource::Macro(record.facts())) {
                return Err(ServiceError::conflict("refusal-rule-macro"));
            }
        }
        Ok(a)
    }
}

/// Which kind of rule `when` makes, or why it makes none.
fn valid_when(when: &RuleWhen) -> Result<&'static str, ServiceError> {
    match (&when.event, &when.state, when.minutes) {
        (Some(event), None, None) => {
            if !TRIGGER_EVENTS.contains(&event.as_str()) {
                return Err(ServiceError::invalid("refusal-rule-event"));
            }
            Ok("trigger")
        }
        (None, Some(state), Some(minutes)) => {
            if !WAIT_STATES.contains(&state.as_str()) {
                return Err(ServiceError::invalid("refusal-rule-state"));
            }
            if !(1..=MAX_WAIT_MINUTES).contains(&minutes) {
                return Err(ServiceError::Invalid(
                    Refusal::new("refusal-sla-minutes").with("max", MAX_WAIT_MINUTES),
                ));
            }
            Ok("automation")
        }
        _ => Err(ServiceError::conflict("refusal-rule-when")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_runs_on_an_event_or_after_a_wait_never_both() {
        let event = |e: &str| RuleWhen {
            event: Some(e.into()),
            ..RuleWhen::default()
        };
        assert_eq!(valid_when(&event("ticket_created")).unwrap(), "trigger");
        assert!(valid_when(&event("ticket_deleted")).is_err());
        let wait = |s: &str, m: i64| RuleWhen {
            state: Some(s.into()),
            minutes: Some(m),
            ..RuleWhen::default()
        };
        assert_eq!(valid_when(&wait("pending", 60)).unwrap(), "automation");
        assert!(valid_when(&wait("pending", 0)).is_err());
        assert!(valid_when(&wait("pending", MAX_WAIT_MINUTES + 1)).is_err());
        assert!(valid_when(&wait("archived", 60)).is_err());
        assert!(valid_when(&RuleWhen::default()).is_err());
        let both = RuleWhen {
            event: Some("ticket_created".into()),
            state: Some("pending".into()),
            minutes: Some(5),
        };
        assert!(valid_when(&both).is_err());
    }

    #[test]
    fn tags_are_folded_and_bounded() {
        assert_eq!(
            tags(&["VIP".into(), "vip".into(), "billing".into()]).unwrap(),
            vec!["billing".to_owned(), "vip".to_owned()]
        );
        let many: Vec<String> = (0..=MAX_RULE_TAGS).map(|i| format!("t{i}")).collect();
        assert!(tags(&many).is_err());
    }
}
