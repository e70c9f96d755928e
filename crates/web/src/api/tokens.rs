//! The caller's personal API tokens.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_core::Scope;
use palisade_policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::devices::user_resource;
use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::service::validate_text;
use crate::{AppError, AppState, Caller, CredentialSource, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub name: String,
    /// Any of `tickets:read`, `tickets:write`, `people:read`, `people:write`, `audit:read`.
    pub scopes: Vec<String>,
    /// Lifetime in days (default 90, at most 365).
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub expires_in_days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTokenView {
    pub id: String,
    /// Shown once; only a hash is kept.
    pub token: String,
    pub expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked: bool,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
}

async fn authorize_self(s: &AppState, caller: &Caller, action: Action) -> Result<(), AppError> {
    let me = user_resource(s, &caller.principal.user_id).await?;
    s.authorize(caller, action, &me).await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "auth", responses((status = 200, body = Vec<TokenView>)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<TokenView>>, AppError> {
    authorize_self(&s, &caller, Action::UserRead).await?;
    let tokens = s.identity.api_tokens(&caller.principal.user_id).await?;
    Ok(Json(
        tokens
            .iter()
            .map(|t| TokenView {
                id: t.id.clone(),
                name: t.name.clone(),
                scopes: t.scopes.clone(),
                created_at: rfc3339(t.created_at.0),
                expires_at: rfc3339(t.expires_at.0),
                revoked: t.revoked,
                last_used_at: t.last_used_at.map(|x| rfc3339(x.0)),
                last_used_ip: t.last_used_ip.clone(),
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "auth", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedTokenView), (status = 401, body = Problem),
        (status = 403, description = "not allowed, or step-up needed (type step-up-required)", body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedTokenView>), AppError> {
    authorize_self(&s, &caller, Action::UserManageTokens).await?;
    // A token must not mint tokens: that would let a leaked token outlive its expiry.
    if caller.source == CredentialSource::ApiToken {
        return Err(AppError::Forbidden);
    }
    let name = validate_text("name", &req.name, 100)?;
    let scopes = req
        .scopes
        .iter()
        .map(|x| Scope::parse(x))
        .collect::<Result<Vec<_>, _>>()?;
    let created = s
        .identity
        .create_api_token(
            &caller.user,
            caller.session.as_ref(),
            &name,
            &scopes,
            req.expires_in_days,
            &caller.audit(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenView {
            id: created.id,
            token: created.secret.to_string(),
            expires_at: rfc3339(created.expires_at.0),
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    authorize_self(&s, &caller, Action::UserManageTokens).await?;
    if id.len() > 64 || !id.starts_with("tok_") {
        return Err(AppError::NotFound);
    }
    if s.identity
        .revoke_api_token(&caller.principal.user_id, &id, &caller.audit())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}
