//! Merging a duplicate into another ticket, and links between related tickets.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::TicketView;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The ticket that survives: this ticket's messages, files and participants move
    /// there, and this one is closed and points to it.
    pub into: String,
}

#[derive(Serialize, ToSchema)]
pub struct MergeView {
    /// The survivor, as it is after the merge.
    pub ticket: TicketView,
    pub moved_messages: usize,
    pub moved_attachments: usize,
    /// People who became participants of the survivor (the duplicate's requester and
    /// collaborators it did not have).
    pub added_participants: usize,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", tag = "tickets", params(("id" = String, Path)),
    request_body = MergeRequest,
    responses((status = 200, body = MergeView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn merge(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> Result<Json<MergeView>, AppError> {
    let (survivor, moved) = s.desk().merge_ticket(&caller.actor(), &id, &req.into).await?;
    Ok(Json(MergeView {
        ticket: TicketView::from(&survivor),
        moved_messages: moved.messages,
        moved_attachments: moved.attachments,
        added_participants: moved.participants,
    }))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/links", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = Vec<TicketView>), (status = 404, body = Problem)))]
pub async fn links(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TicketView>>, AppError> {
    let linked = s.desk().linked_tickets(&caller.actor(), &id).await?;
    Ok(Json(linked.iter().map(TicketView::from).collect()))
}

#[utoipa::path(put, path = "/api/v1/tickets/{id}/links/{other_id}", tag = "tickets",
    params(("id" = String, Path), ("other_id" = String, Path)),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn link(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, other_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    s.desk().link_tickets(&caller.actor(), &id, &other_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/tickets/{id}/links/{other_id}", tag = "tickets",
    params(("id" = String, Path), ("other_id" = String, Path)),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn unlink(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, other_id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    s.desk().unlink_tickets(&caller.actor(), &id, &other_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
