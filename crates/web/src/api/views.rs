//! Saved views over the API: the caller's usable views with their counts, saving and
//! deleting one, and the tickets of one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_core::TeamId;
use palisade_service::UsableView;
use palisade_store::SavedFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{ListQuery, TicketPage, TicketView};
use super::extract::{ApiJson, ApiQuery};
use crate::{AppError, AppState, Caller, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateViewRequest {
    pub name: String,
    pub status: Option<String>,
    pub priority: Option<String>,
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    pub team_id: Option<String>,
    /// `me` (whoever uses the view) or `nobody`.
    pub assignee: Option<String>,
    pub tag: Option<String>,
    /// Only this requester's tickets.
    pub requester_id: Option<String>,
    pub company_id: Option<String>,
    /// Opened on or after this day (`YYYY-MM-DD`, UTC).
    pub created_from: Option<String>,
    /// Opened on or before this day.
    pub created_to: Option<String>,
    /// Changed on or after this day.
    pub updated_from: Option<String>,
    /// Changed on or before this day.
    pub updated_to: Option<String>,
    /// A custom field's key; with `value`, only tickets where it has that value. A
    /// personal field cannot be kept in a view (409).
    pub field: Option<String>,
    pub value: Option<String>,
    /// `newest` (the default), `oldest`, `updated`, `stale` (untouched longest), `priority`
    /// or `due` (the unmet service-level target that falls due soonest first).
    pub sort: Option<String>,
    /// `breached` (a service-level target is overdue) or `due_soon` (one falls due
    /// within the hour).
    pub service_level: Option<String>,
    /// Leave out for a view of your own; a team id shares it with that team (supervisors).
    pub share_with_team_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SavedViewView {
    pub id: String,
    pub name: String,
    /// The team it is shared with; `null` for a personal view.
    pub shared_with_team_id: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    pub team_id: Option<String>,
    pub assignee: Option<String>,
    pub tag: Option<String>,
    pub requester_id: Option<String>,
    pub company_id: Option<String>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub updated_from: Option<String>,
    pub updated_to: Option<String>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub sort: Option<String>,
    pub service_level: Option<String>,
    /// How many tickets it holds for the caller.
    pub count: i64,
    pub manageable: bool,
}

impl From<&UsableView> for SavedViewView {
    fn from(v: &UsableView) -> Self {
        let f = &v.record.filter;
        Self {
            id: v.record.id.to_string(),
            name: v.record.name.clone(),
            shared_with_team_id: v.record.team.as_ref().map(ToString::to_string),
            status: f.status.clone(),
            priority: f.priority.clone(),
            ticket_type: f.ticket_type.clone(),
            team_id: f.team.clone(),
            assignee: f.assignee.clone(),
            tag: f.tag.clone(),
            requester_id: f.requester.clone(),
            company_id: f.company.clone(),
            created_from: f.created_from.clone(),
            created_to: f.created_to.clone(),
            updated_from: f.updated_from.clone(),
            updated_to: f.updated_to.clone(),
            field: f.field.clone(),
            value: f.value.clone(),
            sort: f.sort.clone(),
            service_level: f.service_level.clone(),
            count: v.count,
            manageable: v.manageable,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/views", tag = "tickets", responses((status = 200, body = Vec<SavedViewView>)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<SavedViewView>>, AppError> {
    let views = s.desk().saved_views(&caller.actor()).await?;
    Ok(Json(views.iter().map(SavedViewView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/views", tag = "tickets", request_body = CreateViewRequest,
    responses((status = 201, body = SavedViewView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateViewRequest>,
) -> Result<(StatusCode, Json<SavedViewView>), AppError> {
    if let Some(tag) = req.tag.as_deref() {
        let strict = super::bulk::strict_tag(tag)?;
        if strict.as_str() != tag {
            return Err(AppError::bad_request("refusal-tags-lower-case"));
        }
    }
    let filter = SavedFilter {
        status: req.status,
        priority: req.priority,
        ticket_type: req.ticket_type,
        team: req.team_id,
        assignee: req.assignee,
        tag: req.tag,
        requester: req.requester_id,
        company: req.company_id,
        created_from: req.created_from,
        created_to: req.created_to,
        updated_from: req.updated_from,
        updated_to: req.updated_to,
        field: req.field,
        value: req.value,
        sort: req.sort,
        service_level: req.service_level,
    };
    let team = req.share_with_team_id.as_deref().map(TeamId::parse).transpose()?;
    let desk = s.desk();
    let record = desk
        .save_view(&caller.actor(), &req.name, &filter, team.as_ref())
        .await?;
    let view = desk
        .saved_views(&caller.actor())
        .await?
        .into_iter()
        .find(|v| v.record.id == record.id)
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(SavedViewView::from(&view))))
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().delete_view(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/views/{id}/tickets", tag = "tickets",
    params(("id" = String, Path), ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = TicketPage), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn tickets(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<TicketPage>, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    let record = desk.saved_view(&actor, &id).await?;
    let filter = desk.view_filter(&actor, &record.filter).await?;
    let page = desk
        .filter_tickets(
            &actor,
            &filter,
            q.cursor.as_deref(),
            super::contract::page_limit(q.limit, 50, super::contract::MAX_PAGE)?,
        )
        .await?;
    Ok(Json(TicketPage {
        items: page.items.iter().map(TicketView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
