//! The working queue: the built-in views every staff member has (my open tickets,
//! unassigned in my teams, open in my teams, pending, recently solved), their counts,
//! and filtered lists. Every list and count stays within the reader's ticket scope
//! (the SQL mirror of the policies) and every listed ticket is authorised one by one,
//! so a filter naming another team's tickets finds only what the reader may read.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{
    CompanyId, Principal, Priority, TagName, TeamId, TicketStatus, TicketType, UnixMillis, UserId, ViewId,
};
use palisade_policy::{Action, Resource, ViewFacts};
use palisade_store::{
    AssigneeFilter, Cursor, Page, SavedFilter, SavedViewRecord, TargetFilter, TicketFilter, TicketRecord,
    TicketSort,
};
use serde_json::json;

use crate::{Actor, Desk, ServiceError, validate_text};

/// How far back "recently solved" reaches.
const RECENTLY_SOLVED_DAYS: i64 = 7;
const MAX_PAGE: u32 = 100;

/// The statuses of a ticket someone still has to act on.
const UNSOLVED: [TicketStatus; 3] = [TicketStatus::New, TicketStatus::Open, TicketStatus::Pending];

/// A view every staff member has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltInView {
    /// Unsolved and assigned to me.
    Mine,
    /// Unsolved and assigned to nobody, in my teams.
    Unassigned,
    /// Unsolved, in my teams.
    TeamOpen,
    /// Waiting for the customer, in my teams.
    Pending,
    /// Solved or closed in the last seven days, in my teams.
    RecentlySolved,
}

impl BuiltInView {
    pub const ALL: [BuiltInView; 5] = [
        BuiltInView::Mine,
        BuiltInView::Unassigned,
        BuiltInView::TeamOpen,
        BuiltInView::Pending,
        BuiltInView::RecentlySolved,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::Mine => "mine",
            Self::Unassigned => "unassigned",
            Self::TeamOpen => "team-open",
            Self::Pending => "pending",
            Self::RecentlySolved => "recently-solved",
        }
    }

    pub fn parse(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.slug() == slug)
    }

    /// The filter this view stands for, for `principal`. "My teams" are the teams the
    /// reader belongs to; someone in no team (an administrator, a supervisor) sees every
    /// team their scope allows.
    pub fn filter(self, principal: &Principal, now: UnixMillis) -> TicketFilter {
        let teams = principal.teams.clone();
        match self {
            Self::Mine => TicketFilter {
                statuses: UNSOLVED.to_vec(),
                assignee: Some(AssigneeFilter::Is(principal.user_id.clone())),
                ..TicketFilter::default()
            },
            Self::Unassigned => TicketFilter {
                statuses: UNSOLVED.to_vec(),
                assignee: Some(AssigneeFilter::Nobody),
                teams,
                ..TicketFilter::default()
            },
            Self::TeamOpen => TicketFilter {
                statuses: UNSOLVED.to_vec(),
                teams,
                ..TicketFilter::default()
            },
            Self::Pending => TicketFilter {
                statuses: vec![TicketStatus::Pending],
                teams,
                ..TicketFilter::default()
            },
            Self::RecentlySolved => TicketFilter {
                statuses: vec![TicketStatus::Solved, TicketStatus::Closed],
                teams,
                updated_after: Some(UnixMillis(now.0 - RECENTLY_SOLVED_DAYS * 24 * 3600 * 1000)),
                ..TicketFilter::default()
            },
        }
    }
}

impl Desk {
    /// The built-in views with how many tickets each holds for the actor (staff only).
    pub async fn view_counts(&self, actor: &Actor) -> Result<Vec<(BuiltInView, i64)>, ServiceError> {
        self.authorize(actor, Action::EnterWorkspace, &Resource::Directory)
            .await?;
        self.authorize(actor, Action::ListTickets, &Resource::Directory)
            .await?;
        let scope = self.ticket_scope(&actor.principal).await?;
        let now = UnixMillis::now();
        let mut counts = Vec::new();
        for view in BuiltInView::ALL {
            let filter = view.filter(&actor.principal, now);
            counts.push((view, self.store.count_tickets(&scope, &filter).await?));
        }
        Ok(counts)
    }

    /// Whether the principal works on the staff side (the workspace): only they see
    /// tags, priorities, types, teams, assignees and other requesters, so only they may
    /// filter or order a list by them.
    pub fn sees_workspace(&self, principal: &Principal) -> bool {
        self.permits(principal, Action::EnterWorkspace, &Resource::Directory)
    }

    /// The tickets `filter` wants among those the actor may read, in its order.
    pub async fn filter_tickets(
        &self,
        actor: &Actor,
        filter: &TicketFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<TicketRecord>, ServiceError> {
        self.authorize(actor, Action::ListTickets, &Resource::Directory)
            .await?;
        if !self.sees_workspace(&actor.principal) && staff_only(filter) {
            // The answer would say which of their tickets carry an internal tag or a
            // priority they never see.
            return Err(ServiceError::invalid("refusal-staff-filter"));
        }
        let cursor = cursor.map(Cursor::decode).transpose()?;
        let scope = self.ticket_scope(&actor.principal).await?;
        let page = self
            .store
            .filter_tickets(&scope, filter, cursor.as_ref(), limit.clamp(1, MAX_PAGE))
            .await?;
        Ok(Page {
            items: self.only_readable(&actor.principal, page.items),
            next_cursor: page.next_cursor,
        })
    }
}

/// Whether `filter` names something only staff see.
fn staff_only(filter: &TicketFilter) -> bool {
    !filter.priorities.is_empty()
        || filter.ticket_type.is_some()
        || !filter.teams.is_empty()
        || filter.assignee.is_some()
        || filter.requester.is_some()
        || filter.company.is_some()
        || filter.tag.is_some()
        || matches!(filter.sort, TicketSort::Priority | TicketSort::Due)
        || filter.targets.is_some()
}

/// "Due soon": a target falls due within the next hour.
pub const DUE_SOON_MS: i64 = 3_600_000;

/// A saved view the actor may use, with how many tickets it holds for them.
#[derive(Clone, Debug)]
pub struct UsableView {
    pub record: SavedViewRecord,
    pub count: i64,
    pub manageable: bool,
}

/// The filter a saved view stands for, for `principal` ("me" is them), all but the
/// custom field ([`Desk::view_filter`] adds that).
fn plain_filter(saved: &SavedFilter, principal: &Principal) -> Result<TicketFilter, ServiceError> {
    let mut filter = TicketFilter::default();
    if let Some(s) = &saved.status {
        filter.statuses = vec![TicketStatus::parse(s)?];
    }
    if let Some(p) = &saved.priority {
        filter.priorities = vec![Priority::parse(p)?];
    }
    if let Some(t) = &saved.ticket_type {
        filter.ticket_type = Some(TicketType::parse(t)?);
    }
    if let Some(t) = &saved.team {
        filter.teams = vec![TeamId::parse(t)?];
    }
    filter.assignee = match saved.assignee.as_deref() {
        None => None,
        Some("me") => Some(AssigneeFilter::Is(principal.user_id.clone())),
        Some("nobody") => Some(AssigneeFilter::Nobody),
        Some(_) => return Err(ServiceError::invalid("refusal-assignee-me-or-nobody")),
    };
    if let Some(tag) = &saved.tag {
        filter.tag = Some(TagName::parse(tag)?);
    }
    if let Some(requester) = &saved.requester {
        filter.requester = Some(UserId::parse(requester)?);
    }
    if let Some(company) = &saved.company {
        filter.company = Some(CompanyId::parse(company)?);
    }
    filter.created_after = saved.created_from.as_deref().map(day_start).transpose()?;
    filter.created_before = saved.created_to.as_deref().map(day_end).transpose()?;
    filter.updated_after = saved.updated_from.as_deref().map(day_start).transpose()?;
    filter.updated_before = saved.updated_to.as_deref().map(day_end).transpose()?;
    if let Some(sort) = &saved.sort {
        filter.sort = TicketSort::parse(sort).ok_or_else(|| ServiceError::invalid("refusal-no-order"))?;
    }
    if saved.field.is_some() != saved.value.is_some() {
        return Err(ServiceError::invalid("refusal-field-filter"));
    }
    Ok(filter)
}

const DAY_MILLIS: i64 = 86_400_000;

/// The first millisecond of a `YYYY-MM-DD` day, UTC.
pub fn day_start(day: &str) -> Result<UnixMillis, ServiceError> {
    let invalid = || ServiceError::invalid("refusal-day-format");
    let mut parts = day.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let year: i32 = y.parse().map_err(|_| invalid())?;
    let month = m
        .parse::<u8>()
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(invalid)?;
    let date = time::Date::from_calendar_date(year, month, d.parse().map_err(|_| invalid())?)
        .map_err(|_| invalid())?;
    Ok(UnixMillis(date.midnight().assume_utc().unix_timestamp() * 1000))
}

/// The first millisecond after a `YYYY-MM-DD` day, UTC: a range "to" a day includes it.
pub fn day_end(day: &str) -> Result<UnixMillis, ServiceError> {
    Ok(UnixMillis(day_start(day)?.0 + DAY_MILLIS))
}

impl Desk {
    /// The filter a saved view stands for, for the actor: "me" is them, and a field
    /// filter holds only for a field they may see.
    pub async fn view_filter(
        &self,
        actor: &Actor,
        saved: &SavedFilter,
    ) -> Result<TicketFilter, ServiceError> {
        let mut filter = plain_filter(saved, &actor.principal)?;
        filter.targets = saved
            .service_level
            .as_deref()
            .map(|word| self.target_filter(word))
            .transpose()?;
        if let (Some(key), Some(value)) = (&saved.field, &saved.value) {
            filter.field = Some(self.field_filter(actor, key, value).await?);
        }
        Ok(filter)
    }

    /// `breached` or `due_soon` as a list filter, measured from now.
    pub fn target_filter(&self, word: &str) -> Result<TargetFilter, ServiceError> {
        let now = self.now();
        match word {
            "breached" => Ok(TargetFilter::Breached { now }),
            "due_soon" => Ok(TargetFilter::DueSoon {
                now,
                until: now + DUE_SOON_MS,
            }),
            _ => Err(ServiceError::invalid("refusal-service-level-filter")),
        }
    }

    /// The saved views the actor may use, with their counts.
    pub async fn saved_views(&self, actor: &Actor) -> Result<Vec<UsableView>, ServiceError> {
        self.enter_workspace(actor).await?;
        let scope = self.ticket_scope(&actor.principal).await?;
        let mut out = Vec::new();
        for record in self.store.list_saved_views().await? {
            let resource = Resource::View(record.facts());
            if !self.permits(&actor.principal, Action::ViewUse, &resource) {
                continue;
            }
            // A view whose field was since deleted or hidden from the reader is left out.
            let Ok(filter) = self.view_filter(actor, &record.filter).await else {
                continue;
            };
            let count = self.store.count_tickets(&scope, &filter).await?;
            let manageable = self.permits(&actor.principal, Action::ViewManage, &resource);
            out.push(UsableView {
                record,
                count,
                manageable,
            });
        }
        Ok(out)
    }

    /// A saved view the actor may use; missing and not theirs are the same `NotFound`.
    pub async fn saved_view(&self, actor: &Actor, raw_id: &str) -> Result<SavedViewRecord, ServiceError> {
        let id = ViewId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let record = match self.store.get_saved_view(&id).await {
            Ok(r) => r,
            Err(palisade_store::StoreError::NotFound) => {
                self.audit_denial(&actor.audit, Action::ViewUse, id.as_str(), "not_found")
                    .await?;
                return Err(ServiceError::NotFound);
            }
            Err(e) => return Err(e.into()),
        };
        self.authorize(actor, Action::ViewUse, &Resource::View(record.facts()))
            .await
            .map_err(|_| ServiceError::NotFound)?;
        Ok(record)
    }

    /// Saves a view: the actor's own, or (for those allowed) shared with `team`.
    pub async fn save_view(
        &self,
        actor: &Actor,
        name: &str,
        filter: &SavedFilter,
        shared_with: Option<&TeamId>,
    ) -> Result<SavedViewRecord, ServiceError> {
        let name = validate_text("name", name, 100)?;
        self.view_filter(actor, filter).await?;
        if let Some(key) = &filter.field {
            let fields = self.fields_for(actor).await?;
            if fields
                .iter()
                .any(|f| &f.definition.key == key && f.definition.personal)
            {
                return Err(ServiceError::conflict("refusal-view-personal-field"));
            }
        }
        let owner = shared_with.is_none().then(|| actor.principal.user_id.clone());
        let facts = ViewFacts {
            id: ViewId::generate(),
            owner: owner.clone(),
            team: shared_with.cloned(),
        };
        self.authorize(actor, Action::ViewManage, &Resource::View(facts))
            .await?;
        let named_team = filter.team.as_deref().map(TeamId::parse).transpose()?;
        for team in shared_with.into_iter().chain(named_team.as_ref()) {
            self.store
                .get_team(team)
                .await
                .map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
        }
        let mut tx = self.store.begin().await?;
        let id = self
            .store
            .create_saved_view(&mut tx, &name, owner.as_ref(), shared_with, filter)
            .await?;
        let event = AuditEvent::new(AuditAction::ViewSaved, id.to_string(), Outcome::Success)
            .with_detail(json!({ "shared_with": shared_with.map(ToString::to_string) }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.get_saved_view(&id).await?)
    }

    pub async fn delete_view(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        let record = self.saved_view(actor, raw_id).await?;
        self.authorize(actor, Action::ViewManage, &Resource::View(record.facts()))
            .await?;
        let mut tx = self.store.begin().await?;
        self.store.delete_saved_view(&mut tx, &record.id).await?;
        let event = AuditEvent::new(AuditAction::ViewDeleted, record.id.to_string(), Outcome::Success);
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}
