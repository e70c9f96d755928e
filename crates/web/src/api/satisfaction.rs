//! A ticket's satisfaction over the API: read by whoever reads the ticket, given by
//! its requester once it is solved.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct SatisfactionView {
    /// `good` or `bad`; `null` while nobody answered.
    pub rating: Option<String>,
    pub comment: Option<String>,
    pub rated_at: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    /// `good` or `bad`.
    pub rating: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/satisfaction", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = SatisfactionView), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SatisfactionView>, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    let (ticket, _) = desk.readable_ticket(&actor, &id).await?;
    let given = desk.satisfaction(&actor, &ticket).await?;
    Ok(Json(match given {
        Some(g) => SatisfactionView {
            rating: Some(g.rating),
            comment: Some(g.comment).filter(|c| !c.is_empty()),
            rated_at: Some(rfc3339(g.rated_at)),
        },
        None => SatisfactionView {
            rating: None,
            comment: None,
            rated_at: None,
        },
    }))
}

#[utoipa::path(put, path = "/api/v1/tickets/{id}/satisfaction", tag = "tickets", params(("id" = String, Path)),
    request_body = RateRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn rate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RateRequest>,
) -> Result<StatusCode, AppError> {
    let good = match req.rating.as_str() {
        "good" => true,
        "bad" => false,
        _ => return Err(AppError::bad_request("refusal-rating")),
    };
    s.desk()
        .rate_ticket(
            &caller.actor(),
            &id,
            good,
            req.comment.as_deref().unwrap_or_default(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
