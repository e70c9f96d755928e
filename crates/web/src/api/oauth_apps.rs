//! OAuth applications (administrators register them) and the applications each person
//! allowed (they list and revoke their own). The protocol endpoints themselves are in
//! `crate::oauth` and the consent page in `ui::consent`. Registering or changing an
//! application, and giving it a new secret, need a fresh sign-in (a session, never a
//! token): an application is a door into the desk.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_policy::Action;
use palisade_service::AppRequest;
use palisade_store::{OAuthClient, OAuthGrant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

/// A person's own applications are theirs to see and revoke, as their API tokens are
/// (a token needs `people:read` or `people:write` for it).
pub(crate) async fn authorize_self(s: &AppState, caller: &Caller, action: Action) -> Result<(), AppError> {
    let me = super::devices::user_resource(s, &caller.principal.user_id).await?;
    s.authorize(caller, action, &me).await?;
    Ok(())
}

#[derive(Serialize, ToSchema)]
pub struct OAuthClientView {
    /// The `client_id`.
    pub id: String,
    pub name: String,
    /// Keeps a secret (a server); otherwise public (a native or browser application,
    /// proving itself with PKCE only).
    pub confidential: bool,
    /// Compared whole: an authorization request naming any other address is refused.
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// The staff account client-credentials tokens act as; absent: that grant is off.
    pub act_as_id: Option<String>,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl OAuthClientView {
    pub(crate) fn of(c: &OAuthClient) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            confidential: c.confidential,
            redirect_uris: c.redirect_uris.clone(),
            scopes: c.scopes.clone(),
            act_as_id: c.act_as.as_ref().map(|u| u.to_string()),
            enabled: c.enabled,
            created_by: c.created_by.to_string(),
            created_at: rfc3339(c.created_at.0),
            updated_at: rfc3339(c.updated_at.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RegisteredClient {
    pub client: OAuthClientView,
    /// `pcs_…`, for a confidential client: shown this once.
    pub client_secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientSecret {
    /// `pcs_…`: shown this once; the previous secret no longer works.
    pub client_secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientBody {
    pub name: String,
    /// At registration only (default false); a client's kind never changes.
    pub confidential: Option<bool>,
    /// https addresses, or http to 127.0.0.1 or [::1]; at most 10.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// An active staff account, for a confidential client's client-credentials grant.
    pub act_as_id: Option<String>,
    /// Default true. Disabling an application revokes everything it was allowed.
    pub enabled: Option<bool>,
}

impl OAuthClientBody {
    fn request(self) -> AppRequest {
        AppRequest {
            name: self.name,
            confidential: self.confidential.unwrap_or(false),
            redirect_uris: self.redirect_uris,
            scopes: self.scopes,
            act_as: self.act_as_id,
            enabled: self.enabled.unwrap_or(true),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OAuthGrantView {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl OAuthGrantView {
    pub(crate) fn of(g: &OAuthGrant) -> Self {
        Self {
            id: g.id.clone(),
            client_id: g.client_id.clone(),
            client_name: g.client_name.clone(),
            scopes: g.scopes.clone(),
            created_at: rfc3339(g.created_at.0),
            last_used_at: g.last_used_at.map(|t| rfc3339(t.0)),
            revoked_at: g.revoked_at.map(|t| rfc3339(t.0)),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/oauth/clients", tag = "integrations",
    responses((status = 200, body = Vec<OAuthClientView>), (status = 403, body = Problem)))]
/// The registered OAuth applications.
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<OAuthClientView>>, AppError> {
    let clients = s.desk().oauth_clients(&caller.actor()).await?;
    Ok(Json(clients.iter().map(OAuthClientView::of).collect()))
}

#[utoipa::path(post, path = "/api/v1/oauth/clients", tag = "integrations",
    request_body = OAuthClientBody,
    responses((status = 201, body = RegisteredClient), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Registers an application (an account to act as that does not exist is not found).
/// A confidential client's secret is in the answer, this once. Needs a fresh sign-in.
pub async fn register(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<OAuthClientBody>,
) -> Result<(StatusCode, Json<RegisteredClient>), AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let (client, secret) = s
        .desk()
        .register_oauth_client(&caller.actor(), &body.request())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredClient {
            client: OAuthClientView::of(&client),
            client_secret: secret.map(|s| s.to_string()),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/oauth/clients/{id}", tag = "integrations",
    params(("id" = String, Path)),
    responses((status = 200, body = OAuthClientView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OAuthClientView>, AppError> {
    let client = s.desk().oauth_client(&caller.actor(), &id).await?;
    Ok(Json(OAuthClientView::of(&client)))
}

#[utoipa::path(put, path = "/api/v1/oauth/clients/{id}", tag = "integrations",
    params(("id" = String, Path)),
    request_body = OAuthClientBody,
    responses((status = 200, body = OAuthClientView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Changes an application. Narrowing its scopes or disabling it revokes what people
/// allowed it and every token it holds. Needs a fresh sign-in.
pub async fn replace(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<OAuthClientBody>,
) -> Result<Json<OAuthClientView>, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let client = s
        .desk()
        .update_oauth_client(&caller.actor(), &id, &body.request())
        .await?;
    Ok(Json(OAuthClientView::of(&client)))
}

#[utoipa::path(delete, path = "/api/v1/oauth/clients/{id}", tag = "integrations",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Removes an application with everything it was allowed and issued.
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().delete_oauth_client(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/oauth/clients/{id}/secret", tag = "integrations",
    params(("id" = String, Path)),
    responses((status = 200, body = ClientSecret), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// A new secret for a confidential application (a public one has none: not found).
/// Needs a fresh sign-in.
pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ClientSecret>, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let secret = s.desk().rotate_oauth_secret(&caller.actor(), &id).await?;
    Ok(Json(ClientSecret {
        client_secret: secret.to_string(),
    }))
}

#[utoipa::path(get, path = "/api/v1/me/oauth/grants", tag = "integrations",
    responses((status = 200, body = Vec<OAuthGrantView>)))]
/// The applications the caller allowed (revoked ones too), newest first.
pub async fn my_grants(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<OAuthGrantView>>, AppError> {
    authorize_self(&s, &caller, Action::UserRead).await?;
    let grants = s.identity.oauth_grants(&caller.principal.user_id).await?;
    Ok(Json(grants.iter().map(OAuthGrantView::of).collect()))
}

#[utoipa::path(delete, path = "/api/v1/me/oauth/grants/{id}", tag = "integrations",
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
/// Takes back what the caller allowed an application: its tokens stop working at once.
pub async fn revoke_my_grant(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    authorize_self(&s, &caller, Action::UserManageTokens).await?;
    if s.identity
        .revoke_own_grant(&caller.principal.user_id, &id, &caller.audit())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}
