//! OAuth applications in the pages: administrators register, change, give a new secret
//! to and remove them (`/admin/apps`), and every person sees and revokes what they
//! allowed (`/account/apps`). A secret is shown once, on the page that answers its
//! creation. Registering, changing and new secrets need a fresh sign-in, as the API's.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::Scope;
use palisade_policy::Action;
use palisade_service::{AppRequest, ServiceError};
use palisade_store::OAuthClient;
use serde::Deserialize;

use super::filters;
use super::{UiError, render};
use crate::{AppError, AppState, Caller};

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct FormView {
    name: String,
    confidential: bool,
    redirect_uris: String,
    scopes: Vec<Choice>,
    accounts: Vec<Choice>,
    enabled: bool,
}

struct AppRow {
    id: String,
    name: String,
    confidential: bool,
    scopes: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_apps.html")]
struct AppsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    apps: Vec<AppRow>,
    form: FormView,
    /// The page answers a registration or a rotation: the client's id and secret once.
    editing: Option<String>,
    client_id: Option<String>,
    secret: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

struct GrantRow {
    id: String,
    app: String,
    scopes: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "account_apps.html")]
struct AccountAppsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    grants: Vec<GrantRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

fn when(ms: i64) -> String {
    palisade_i18n::format_datetime(crate::locale::current(), ms)
}

fn request_of(fields: &[(String, String)]) -> AppRequest {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    AppRequest {
        name: value("name"),
        confidential: value("kind") == "confidential",
        redirect_uris: value("redirect_uris")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        scopes: fields
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect(),
        act_as: Some(value("act_as")).filter(|a| !a.is_empty()),
        enabled: fields.iter().any(|(k, _)| k == "enabled"),
    }
}

fn stored_request(c: &OAuthClient) -> AppRequest {
    AppRequest {
        name: c.name.clone(),
        confidential: c.confidential,
        redirect_uris: c.redirect_uris.clone(),
        scopes: c.scopes.clone(),
        act_as: c.act_as.as_ref().map(|u| u.to_string()),
        enabled: c.enabled,
    }
}

async fn form_view(s: &AppState, caller: &Caller, shown: &AppRequest) -> Result<FormView, UiError> {
    let staff = s.desk().staff_directory(&caller.actor()).await?;
    let mut accounts = vec![Choice {
        value: String::new(),
        label: crate::locale::word("apps-act-as-none").to_owned(),
        selected: shown.act_as.is_none(),
    }];
    accounts.extend(
        staff
            .iter()
            .filter(|e| !e.user.disabled && !e.user.erased)
            .map(|e| Choice {
                value: e.user.id.to_string(),
                label: format!("{} ({})", e.user.name, e.user.role.as_str()),
                selected: shown.act_as.as_deref() == Some(e.user.id.as_str()),
            }),
    );
    Ok(FormView {
        name: shown.name.clone(),
        confidential: shown.confidential,
        redirect_uris: shown.redirect_uris.join("\n"),
        scopes: Scope::ALL
            .iter()
            .map(|scope| Choice {
                value: scope.as_str().to_owned(),
                label: crate::locale::word(super::consent::scope_label_key(*scope)).to_owned(),
                selected: shown.scopes.iter().any(|s| s == scope.as_str()),
            })
            .collect(),
        accounts,
        enabled: shown.enabled,
    })
}

struct Shown<'a> {
    form: &'a AppRequest,
    editing: Option<String>,
    client_id: Option<String>,
    secret: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

async fn apps_page(s: &AppState, caller: &Caller, shown: Shown<'_>) -> Result<Response, UiError> {
    let apps = s.desk().oauth_clients(&caller.actor()).await?;
    Ok(render(&AppsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        apps: apps
            .iter()
            .map(|c| AppRow {
                id: c.id.clone(),
                name: c.name.clone(),
                confidential: c.confidential,
                scopes: c.scopes.join(" "),
                enabled: c.enabled,
            })
            .collect(),
        form: form_view(s, caller, shown.form).await?,
        editing: shown.editing,
        client_id: shown.client_id,
        secret: shown.secret,
        notice: shown.notice,
        error: shown.error,
    }))
}

fn blank() -> AppRequest {
    AppRequest {
        name: String::new(),
        confidential: true,
        redirect_uris: Vec::new(),
        scopes: Vec::new(),
        act_as: None,
        enabled: true,
    }
}

fn refusal(e: ServiceError) -> Result<(String, StatusCode), UiError> {
    match e {
        ServiceError::Invalid(why) => Ok((crate::locale::refusal(&why), StatusCode::BAD_REQUEST)),
        ServiceError::NotFound => Ok((
            crate::locale::word("apps-account-not-found").to_owned(),
            StatusCode::NOT_FOUND,
        )),
        other => Err(other.into()),
    }
}

/// `GET /admin/apps`.
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("deleted") => Some(crate::locale::word("notice-app-deleted")),
        _ => None,
    };
    let form = blank();
    apps_page(
        &s,
        &caller,
        Shown {
            form: &form,
            editing: None,
            client_id: None,
            secret: None,
            notice,
            error: None,
        },
    )
    .await
}

/// `GET /admin/apps/{id}`: the list with this application's values in the form.
pub async fn show(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let client = s.desk().oauth_client(&caller.actor(), &id).await?;
    let notice = match q.done.as_deref() {
        Some("changed") => Some(crate::locale::word("notice-app-changed")),
        _ => None,
    };
    let form = stored_request(&client);
    apps_page(
        &s,
        &caller,
        Shown {
            form: &form,
            editing: Some(id),
            client_id: None,
            secret: None,
            notice,
            error: None,
        },
    )
    .await
}

/// `POST /admin/apps`.
pub async fn register(
    State(s): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    palisade_identity::require_recent_auth(caller.session.as_ref()).map_err(AppError::from)?;
    let request = request_of(&fields);
    match s.desk().register_oauth_client(&caller.actor(), &request).await {
        Ok((client, secret)) => {
            let form = stored_request(&client);
            let mut response = apps_page(
                &s,
                &caller,
                Shown {
                    form: &form,
                    editing: Some(client.id.clone()),
                    client_id: Some(client.id.clone()),
                    secret: secret.map(|s| s.to_string()),
                    notice: Some(crate::locale::word("notice-app-registered")),
                    error: None,
                },
            )
            .await?;
            *response.status_mut() = StatusCode::CREATED;
            Ok(response)
        }
        Err(e) => {
            let (why, status) = refusal(e)?;
            let mut response = apps_page(
                &s,
                &caller,
                Shown {
                    form: &request,
                    editing: None,
                    client_id: None,
                    secret: None,
                    notice: None,
                    error: Some(why),
                },
            )
            .await?;
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

/// `POST /admin/apps/{id}`.
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    palisade_identity::require_recent_auth(caller.session.as_ref()).map_err(AppError::from)?;
    let desk = s.desk();
    let actor = caller.actor();
    // A missing application is the page's 404; a missing account, the form's.
    let existing = desk.oauth_client(&actor, &id).await?;
    let mut request = request_of(&fields);
    request.confidential = existing.confidential;
    match desk.update_oauth_client(&actor, &id, &request).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/apps/{id}?done=changed")).into_response()),
        Err(e) => {
            let (why, status) = refusal(e)?;
            let mut response = apps_page(
                &s,
                &caller,
                Shown {
                    form: &request,
                    editing: Some(id),
                    client_id: None,
                    secret: None,
                    notice: None,
                    error: Some(why),
                },
            )
            .await?;
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

/// `POST /admin/apps/{id}/secret`.
pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    palisade_identity::require_recent_auth(caller.session.as_ref()).map_err(AppError::from)?;
    let secret = s.desk().rotate_oauth_secret(&caller.actor(), &id).await?;
    let client = s.desk().oauth_client(&caller.actor(), &id).await?;
    let form = stored_request(&client);
    apps_page(
        &s,
        &caller,
        Shown {
            form: &form,
            editing: Some(id.clone()),
            client_id: Some(id),
            secret: Some(secret.to_string()),
            notice: Some(crate::locale::word("notice-app-rotated")),
            error: None,
        },
    )
    .await
}

/// `POST /admin/apps/{id}/delete`.
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().delete_oauth_client(&caller.actor(), &id).await?;
    Ok(Redirect::to("/admin/apps?done=deleted").into_response())
}

/// `GET /account/apps`: what the person allowed, with a button to take it back.
pub async fn mine(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    crate::api::oauth_apps::authorize_self(&s, &caller, Action::UserRead).await?;
    let grants = s
        .identity
        .oauth_grants(&caller.principal.user_id)
        .await
        .map_err(AppError::from)?;
    Ok(render(&AccountAppsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == palisade_core::Role::Customer,
        grants: grants
            .iter()
            .filter(|g| g.revoked_at.is_none())
            .map(|g| GrantRow {
                id: g.id.clone(),
                app: g.client_name.clone(),
                scopes: g.scopes.join(" "),
                created: when(g.created_at.0),
                last_used: g.last_used_at.map(|t| when(t.0)).unwrap_or_default(),
            })
            .collect(),
        notice: match q.done.as_deref() {
            Some("revoked") => Some(crate::locale::word("notice-app-revoked")),
            _ => None,
        },
    }))
}

/// `POST /account/apps/{id}/revoke`.
pub async fn revoke_mine(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    crate::api::oauth_apps::authorize_self(&s, &caller, Action::UserManageTokens).await?;
    if s.identity
        .revoke_own_grant(&caller.principal.user_id, &id, &caller.audit())
        .await
        .map_err(AppError::from)?
    {
        Ok(Redirect::to("/account/apps?done=revoked").into_response())
    } else {
        Err(AppError::NotFound.into())
    }
}
