//! Whether the caller takes tickets automatically: an agent who is away is given none
//! by teams that assign automatically.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityBody {
    /// `false` while away: no tickets are assigned to you automatically.
    pub available: bool,
}

#[utoipa::path(get, path = "/api/v1/me/availability", tag = "people",
    responses((status = 200, body = AvailabilityBody), (status = 403, body = Problem)))]
pub async fn get(State(s): State<AppState>, caller: Caller) -> Result<Json<AvailabilityBody>, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    desk.enter_workspace(&actor).await?;
    Ok(Json(AvailabilityBody {
        available: desk.available(&actor).await?,
    }))
}

#[utoipa::path(put, path = "/api/v1/me/availability", tag = "people", request_body = AvailabilityBody,
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn set(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AvailabilityBody>,
) -> Result<StatusCode, AppError> {
    s.desk().set_available(&caller.actor(), body.available).await?;
    Ok(StatusCode::NO_CONTENT)
}
