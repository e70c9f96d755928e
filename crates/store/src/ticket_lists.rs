//! Lists of tickets: the scope a reader may even consider (mirroring the policies;
//! every listed ticket is still authorised one by one by the caller), the filters of
//! the working queue's views and counts for the views' sidebar. The keyed search is in
//! `ticket_search`.

use palisade_core::{CompanyId, Priority, TagName, TeamId, TicketStatus, TicketType, UnixMillis, UserId};
use sqlx::{AssertSqlSafe, Row};

use crate::db::placeholders;
use crate::tickets::ticket_select;
use crate::users::paginate;
use crate::{Cursor, Page, Store, StoreError, TicketRecord, TicketScope};

/// Whose tickets a filter wants by assignee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    Is(UserId),
}

/// The order of a ticket list. Every order ends on the ticket id, so a cursor names
/// one place in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TicketSort {
    /// Opened most recently first.
    #[default]
    Newest,
    Oldest,
    /// Changed most recently first.
    Updated,
    /// Untouched the longest first: the tickets a queue is forgetting.
    Stale,
    /// Urgent first, then high, normal and low; newest first within each.
    Priority,
    /// The unmet service-level target that falls due soonest first (missed ones
    /// first of all); tickets without one last.
    Due,
}

/// The key of a ticket without an unmet target in the `Due` order: after every due time.
const NEVER_DUE: i64 = 9_000_000_000_000_000;

/// How far apart the priorities' ranks are in a priority sort key: above any time in
/// milliseconds until the year 5138, and four ranks stay within a 15-digit cursor.
const RANK_STEP: i64 = 100_000_000_000_000;

impl TicketSort {
    pub const ALL: [TicketSort; 6] = [
        TicketSort::Newest,
        TicketSort::Oldest,
        TicketSort::Updated,
        TicketSort::Stale,
        TicketSort::Priority,
        TicketSort::Due,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::Oldest => "oldest",
            Self::Updated => "updated",
            Self::Stale => "stale",
            Self::Priority => "priority",
            Self::Due => "due",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The SQL of the key this order sorts by; [`Self::key_of`] computes the same.
    fn key_sql(self) -> &'static str {
        match self {
            Self::Newest | Self::Oldest => "t.created_at",
            Self::Updated | Self::Stale => "t.updated_at",
            Self::Priority => {
                "((CASE t.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END) \
                 * 100000000000000 + t.created_at)"
            }
            Self::Due => {
                "COALESCE((SELECT MIN(x.due_at) FROM ticket_targets x WHERE x.ticket_id = t.id \
                 AND x.met_at IS NULL), 9000000000000000)"
            }
        }
    }

    fn descending(self) -> bool {
        !matches!(self, Self::Oldest | Self::Stale | Self::Due)
    }

    fn key_of(self, ticket: &TicketRecord) -> i64 {
        match self {
            Self::Newest | Self::Oldest => ticket.created_at.0,
            Self::Updated | Self::Stale => ticket.updated_at.0,
            Self::Priority => {
                let rank = match ticket.priority {
                    Priority::Urgent => 3,
                    Priority::High => 2,
                    Priority::Normal => 1,
                    Priority::Low => 0,
                };
                rank * RANK_STEP + ticket.created_at.0
            }
            // Not part of the ticket: read with the page ([`Store::due_key`]).
            Self::Due => NEVER_DUE,
        }
    }
}

/// What a ticket list shows, every part combined with AND; an empty list or `None`
/// places no condition; and the order it is shown in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TicketFilter {
    pub sort: TicketSort,
    pub statuses: Vec<TicketStatus>,
    pub priorities: Vec<Priority>,
    pub ticket_type: Option<TicketType>,
    pub teams: Vec<TeamId>,
    pub assignee: Option<AssigneeFilter>,
    pub requester: Option<UserId>,
    pub company: Option<CompanyId>,
    pub tag: Option<TagName>,
    pub updated_after: Option<UnixMillis>,
    pub updated_before: Option<UnixMillis>,
    pub created_after: Option<UnixMillis>,
    pub created_before: Option<UnixMillis>,
    /// A custom field and what its value must match ([`Store::field_match_key`]).
    pub field: Option<(palisade_core::CustomFieldId, String)>,
    /// Tickets with a service-level target in this state.
    pub targets: Option<TargetFilter>,
}

/// Unsolved tickets by the state of their unmet service-level targets (a ticket solved
/// late stays late in its history, not in the queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetFilter {
    /// A target fell due by `now` and is still unmet.
    Breached { now: i64 },
    /// A target falls due after `now` and by `until`.
    DueSoon { now: i64, until: i64 },
}

/// One bound parameter of a generated query.
enum Param {
    Text(String),
    Int(i64),
}

/// `scope` and `filter` as a WHERE clause over `t`, numbering parameters from `offset`.
fn where_sql(scope: &TicketScope, filter: &TicketFilter, offset: usize) -> (String, Vec<Param>) {
    let (scope_where, scope_params) = scope_sql(scope, offset);
    let mut params: Vec<Param> = scope_params.into_iter().map(Param::Text).collect();
    let mut clauses = vec![scope_where];
    let mut list = |column: &str, values: Vec<String>, params: &mut Vec<Param>| {
        if values.is_empty() {
            return;
        }
        let start = offset + params.len();
        let n = values.len();
        params.extend(values.into_iter().map(Param::Text));
        clauses.push(format!("{column} IN ({})", placeholders(start, n)));
    };
    list(
        "t.status",
        filter.statuses.iter().map(|s| s.as_str().to_owned()).collect(),
        &mut params,
    );
    list(
        "t.priority",
        filter.priorities.iter().map(|p| p.as_str().to_owned()).collect(),
        &mut params,
    );
    list(
        "t.ticket_type",
        filter.ticket_type.iter().map(|t| t.as_str().to_owned()).collect(),
        &mut params,
    );
    list(
        "t.team_id",
        filter.teams.iter().map(ToString::to_string).collect(),
        &mut params,
    );
    list(
        "t.requester_id",
        filter.requester.iter().map(ToString::to_string).collect(),
        &mut params,
    );
    list(
        "t.company_id",
        filter.company.iter().map(ToString::to_string).collect(),
        &mut params,
    );
    match &filter.assignee {
        None => {}
        Some(AssigneeFilter::Nobody) => clauses.push("t.assignee_id IS NULL".into()),
        Some(AssigneeFilter::Is(user)) => {
            params.push(Param::Text(user.to_string()));
            clauses.push(format!("t.assignee_id = ${}", offset + params.len()));
        }
    }
    if let Some(tag) = &filter.tag {
        params.push(Param::Text(tag.as_str().to_owned()));
        clauses.push(format!(
            "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ${})",
            offset + params.len()
        ));
    }
    if let Some((field, key)) = &filter.field {
        params.push(Param::Text(field.to_string()));
        params.push(Param::Text(key.clone()));
        clauses.push(format!(
            "t.id IN (SELECT ticket_id FROM ticket_field_values WHERE field_id = ${} AND value_key = ${})",
            offset + params.len() - 1,
            offset + params.len()
        ));
    }
    match filter.targets {
        None => {}
        Some(TargetFilter::Breached { now }) => {
            params.push(Param::Int(now));
            clauses.push(format!(
                "t.status IN ('new', 'open', 'pending') AND \
                 t.id IN (SELECT ticket_id FROM ticket_targets WHERE met_at IS NULL AND due_at <= ${})",
                offset + params.len()
            ));
        }
        Some(TargetFilter::DueSoon { now, until }) => {
            params.push(Param::Int(now));
            params.push(Param::Int(until));
            clauses.push(format!(
                "t.status IN ('new', 'open', 'pending') AND \
                 t.id IN (SELECT ticket_id FROM ticket_targets WHERE met_at IS NULL AND due_at > ${} AND due_at <= ${})",
                offset + params.len() - 1,
                offset + params.len()
            ));
        }
    }
    for (column, op, at) in [
        ("t.updated_at", ">=", filter.updated_after),
        ("t.updated_at", "<", filter.updated_before),
        ("t.created_at", ">=", filter.created_after),
        ("t.created_at", "<", filter.created_before),
    ] {
        if let Some(at) = at {
            params.push(Param::Int(at.0));
            clauses.push(format!("{column} {op} ${}", offset + params.len()));
        }
    }
    (clauses.join(" AND "), params)
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for p in params {
        q = match p {
            Param::Text(t) => q.bind(t.as_str()),
            Param::Int(i) => q.bind(*i),
        };
    }
    q
}

pub(crate) fn scope_sql(scope: &TicketScope, offset: usize) -> (String, Vec<String>) {
    match scope {
        TicketScope::All => ("1 = 1".into(), vec![]),
        TicketScope::Teams { teams, assignee } => {
            let mut params: Vec<String> = teams.iter().map(|t| t.to_string()).collect();
            let teams_sql = if teams.is_empty() {
                "1 = 0".into()
            } else {
                format!("t.team_id IN ({})", placeholders(offset, teams.len()))
            };
            match assignee {
                Some(a) => {
                    params.push(a.to_string());
                    (
                        format!("({teams_sql} OR t.assignee_id = ${})", offset + params.len()),
                        params,
                    )
                }
                None => (format!("({teams_sql})"), params),
            }
        }
        TicketScope::Customer { user, shared_company } => {
            let mut sql = format!(
                "(t.requester_confirmed = 1 AND (t.requester_id = ${0} OR t.id IN (SELECT ticket_id FROM ticket_collaborators WHERE user_id = ${0})",
                offset + 1
            );
            let mut params = vec![user.to_string()];
            if let Some(company) = shared_company {
                sql.push_str(&format!(" OR t.company_id = ${}", offset + 2));
                params.push(company.to_string());
            }
            sql.push_str("))");
            (sql, params)
        }
    }
}

impl Store {
    /// Tickets within `scope`, newest first.
    pub async fn list_tickets(
        &self,
        scope: &TicketScope,
        status: Option<TicketStatus>,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Page<TicketRecord>, StoreError> {
        let filter = TicketFilter {
            statuses: status.into_iter().collect(),
            ..TicketFilter::default()
        };
        self.filter_tickets(scope, &filter, after, limit).await
    }

    /// Tickets within `scope` that `filter` wants, in the filter's order.
    pub async fn filter_tickets(
        &self,
        scope: &TicketScope,
        filter: &TicketFilter,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Page<TicketRecord>, StoreError> {
        let (mut conditions, mut params) = where_sql(scope, filter, 0);
        let sort = filter.sort;
        let key = sort.key_sql();
        let (beyond, direction) = if sort.descending() {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(c) = after {
            params.push(Param::Int(c.key));
            params.push(Param::Text(c.id.clone()));
            let n = params.len();
            conditions.push_str(&format!(
                " AND ({key} {beyond} ${0} OR ({key} = ${0} AND t.id {beyond} ${n}))",
                n - 1
            ));
        }
        let sql = format!(
            "{} WHERE {conditions} ORDER BY {key} {direction}, t.id {direction} LIMIT {}",
            ticket_select(self.dialect),
            limit + 1
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), &params)
            .fetch_all(&self.read)
            .await?;
        let mut items = self.tickets_from_rows(&rows).await?;
        let mut page = paginate(&mut items, limit, |t| Cursor {
            key: sort.key_of(t),
            id: t.id.to_string(),
        });
        if sort == TicketSort::Due
            && page.next_cursor.is_some()
            && let Some(last) = page.items.last()
        {
            page.next_cursor = Some(
                Cursor {
                    key: self.due_key(&last.id).await?,
                    id: last.id.to_string(),
                }
                .encode(),
            );
        }
        Ok(page)
    }

    /// A ticket's key in the `Due` order: its soonest unmet due time.
    async fn due_key(&self, ticket: &palisade_core::TicketId) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(MIN(due_at), $2) FROM ticket_targets WHERE ticket_id = $1 AND met_at IS NULL",
        )
        .bind(ticket.as_str())
        .bind(NEVER_DUE)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// How many tickets within `scope` `filter` wants.
    pub async fn count_tickets(&self, scope: &TicketScope, filter: &TicketFilter) -> Result<i64, StoreError> {
        let (conditions, params) = where_sql(scope, filter, 0);
        let sql = format!("SELECT COUNT(*) FROM tickets t WHERE {conditions}");
        let row = bind_all(sqlx::query(AssertSqlSafe(sql)), &params)
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_priority_key_in_sql_and_in_rust_agree() {
        let sql = TicketSort::Priority.key_sql().replace(' ', "");
        assert!(sql.contains(&format!("*{RANK_STEP}+t.created_at")), "{sql}");
        // The highest key of the next hundred years still fits a cursor's 15 digits.
        let year_2126 = 4_953_000_000_000;
        assert!((3 * RANK_STEP + year_2126).to_string().len() <= 15);
    }
}
