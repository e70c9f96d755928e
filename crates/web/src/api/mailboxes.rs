//! Which team each support address delivers to (administrators). The addresses come
//! from the configuration file (`[[mailbox]]`), beside the DNS records and keys they
//! need; the team each one delivers to can be changed here without a restart, and
//! `null` hands the choice back to the file.

use axum::Json;
use axum::extract::{Path, State};
use palisade_core::{EmailAddress, TeamId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

/// One support address and where its mail goes.
#[derive(Clone, Serialize, ToSchema)]
pub struct MailboxRoute {
    pub address: String,
    /// The team new mail to the address opens tickets in.
    pub team_id: Option<String>,
    /// The team the configuration file names (absent when no team has that name).
    pub file_team_id: Option<String>,
    /// Chosen here rather than by the file.
    pub changed: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// The team to deliver to; `null` returns to the configuration file's team.
    pub team_id: Option<String>,
}

/// Every configured support address with the team it delivers to now.
pub(crate) async fn routes(s: &AppState, caller: &Caller) -> Result<Vec<MailboxRoute>, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    let changed = desk.mailbox_routes(&actor).await?;
    let teams = desk.team_directory(&actor).await?;
    let team_named = |name: &str| {
        teams
            .iter()
            .find(|t| t.team.name == name)
            .map(|t| t.team.id.to_string())
    };
    Ok(s.config
        .team_mailboxes
        .iter()
        .map(|(address, file_team)| {
            let chosen = changed
                .iter()
                .find(|(a, _)| a == address)
                .map(|(_, t)| t.to_string());
            let file_team_id = team_named(file_team);
            MailboxRoute {
                address: address.clone(),
                changed: chosen.is_some(),
                team_id: chosen.or_else(|| file_team_id.clone()),
                file_team_id,
            }
        })
        .collect())
}

/// One of the file's support addresses; anything else is not found.
pub(crate) fn support_address(s: &AppState, raw: &str) -> Result<EmailAddress, AppError> {
    let address = EmailAddress::parse(raw).map_err(|_| AppError::NotFound)?;
    if s.config.team_mailboxes.iter().any(|(a, _)| a == address.as_str()) {
        Ok(address)
    } else {
        Err(AppError::NotFound)
    }
}

#[utoipa::path(get, path = "/api/v1/mailboxes", tag = "people",
    responses((status = 200, body = Vec<MailboxRoute>), (status = 403, body = Problem)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<MailboxRoute>>, AppError> {
    Ok(Json(routes(&s, &caller).await?))
}

#[utoipa::path(put, path = "/api/v1/mailboxes/{address}", tag = "people", request_body = RouteRequest,
    params(("address" = String, Path, description = "A support address from the configuration file")),
    responses((status = 200, body = MailboxRoute), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn route(
    State(s): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    ApiJson(req): ApiJson<RouteRequest>,
) -> Result<Json<MailboxRoute>, AppError> {
    // Decided before anything about the address is said (nobody else learns which
    // addresses the desk serves).
    s.desk().mailbox_routes(&caller.actor()).await?;
    let address = support_address(&s, &raw)?;
    if let Some(team) = &req.team_id {
        // A malformed id names no team: the same answer as an unknown one.
        TeamId::parse(team).map_err(|_| AppError::conflict("refusal-unknown-team"))?;
    }
    s.desk()
        .route_mailbox(&caller.actor(), &address, req.team_id.as_deref())
        .await?;
    routes(&s, &caller)
        .await?
        .into_iter()
        .find(|r| r.address == address.as_str())
        .map(Json)
        .ok_or(AppError::NotFound)
}
