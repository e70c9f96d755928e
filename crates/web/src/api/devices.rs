//! The caller's own sessions ("devices") and administrators ending other accounts'
//! sessions or disabling accounts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_core::{SessionId, UserId};
use palisade_policy::{Action, Resource};
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::rfc3339;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub ip: String,
    pub user_agent: String,
    /// The session this request was made with.
    pub current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct EndedSessions {
    pub ended: usize,
}

pub(crate) async fn user_resource(s: &AppState, id: &UserId) -> Result<Resource, AppError> {
    Ok(s.desk().user_resource(id).await?)
}

pub(crate) async fn own_sessions(s: &AppState, caller: &Caller) -> Result<Vec<SessionView>, AppError> {
    let me = user_resource(s, &caller.principal.user_id).await?;
    s.authorize(caller, Action::UserRead, &me).await?;
    let sessions = s.store.live_sessions(&caller.principal.user_id).await?;
    Ok(sessions
        .iter()
        .map(|x| SessionView {
            id: x.id.to_string(),
            created_at: rfc3339(x.created_at.0),
            last_seen_at: rfc3339(x.last_seen_at.0),
            ip: x.ip.clone(),
            user_agent: x.user_agent.clone(),
            current: caller.principal.session.as_ref() == Some(&x.id),
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth", responses((status = 200, body = Vec<SessionView>)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<SessionView>>, AppError> {
    Ok(Json(own_sessions(&s, &caller).await?))
}

pub(crate) async fn end_own(s: &AppState, caller: &Caller, raw_id: &str) -> Result<(), AppError> {
    let me = user_resource(s, &caller.principal.user_id).await?;
    s.authorize(caller, Action::UserEndSessions, &me).await?;
    let id = SessionId::parse(raw_id).map_err(|_| AppError::NotFound)?;
    if s.identity
        .end_own_session(&caller.principal.user_id, &id, &caller.audit())
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn end(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    end_own(&s, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn end_others(s: &AppState, caller: &Caller) -> Result<usize, AppError> {
    let me = user_resource(s, &caller.principal.user_id).await?;
    s.authorize(caller, Action::UserEndSessions, &me).await?;
    let keep = caller.principal.session.as_ref();
    Ok(s.identity
        .end_sessions(&caller.principal.user_id, keep, "ended_by_user", &caller.audit())
        .await?)
}

#[utoipa::path(post, path = "/api/v1/me/sessions/end-others", tag = "auth", responses((status = 200, body = EndedSessions)))]
pub async fn end_other(State(s): State<AppState>, caller: Caller) -> Result<Json<EndedSessions>, AppError> {
    Ok(Json(EndedSessions {
        ended: end_others(&s, &caller).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/end-sessions", tag = "people", params(("id" = String, Path)),
    responses((status = 200, body = EndedSessions), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn end_user_sessions(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EndedSessions>, AppError> {
    let ended = s.desk().end_sessions_of(&caller.actor(), &id).await?;
    Ok(Json(EndedSessions { ended }))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "people", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn disable(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().disable_account(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/second-factor-reset", tag = "people", params(("id" = String, Path)),
    responses((status = 204), (status = 403, description = "not an administrator, or a step-up is needed first (type step-up-required)", body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
/// Requires a new second factor of a staff account: its authenticator app, passkeys
/// and recovery codes are removed and its sessions end; its owner is told by mail and
/// sets up a new factor at the next sign-in. Administrators, after a step-up.
pub async fn reset_second_factor(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let fresh = palisade_identity::require_recent_auth(caller.session.as_ref()).is_ok();
    s.desk()
        .require_new_second_factor(&caller.actor(), &id, fresh)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    /// `admin`, `supervisor`, `agent`, `light_agent` or `auditor`.
    pub role: String,
}

#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "people", params(("id" = String, Path)),
    request_body = ChangeRoleRequest,
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn change_role(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    super::extract::ApiJson(req): super::extract::ApiJson<ChangeRoleRequest>,
) -> Result<StatusCode, AppError> {
    let role = palisade_core::Role::parse(&req.role)?;
    s.desk().change_role(&caller.actor(), &id, role).await?;
    Ok(StatusCode::NO_CONTENT)
}
