//! Reports: what happened to the tickets a supervisor or administrator may read over a
//! period — opened, solved, the backlog left, how long the first answer and the
//! solution took, the service-level targets met and missed, and the satisfaction
//! answers — in all and per team, agent, channel, priority or company, and day by day.
//!
//! Everything is counted from the domain events (when a ticket was opened, through
//! which channel, each status change, each message) and the ticket's stored state,
//! never from a node's memory, so both databases and every node give the same figures.
//! A ticket counts only if its reader may read it, decided per ticket; a duplicate
//! merged into another counts not at all (its request lives on in the survivor).
//! Groups follow the ticket's current team, assignee, priority and company.

mod figures;
mod measure;

use std::collections::{BTreeMap, HashMap};

use palisade_core::{Role, UserId};
use palisade_policy::{Action, Resource};
use palisade_store::DomainEventRecord;

use figures::Tally;
pub use figures::{Durations, Figures, percentile};

use crate::{Actor, Desk, ServiceError};

/// The events a ticket is measured by.
const MEASURED: [&str; 3] = ["ticket.created", "ticket.status_changed", "message.added"];
/// The longest period a report covers.
pub const MAX_REPORT_DAYS: i64 = 366;
const DAY_MS: i64 = 86_400_000;

/// What a report is broken down by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Team,
    Agent,
    Channel,
    Priority,
    Company,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [
        GroupBy::Team,
        GroupBy::Agent,
        GroupBy::Channel,
        GroupBy::Priority,
        GroupBy::Company,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Team => "team",
            GroupBy::Agent => "agent",
            GroupBy::Channel => "channel",
            GroupBy::Priority => "priority",
            GroupBy::Company => "company",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }
}

/// One group's figures: `key` is an id or a value (empty for "none"), `label` how a
/// person reads it (a team's or person's name; the value itself otherwise).
#[derive(Clone, Debug, PartialEq)]
pub struct ReportGroup {
    pub key: String,
    pub label: String,
    pub figures: Figures,
}

/// One day of the period (UTC): tickets opened and solved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportDay {
    pub start: i64,
    pub created: usize,
    pub solved: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The period, `[from, to)` in ms.
    pub from: i64,
    pub to: i64,
    pub total: Figures,
    pub groups: Vec<ReportGroup>,
    pub days: Vec<ReportDay>,
}

/// A day's start (ms) as `YYYY-MM-DD` (UTC).
pub fn day_text(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

impl Desk {
    /// The report over `[from, to)` (whole UTC days), broken down by `group_by`.
    pub async fn report(
        &self,
        actor: &Actor,
        from: i64,
        to: i64,
        group_by: Option<GroupBy>,
    ) -> Result<Report, ServiceError> {
        self.authorize(actor, Action::ReadReports, &Resource::Directory)
            .await?;
        if to <= from || from.rem_euclid(DAY_MS) != 0 || to.rem_euclid(DAY_MS) != 0 {
            return Err(ServiceError::conflict("refusal-report-period"));
        }
        if (to - from) / DAY_MS > MAX_REPORT_DAYS {
            return Err(ServiceError::Conflict(
                palisade_i18n::Refusal::new("refusal-report-too-long").with("max", MAX_REPORT_DAYS),
            ));
        }
        let now = self.now();
        let calendars = self.store.calendars().await?;
        let mut ratings: HashMap<String, bool> = HashMap::new();
        for r in self.store.ratings_between(from, to).await? {
            ratings.insert(r.ticket.to_string(), r.good);
        }
        let mut staff: HashMap<String, bool> = HashMap::new();
        let teams: HashMap<String, String> = self
            .store
            .list_teams()
            .await?
            .into_iter()
            .map(|t| (t.id.to_string(), t.name))
            .collect();
        let companies: HashMap<String, String> = self
            .store
            .list_companies()
            .await?
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .collect();
        let mut groups: BTreeMap<String, (String, Tally)> = BTreeMap::new();
        let mut total = Tally::default();
        let days = usize::try_from((to - from) / DAY_MS).unwrap_or(0);
        let mut daily = vec![(0usize, 0usize); days];
        let mut names: HashMap<UserId, String> = HashMap::new();
        for id in self.store.report_candidates(from, to).await? {
            let ticket = self.store.get_ticket(&id).await?;
            if ticket.merged_into.is_some()
                || !self.permits(
                    &actor.principal,
                    Action::TicketRead,
                    &Resource::Ticket(ticket.facts()),
                )
            {
                continue;
            }
            let events: Vec<DomainEventRecord> = self
                .store
                .events_of(id.as_str(), i64::MAX)
                .await?
                .into_iter()
                .filter(|e| e.at.0 < to && MEASURED.contains(&e.kind.as_str()))
                .collect();
            // Who wrote each public message matters (staff answers count): looked up
            // once per person.
            for e in &events {
                if e.kind == "message.added" && !staff.contains_key(&e.actor) {
                    let is_staff = match UserId::parse(&e.actor) {
                        Ok(u) => self
                            .store
                            .get_user(&u)
                            .await
                            .is_ok_and(|u| u.role != Role::Customer),
                        Err(_) => false,
                    };
                    staff.insert(e.actor.clone(), is_staff);
                }
            }
            let calendar = match crate::sla::levels::policy_for(&self.store, &ticket).await? {
                Some(policy) => match &policy.calendar {
                    Some(id) => calendars
                        .iter()
                        .find(|c| c.id == *id)
                        .map(crate::sla::policies::calendar_of)
                        .transpose()?,
                    None => None,
                },
                None => None,
            };
            let targets = self.store.ticket_targets(&ticket.id).await?;
            let measured = measure::Measured::of(
                &ticket,
                &events,
                &measure::Context {
                    from,
                    to,
                    now,
                    calendar: calendar.as_ref(),
                    staff: &staff,
                    targets: &targets,
                    rating: ratings.get(id.as_str()).copied(),
                },
            );
            for at in &measured.created_days {
                if let Some(day) = usize::try_from((at - from) / DAY_MS)
                    .ok()
                    .and_then(|d| daily.get_mut(d))
                {
                    day.0 += 1;
                }
            }
            for at in &measured.solved_at {
                if let Some(day) = usize::try_from((at - from) / DAY_MS)
                    .ok()
                    .and_then(|d| daily.get_mut(d))
                {
                    day.1 += 1;
                }
            }
            total.add(&measured.tally);
            if let Some(by) = group_by {
                let (key, label) = match by {
                    GroupBy::Team => {
                        let key = ticket.team.to_string();
                        let label = teams.get(&key).cloned().unwrap_or_else(|| key.clone());
                        (key, label)
                    }
                    GroupBy::Agent => match &ticket.assignee {
                        Some(user) => {
                            if !names.contains_key(user) {
                                let name = self
                                    .store
                                    .get_user(user)
                                    .await
                                    .map(|u| u.name)
                                    .unwrap_or_default();
                                names.insert(user.clone(), name);
                            }
                            (user.to_string(), names[user].clone())
                        }
                        None => (String::new(), String::new()),
                    },
                    GroupBy::Channel => (measured.channel.clone(), measured.channel.clone()),
                    GroupBy::Priority => (
                        ticket.priority.as_str().to_owned(),
                        ticket.priority.as_str().to_owned(),
                    ),
                    GroupBy::Company => match &ticket.company {
                        Some(c) => {
                            let key = c.to_string();
                            let label = companies.get(&key).cloned().unwrap_or_else(|| key.clone());
                            (key, label)
                        }
                        None => (String::new(), String::new()),
                    },
                };
                groups
                    .entry(key)
                    .or_insert_with(|| (label, Tally::default()))
                    .1
                    .add(&measured.tally);
            }
        }
        Ok(Report {
            from,
            to,
            total: total.figures(),
            groups: groups
                .into_iter()
                .map(|(key, (label, tally))| ReportGroup {
                    key,
                    label,
                    figures: tally.figures(),
                })
                .collect(),
            days: daily
                .into_iter()
                .enumerate()
                .map(|(i, (created, solved))| ReportDay {
                    start: from + i64::try_from(i).unwrap_or(0) * DAY_MS,
                    created,
                    solved,
                })
                .collect(),
        })
    }
}
