//! `POST /api/v1/ticket-confirmations`: the requester of a ticket opened from an
//! unauthenticated address confirms it with the token mailed to them (the pages'
//! `/confirm/{token}` does the same for a person following the link).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::ApiJson;
use crate::{AppError, AppState, Problem, RequestMeta};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketConfirmation {
    /// The token from the link mailed to the requester.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmedTicket {
    pub ticket_id: String,
}

/// Makes the ticket its requester's: it appears in their portal from now on. Unknown,
/// used and expired tokens are all 404.
#[utoipa::path(post, path = "/api/v1/ticket-confirmations", tag = "tickets", request_body = TicketConfirmation,
    responses((status = 200, body = ConfirmedTicket), (status = 404, body = Problem)))]
pub async fn confirm(
    State(s): State<AppState>,
    meta: RequestMeta,
    ApiJson(req): ApiJson<TicketConfirmation>,
) -> Result<Json<ConfirmedTicket>, AppError> {
    let ticket = crate::confirmation::confirm(&s, &meta, &req.token).await?;
    Ok(Json(ConfirmedTicket {
        ticket_id: ticket.to_string(),
    }))
}
