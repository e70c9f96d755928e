//! The ticket list: the working queue for staff (built-in views with their counts,
//! filters on status, priority, type, team and assignee, the columns a shared queue
//! needs) and "My tickets" for customers; with `q`, the search over what the reader
//! may read. Every list comes from the use cases, so it holds only tickets the reader
//! may read, whatever the filter names.

use super::filters;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use palisade_core::{
    CompanyId, Priority, Role, TagName, TeamId, TicketStatus, TicketType, UnixMillis, UserId,
};
use palisade_service::BuiltInView;
use palisade_store::{AssigneeFilter, SavedViewRecord, TicketFilter, TicketRecord, TicketSort};
use serde::Deserialize;

use super::pages::{StatusOption, options};
use super::{UiError, render};
use crate::api::dto::rfc3339;
use crate::{AppError, AppState, Caller};

const PAGE_SIZE: u32 = 50;

struct Row {
    id: String,
    number: i64,
    subject: String,
    requester: String,
    company: String,
    team: String,
    assignee: String,
    priority: &'static str,
    status: &'static str,
    /// RFC 3339, for `<time datetime>` and its title.
    updated_at: String,
    /// "5 min ago".
    updated: String,
}

struct SavedLink {
    id: String,
    name: String,
    count: i64,
    current: bool,
    manageable: bool,
}

struct ViewLink {
    slug: &'static str,
    /// The view's name, as a message id.
    label: String,
    count: i64,
    current: bool,
}

#[derive(Template)]
#[template(path = "tickets.html")]
struct TicketsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    /// Agents, supervisors and administrators get the bulk form (each ticket is still
    /// authorised on its own when it is applied).
    can_bulk: bool,
    heading: String,
    rows: Vec<Row>,
    views: Vec<ViewLink>,
    status_options: Vec<StatusOption>,
    priority_options: Vec<StatusOption>,
    type_options: Vec<StatusOption>,
    team_options: Vec<(String, String, bool)>,
    assignee_filter: String,
    tag_filter: String,
    service_level_filter: String,
    /// Companies to filter on: (id, name, selected).
    company_options: Vec<(String, String, bool)>,
    /// The requester the list is limited to: (id, name).
    requester_filter: Option<(String, String)>,
    created_from: String,
    created_to: String,
    updated_from: String,
    updated_to: String,
    /// Orders to pick from: (value, selected).
    sort_options: Vec<(&'static str, bool)>,
    /// The macros a bulk change may apply: (id, name).
    macro_options: Vec<(String, String)>,
    /// Custom fields to filter on: (key, label, selected).
    field_options: Vec<(String, String, bool)>,
    field_value: String,
    saved_views: Vec<SavedLink>,
    /// Supervisors and administrators may share a view with a team.
    can_share: bool,
    /// The filters in force that a saved view would keep (name, value).
    savable: Vec<(String, String)>,
    query: String,
    /// The current filters as a query string (validated values only), for "older".
    filter_query: String,
    next_cursor: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    view: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    #[serde(rename = "type")]
    ticket_type: Option<String>,
    team: Option<String>,
    /// `me`, `nobody`, or empty for anyone.
    assignee: Option<String>,
    tag: Option<String>,
    /// A custom field's key, and the value it must have.
    field: Option<String>,
    value: Option<String>,
    /// Only this requester's tickets (a user id), or this company's.
    requester: Option<String>,
    company: Option<String>,
    /// Opened on or after / on or before these days (`YYYY-MM-DD`, UTC).
    created_from: Option<String>,
    created_to: Option<String>,
    /// Changed on or after / on or before these days.
    updated_from: Option<String>,
    updated_to: Option<String>,
    /// The order ([`TicketSort`]); newest first when absent.
    sort: Option<String>,
    /// `breached` or `due_soon`: by the tickets' service-level targets.
    service_level: Option<String>,
    /// A saved view's id.
    saved: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
}

/// Parameters to repeat in a link, by name.
type Echo = Vec<(&'static str, String)>;

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// The filter the parameters ask for, on top of the chosen view; and the parameters
/// that went into it, to repeat in the "older tickets" link.
fn filter_of(
    q: &ListParams,
    caller: &Caller,
    view: Option<BuiltInView>,
    saved: Option<(&SavedViewRecord, TicketFilter)>,
) -> Result<(TicketFilter, Echo), AppError> {
    let mut filter = match (&saved, view) {
        (Some((_, filter)), _) => filter.clone(),
        (None, Some(v)) => v.filter(&caller.principal, UnixMillis::now()),
        (None, None) => TicketFilter::default(),
    };
    let saved = saved.map(|(record, _)| record);

    let mut echo = Vec::new();
    if let Some(saved) = saved {
        echo.push(("saved", saved.id.to_string()));
    } else if let Some(v) = view {
        echo.push(("view", v.slug().to_owned()));
    }
    if let Some(tag) = given(&q.tag) {
        filter.tag = Some(TagName::parse(tag)?);
        echo.push(("tag", tag.to_owned()));
    }
    if let Some(status) = given(&q.status) {
        filter.statuses = vec![TicketStatus::parse(status)?];
        echo.push(("status", status.to_owned()));
    }
    if let Some(priority) = given(&q.priority) {
        filter.priorities = vec![Priority::parse(priority)?];
        echo.push(("priority", priority.to_owned()));
    }
    if let Some(t) = given(&q.ticket_type) {
        filter.ticket_type = Some(TicketType::parse(t)?);
        echo.push(("type", t.to_owned()));
    }
    if let Some(team) = given(&q.team) {
        filter.teams = vec![TeamId::parse(team)?];
        echo.push(("team", team.to_owned()));
    }
    match given(&q.assignee) {
        None => {}
        Some("me") => filter.assignee = Some(AssigneeFilter::Is(caller.principal.user_id.clone())),
        Some("nobody") => filter.assignee = Some(AssigneeFilter::Nobody),
        Some(other) => filter.assignee = Some(AssigneeFilter::Is(UserId::parse(other)?)),
    }
    if let Some(a) = given(&q.assignee) {
        echo.push(("assignee", a.to_owned()));
    }
    if let Some(requester) = given(&q.requester) {
        filter.requester = Some(UserId::parse(requester)?);
        echo.push(("requester", requester.to_owned()));
    }
    if let Some(company) = given(&q.company) {
        filter.company = Some(CompanyId::parse(company)?);
        echo.push(("company", company.to_owned()));
    }
    for (name, value, bound) in [
        ("created_from", &q.created_from, &mut filter.created_after),
        ("updated_from", &q.updated_from, &mut filter.updated_after),
    ] {
        if let Some(day) = given(value) {
            *bound = Some(palisade_service::day_start(day)?);
            echo.push((name, day.to_owned()));
        }
    }
    for (name, value, bound) in [
        ("created_to", &q.created_to, &mut filter.created_before),
        ("updated_to", &q.updated_to, &mut filter.updated_before),
    ] {
        if let Some(day) = given(value) {
            *bound = Some(palisade_service::day_end(day)?);
            echo.push((name, day.to_owned()));
        }
    }
    if let Some(sort) = given(&q.sort) {
        filter.sort = TicketSort::parse(sort).ok_or_else(|| AppError::bad_request("refusal-no-order"))?;
        echo.push(("sort", sort.to_owned()));
    }
    Ok((filter, echo))
}

/// The orders a reader may pick: only the staff side sees priorities and service-level
/// targets, so only they sort by them (the service refuses it for anyone else).
fn sorts_for(s: &AppState, caller: &Caller) -> Vec<TicketSort> {
    let staff = s.desk().sees_workspace(&caller.principal);
    TicketSort::ALL
        .into_iter()
        .filter(|sort| staff || !matches!(sort, TicketSort::Priority | TicketSort::Due))
        .collect()
}

pub async fn ticket_list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<ListParams>,
) -> Result<Response, UiError> {
    let is_customer = caller.principal.role == Role::Customer;
    let desk = s.desk();
    let actor = caller.actor();
    let view = given(&q.view)
        .map(|v| BuiltInView::parse(v).ok_or_else(|| AppError::bad_request("refusal-no-view")))
        .transpose()?;
    let saved = match given(&q.saved) {
        Some(id) => Some(desk.saved_view(&actor, id).await?),
        None => None,
    };
    let saved_filter = match &saved {
        Some(record) => Some(desk.view_filter(&actor, &record.filter).await?),
        None => None,
    };
    let (mut filter, mut echo) = filter_of(&q, &caller, view, saved.as_ref().zip(saved_filter))?;
    if let (Some(key), Some(value)) = (given(&q.field), given(&q.value)) {
        filter.field = Some(desk.field_filter(&actor, key, value).await?);
        echo.push(("field", key.to_owned()));
        echo.push(("value", value.to_owned()));
    }
    if let Some(level) = given(&q.service_level) {
        filter.targets = Some(desk.target_filter(level)?);
        echo.push(("service_level", level.to_owned()));
    }
    // Whose tickets these are, named for the reader (who may read that customer).
    let requester_name = match given(&q.requester) {
        Some(id) if !is_customer => Some(
            desk.customer_for(&actor, id, palisade_policy::Action::UserRead)
                .await?
                .name,
        ),
        _ => None,
    };
    let companies = if is_customer {
        Vec::new()
    } else {
        desk.companies(&actor)
            .await?
            .into_iter()
            .map(|c| {
                let id = c.id.to_string();
                let selected = given(&q.company) == Some(id.as_str());
                (id, c.name, selected)
            })
            .collect()
    };
    let fields = if is_customer {
        Vec::new()
    } else {
        desk.fields_for(&actor).await?
    };
    let query = given(&q.q).unwrap_or_default().trim().to_owned();
    let (tickets, next_cursor) = if query.is_empty() {
        let page = desk
            .filter_tickets(&actor, &filter, given(&q.cursor), PAGE_SIZE)
            .await?;
        (page.items, page.next_cursor)
    } else {
        (s.search_tickets(&caller, &query, PAGE_SIZE).await?, None)
    };
    let views = if is_customer {
        Vec::new()
    } else {
        desk.view_counts(&actor)
            .await?
            .into_iter()
            .map(|(v, count)| ViewLink {
                slug: v.slug(),
                label: format!("view-{}", v.slug()),
                count,
                current: Some(v) == view && query.is_empty(),
            })
            .collect()
    };
    let saved_views = if is_customer {
        Vec::new()
    } else {
        desk.saved_views(&actor)
            .await?
            .into_iter()
            .map(|v| SavedLink {
                current: saved.as_ref().is_some_and(|s| s.id == v.record.id) && query.is_empty(),
                id: v.record.id.to_string(),
                name: v.record.name,
                count: v.count,
                manageable: v.manageable,
            })
            .collect()
    };
    let teams = if is_customer {
        Vec::new()
    } else {
        s.store.list_teams().await?
    };
    let rows = rows_of(&s, &tickets, &teams).await?;
    let own_teams: Vec<_> = teams
        .iter()
        .filter(|t| caller.principal.teams.is_empty() || caller.principal.teams.contains(&t.id))
        .collect();
    let heading = if !query.is_empty() {
        crate::locale::text_with("list-search-heading", &[("query", query.as_str().into())])
    } else if let Some(saved) = &saved {
        saved.name.clone()
    } else if let Some(v) = view {
        crate::locale::text(&format!("view-{}", v.slug()))
    } else if is_customer {
        crate::locale::text("list-my-tickets")
    } else {
        crate::locale::text("list-all-tickets")
    };
    let can_bulk = matches!(
        caller.principal.role,
        Role::Agent | Role::Supervisor | Role::Admin
    );
    let macro_options = if can_bulk {
        super::macros::menu(&s, &caller).await?
    } else {
        Vec::new()
    };
    Ok(render(&TicketsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer,
        can_bulk,
        macro_options,
        heading,
        rows,
        views,
        status_options: options(
            TicketStatus::ALL,
            TicketStatus::as_str,
            given(&q.status).and_then(|v| TicketStatus::parse(v).ok()),
        ),
        priority_options: options(
            Priority::ALL,
            Priority::as_str,
            given(&q.priority).and_then(|v| Priority::parse(v).ok()),
        ),
        type_options: options(
            TicketType::ALL,
            TicketType::as_str,
            given(&q.ticket_type).and_then(|v| TicketType::parse(v).ok()),
        ),
        team_options: own_teams
            .iter()
            .map(|t| {
                let id = t.id.to_string();
                let selected = given(&q.team) == Some(id.as_str());
                (id, t.name.clone(), selected)
            })
            .collect(),
        assignee_filter: given(&q.assignee).unwrap_or_default().to_owned(),
        tag_filter: given(&q.tag).unwrap_or_default().to_owned(),
        service_level_filter: given(&q.service_level).unwrap_or_default().to_owned(),
        field_options: fields
            .iter()
            .map(|f| {
                let key = f.definition.key.clone();
                let selected = given(&q.field) == Some(key.as_str());
                (key, f.definition.label.clone(), selected)
            })
            .collect(),
        field_value: given(&q.value).unwrap_or_default().to_owned(),
        company_options: companies,
        requester_filter: given(&q.requester)
            .zip(requester_name)
            .map(|(id, name)| (id.to_owned(), name)),
        created_from: given(&q.created_from).unwrap_or_default().to_owned(),
        created_to: given(&q.created_to).unwrap_or_default().to_owned(),
        updated_from: given(&q.updated_from).unwrap_or_default().to_owned(),
        updated_to: given(&q.updated_to).unwrap_or_default().to_owned(),
        sort_options: sorts_for(&s, &caller)
            .into_iter()
            .map(|sort| (sort.as_str(), sort == filter.sort))
            .collect(),
        saved_views,
        can_share: matches!(caller.principal.role, Role::Supervisor | Role::Admin),
        savable: echo
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            // A saved view keeps the filters and the order, not the view it started from.
            .filter(|(k, _)| !matches!(k.as_str(), "view" | "saved"))
            .collect(),
        query,
        filter_query: echo
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::api::tickets::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&"),
        next_cursor,
    }))
}

/// The rows with the names of the people, companies and teams they refer to.
async fn rows_of(
    s: &AppState,
    tickets: &[TicketRecord],
    teams: &[palisade_store::TeamRecord],
) -> Result<Vec<Row>, UiError> {
    let mut people: Vec<UserId> = tickets
        .iter()
        .flat_map(|t| std::iter::once(t.requester.clone()).chain(t.assignee.clone()))
        .collect();
    people.sort();
    people.dedup();
    let names: HashMap<UserId, String> = s
        .store
        .users_by_ids(&people)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let companies: HashMap<_, _> = if tickets.iter().any(|t| t.company.is_some()) {
        s.store
            .list_companies()
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect()
    } else {
        HashMap::new()
    };
    let team_names: HashMap<_, _> = teams.iter().map(|t| (t.id.clone(), t.name.clone())).collect();
    let now = UnixMillis::now();
    Ok(tickets
        .iter()
        .map(|t| Row {
            id: t.id.to_string(),
            number: t.number,
            subject: t.subject.clone(),
            requester: names.get(&t.requester).cloned().unwrap_or_default(),
            company: t
                .company
                .as_ref()
                .and_then(|c| companies.get(c).cloned())
                .unwrap_or_default(),
            team: team_names.get(&t.team).cloned().unwrap_or_default(),
            assignee: t
                .assignee
                .as_ref()
                .and_then(|a| names.get(a).cloned())
                .unwrap_or_default(),
            priority: t.priority.as_str(),
            status: t.status.as_str(),
            updated_at: rfc3339(t.updated_at.0),
            updated: palisade_i18n::relative_time(crate::locale::current(), now.0, t.updated_at.0),
        })
        .collect())
}
