//! The working queue: the built-in views every staff member has (my open tickets,
//! unassigned in my teams, open in my teams, pending, recently solved), their counts,
//! and filtered lists. Every list and count stays within the reader's ticket scope
//! (the SQL mirror of the policies) and every listed ticket is authorised one by one,
//! so a filter naming another team's tickets finds only what the reader may read.

use palisade_core::{Principal, TicketStatus, UnixMillis};
use palisade_policy::{Action, Resource};
use palisade_store::{AssigneeFilter, Cursor, Page, TicketFilter, TicketRecord};

use crate::{Actor, Desk, ServiceError};

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

    pub fn label(self) -> &'static str {
        match self {
            Self::Mine => "My open tickets",
            Self::Unassigned => "Unassigned in my teams",
            Self::TeamOpen => "Open in my teams",
            Self::Pending => "Pending",
            Self::RecentlySolved => "Recently solved",
        }
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

    /// The tickets `filter` wants among those the actor may read, newest first.
    pub async fn filter_tickets(
        &self,
        actor: &Actor,
        filter: &TicketFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<TicketRecord>, ServiceError> {
        self.authorize(actor, Action::ListTickets, &Resource::Directory)
            .await?;
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
