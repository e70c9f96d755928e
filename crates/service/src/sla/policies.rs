//! Administering service levels: business-hours calendars and the policies that set
//! tickets' targets, validated as strictly on save as they are used. A change moves
//! the targets of every unsolved ticket (the `service_levels` subscriber recomputes
//! them after the change commits).

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{CalendarId, CompanyId, Priority, SlaPolicyId, TeamId, TicketType};
use palisade_i18n::Refusal;
use palisade_policy::{Action, Resource};
use palisade_store::{CalendarRecord, NewDomainEvent, SlaPolicyRecord, StoreError, Tx};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Calendar, CalendarProblem, Holiday, OpenPeriod};
use crate::{Actor, Desk, ServiceError, validate_line};

/// The event that makes every unsolved ticket's targets be computed again.
pub const LEVELS_CHANGED: &str = "service_levels.changed";
/// At most this many policies and calendars each.
pub const MAX_POLICIES: usize = 100;
/// Targets are whole minutes up to a year.
pub const MAX_TARGET_MINUTES: i64 = 525_600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarDefinition {
    pub name: String,
    pub time_zone: String,
    pub periods: Vec<OpenPeriod>,
    pub holidays: Vec<Holiday>,
}

/// What a ticket must be for a policy to apply: every condition given must hold (an
/// empty list holds for any ticket).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaConditions {
    #[serde(default)]
    pub priorities: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub companies: Vec<String>,
    /// A custom field's key and the value it must hold.
    #[serde(default)]
    pub field: Option<(String, String)>,
}

/// What happens to a ticket before or at a target's breach. Runs once per target (and
/// per next-response cycle), however many nodes run and whatever the clocks do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    /// Minutes before the target falls due; 0 at the breach itself.
    pub minutes_before: i64,
    /// Only this target (`first_response`, `next_response`, `resolution`); every one
    /// when absent.
    #[serde(default)]
    pub target: Option<String>,
    /// Tell the assignee (the team's agents while nobody is assigned).
    #[serde(default)]
    pub notify_assignee: bool,
    /// Tell the team's supervisors.
    #[serde(default)]
    pub notify_supervisors: bool,
    /// Raise the priority one step (low, normal, high, urgent).
    #[serde(default)]
    pub raise_priority: bool,
    /// Hand the ticket to this team, unassigned.
    #[serde(default)]
    pub move_to_team: Option<String>,
}

/// At most this many escalation steps per policy.
pub const MAX_ESCALATIONS: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaPolicyDefinition {
    pub name: String,
    pub position: i64,
    pub conditions: SlaConditions,
    pub first_response_minutes: Option<i64>,
    pub next_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    /// Business hours; `None` counts calendar time.
    pub calendar: Option<String>,
    pub escalations: Vec<EscalationStep>,
}

/// A stored calendar, read back.
pub(crate) fn calendar_of(record: &CalendarRecord) -> Result<Calendar, ServiceError> {
    let periods: Vec<OpenPeriod> = serde_json::from_str(&record.periods).map_err(corrupt)?;
    let holidays: Vec<Holiday> = serde_json::from_str(&record.holidays).map_err(corrupt)?;
    Calendar::new(&record.time_zone, &periods, &holidays).map_err(|_| corrupt("calendar"))
}

pub fn definition_of(record: &CalendarRecord) -> Result<CalendarDefinition, ServiceError> {
    Ok(CalendarDefinition {
        name: record.name.clone(),
        time_zone: record.time_zone.clone(),
        periods: serde_json::from_str(&record.periods).map_err(corrupt)?,
        holidays: serde_json::from_str(&record.holidays).map_err(corrupt)?,
    })
}

pub fn conditions_of(record: &SlaPolicyRecord) -> Result<SlaConditions, ServiceError> {
    serde_json::from_str(&record.conditions).map_err(corrupt)
}

pub fn escalations_of(record: &SlaPolicyRecord) -> Result<Vec<EscalationStep>, ServiceError> {
    serde_json::from_str(&record.escalations).map_err(corrupt)
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Store(StoreError::Corrupt(e.to_string()))
}

/// What makes a calendar unusable lies between its fields (a period's end before its
/// start, two periods overlapping, a zone the database lacks): a conflict, not a
/// malformed request.
fn calendar_refusal(problem: CalendarProblem) -> ServiceError {
    ServiceError::conflict(match problem {
        CalendarProblem::UnknownZone => "refusal-calendar-zone",
        CalendarProblem::BadPeriod => "refusal-calendar-period",
        CalendarProblem::Overlap => "refusal-calendar-overlap",
        CalendarProblem::NeverOpen => "refusal-calendar-never-open",
        CalendarProblem::TooManyHolidays => "refusal-calendar-holidays",
        CalendarProblem::BadHoliday => "refusal-calendar-holiday",
    })
}

fn minutes(value: Option<i64>) -> Result<Option<i64>, ServiceError> {
    match value {
        Some(m) if !(1..=MAX_TARGET_MINUTES).contains(&m) => Err(ServiceError::Invalid(
            Refusal::new("refusal-sla-minutes").with("max", MAX_TARGET_MINUTES),
        )),
        other => Ok(other),
    }
}

impl Desk {
    async fn manage_levels(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManageServiceLevels, &Resource::Directory)
            .await
            .map(drop)
    }

    /// Every calendar (administrators).
    pub async fn calendars(&self, actor: &Actor) -> Result<Vec<CalendarRecord>, ServiceError> {
        self.manage_levels(actor).await?;
        Ok(self.store.calendars().await?)
    }

    /// Creates a calendar, or with `id` replaces one; returns its id.
    pub async fn save_calendar(
        &self,
        actor: &Actor,
        id: Option<&str>,
        definition: CalendarDefinition,
    ) -> Result<CalendarId, ServiceError> {
        self.manage_levels(actor).await?;
        let name = validate_line("name", &definition.name, 100)?;
        Calendar::new(&definition.time_zone, &definition.periods, &definition.holidays)
            .map_err(calendar_refusal)?;
        let existing = self.store.calendars().await?;
        let id = match id {
            Some(raw) => {
                let id = CalendarId::parse(raw).map_err(|_| ServiceError::NotFound)?;
                if !existing.iter().any(|c| c.id == id) {
                    return Err(ServiceError::NotFound);
                }
                id
            }
            None if existing.len() >= MAX_POLICIES => {
                return Err(ServiceError::Conflict(
                    Refusal::new("refusal-sla-too-many").with("max", MAX_POLICIES),
                ));
            }
            None => CalendarId::generate(),
        };
        let record = CalendarRecord {
            id: id.clone(),
            name,
            time_zone: definition.time_zone.clone(),
            periods: serde_json::to_string(&definition.periods).map_err(corrupt)?,
            holidays: serde_json::to_string(&definition.holidays).map_err(corrupt)?,
        };
        let mut tx = self.store.begin().await?;
        self.store
            .put_calendar(&mut tx, &record)
            .await
            .map_err(|e| name_taken(e, "refusal-calendar-name-taken"))?;
        self.levels_changed(&mut tx, actor, AuditAction::CalendarSaved, id.as_str())
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes a calendar no policy counts in.
    pub async fn delete_calendar(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        self.manage_levels(actor).await?;
        let id = CalendarId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        self.store
            .delete_calendar(&mut tx, &id)
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ServiceError::conflict("refusal-calendar-in-use"),
                other => other.into(),
            })?;
        self.levels_changed(&mut tx, actor, AuditAction::CalendarDeleted, id.as_str())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every policy, in the order they are tried (administrators).
    pub async fn sla_policies(&self, actor: &Actor) -> Result<Vec<SlaPolicyRecord>, ServiceError> {
        self.manage_levels(actor).await?;
        Ok(self.store.sla_policies().await?)
    }

    /// Creates a policy, or with `id` replaces one; returns its id.
    pub async fn save_sla_policy(
        &self,
        actor: &Actor,
        id: Option<&str>,
        definition: SlaPolicyDefinition,
    ) -> Result<SlaPolicyId, ServiceError> {
        self.manage_levels(actor).await?;
        let name = validate_line("name", &definition.name, 100)?;
        let conditions = self.valid_conditions(definition.conditions).await?;
        let (first, next, resolution) = (
            minutes(definition.first_response_minutes)?,
            minutes(definition.next_response_minutes)?,
            minutes(definition.resolution_minutes)?,
        );
        if first.is_none() && next.is_none() && resolution.is_none() {
            return Err(ServiceError::conflict("refusal-sla-no-target"));
        }
        if !(0..=10_000).contains(&definition.position) {
            return Err(ServiceError::invalid("refusal-sla-position"));
        }
        let calendar = match &definition.calendar {
            Some(raw) => {
                let id =
                    CalendarId::parse(raw).map_err(|_| ServiceError::conflict("refusal-sla-no-calendar"))?;
                if !self.store.calendars().await?.iter().any(|c| c.id == id) {
                    return Err(ServiceError::conflict("refusal-sla-no-calendar"));
                }
                Some(id)
            }
            None => None,
        };
        let escalations = self.valid_escalations(definition.escalations).await?;
        let existing = self.store.sla_policies().await?;
        let id = match id {
            Some(raw) => {
                let id = SlaPolicyId::parse(raw).map_err(|_| ServiceError::NotFound)?;
                if !existing.iter().any(|p| p.id == id) {
                    return Err(ServiceError::NotFound);
                }
                id
            }
            None if existing.len() >= MAX_POLICIES => {
                return Err(ServiceError::Conflict(
                    Refusal::new("refusal-sla-too-many").with("max", MAX_POLICIES),
                ));
            }
            None => SlaPolicyId::generate(),
        };
        let record = SlaPolicyRecord {
            id: id.clone(),
            name,
            position: definition.position,
            conditions: serde_json::to_string(&conditions).map_err(corrupt)?,
            first_response_minutes: first,
            next_response_minutes: next,
            resolution_minutes: resolution,
            calendar,
            escalations: serde_json::to_string(&escalations).map_err(corrupt)?,
            updated_by: actor.principal.user_id.clone(),
        };
        let mut tx = self.store.begin().await?;
        self.store
            .put_sla_policy(&mut tx, &record)
            .await
            .map_err(|e| name_taken(e, "refusal-sla-name-taken"))?;
        self.levels_changed(&mut tx, actor, AuditAction::SlaPolicySaved, id.as_str())
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn delete_sla_policy(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        self.manage_levels(actor).await?;
        let id = SlaPolicyId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        self.store.delete_sla_policy(&mut tx, &id).await?;
        self.levels_changed(&mut tx, actor, AuditAction::SlaPolicyDeleted, id.as_str())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Conditions as stored: known priorities, types, teams and companies, and a field
    /// that exists and is not personal (its value would sit unsealed in the policy).
    async fn valid_conditions(&self, mut c: SlaConditions) -> Result<SlaConditions, ServiceError> {
        for p in &c.priorities {
            Priority::parse(p)?;
        }
        for t in &c.types {
            TicketType::parse(t)?;
        }
        let teams = self.store.list_teams().await?;
        for raw in &c.teams {
            let id = TeamId::parse(raw).map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
            if !teams.iter().any(|t| t.id == id) {
                return Err(ServiceError::conflict("refusal-unknown-team"));
            }
        }
        for raw in &c.companies {
            let id = CompanyId::parse(raw).map_err(|_| ServiceError::conflict("refusal-unknown-company"))?;
            self.store
                .get_company(&id)
                .await
                .map_err(|_| ServiceError::conflict("refusal-unknown-company"))?;
        }
        if let Some((key, value)) = c.field.take() {
            c.field = Some(self.public_field_value(&key, &value).await?);
        }
        for list in [&mut c.priorities, &mut c.types, &mut c.teams, &mut c.companies] {
            list.sort();
            list.dedup();
        }
        Ok(c)
    }

    /// Steps as stored: a known target, a time within a target's reach, something to
    /// do, and a team that exists.
    async fn valid_escalations(
        &self,
        steps: Vec<EscalationStep>,
    ) -> Result<Vec<EscalationStep>, ServiceError> {
        if steps.len() > MAX_ESCALATIONS {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-escalation-count").with("max", MAX_ESCALATIONS),
            ));
        }
        let teams = self.store.list_teams().await?;
        for step in &steps {
            if !(0..=MAX_TARGET_MINUTES).contains(&step.minutes_before) {
                return Err(ServiceError::Invalid(
                    Refusal::new("refusal-sla-minutes").with("max", MAX_TARGET_MINUTES),
                ));
            }
            if let Some(target) = &step.target
                && super::Target::parse(target).is_none()
            {
                return Err(ServiceError::invalid("refusal-escalation-target"));
            }
            if !(step.notify_assignee
                || step.notify_supervisors
                || step.raise_priority
                || step.move_to_team.is_some())
            {
                return Err(ServiceError::conflict("refusal-escalation-nothing"));
            }
            if let Some(raw) = &step.move_to_team {
                let id = TeamId::parse(raw).map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
                if !teams.iter().any(|t| t.id == id) {
                    return Err(ServiceError::conflict("refusal-unknown-team"));
                }
            }
        }
        Ok(steps)
    }

    /// Audits a change of the service levels and tells the subscriber to move every
    /// unsolved ticket's targets.
    async fn levels_changed(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        action: AuditAction,
        object: &str,
    ) -> Result<(), ServiceError> {
        // The audit head before the event counter, as everywhere (see `Desk::record`).
        let event = AuditEvent::new(action, object, Outcome::Success);
        self.store.append_audit(tx, &actor.audit, &event).await?;
        self.store
            .record_event(
                tx,
                &NewDomainEvent {
                    kind: LEVELS_CHANGED.to_owned(),
                    subject: object.to_owned(),
                    channel: actor.channel.as_str().to_owned(),
                    actor: actor.principal.user_id.to_string(),
                    detail: json!({}).to_string(),
                },
            )
            .await?;
        Ok(())
    }
}

fn name_taken(e: StoreError, id: &'static str) -> ServiceError {
    match e {
        StoreError::Conflict => ServiceError::conflict(id),
        other => other.into(),
    }
}
