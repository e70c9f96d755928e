//! The webhook pages (administrators): the endpoints with how their deliveries stand,
//! a form to register one, and each endpoint's page, where it is changed, disabled,
//! given a new secret or removed and its recent deliveries are listed (an ended one
//! can be sent again). A secret is shown once, on the page that answers its creation.
//! Registering, changing and rotating need a fresh sign-in, as the API does.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_service::{EndpointRequest, ServiceError, WEBHOOK_EVENT_TYPES};
use palisade_store::{WebhookDelivery, WebhookEndpoint};
use serde::Deserialize;

use super::filters;
use super::{UiError, render};
use crate::{AppState, Caller};

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct EndpointRow {
    id: String,
    name: String,
    url: String,
    events: usize,
    enabled: bool,
    pending: i64,
    failed: i64,
}

struct DeliveryRow {
    id: String,
    event_type: String,
    ticket: String,
    status: String,
    attempts: i64,
    last: String,
    when: String,
    ended: bool,
}

/// The form's values: an endpoint's, or what was typed before a refusal.
struct FormView {
    name: String,
    url: String,
    events: Vec<Choice>,
    teams: Vec<Choice>,
    accounts: Vec<Choice>,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    endpoints: Vec<EndpointRow>,
    form: FormView,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct EndpointPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    id: String,
    name: String,
    enabled: bool,
    previous_until: Option<String>,
    pending: i64,
    failed: i64,
    form: FormView,
    deliveries: Vec<DeliveryRow>,
    /// Shown once, right after registering or rotating.
    secret: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

fn when(ms: i64) -> String {
    palisade_i18n::format_datetime(crate::locale::current(), ms)
}

/// The form's parts from the raw fields: event checkboxes repeat one name.
struct Submitted {
    request: EndpointRequest,
}

fn submitted(fields: &[(String, String)]) -> Submitted {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Submitted {
        request: EndpointRequest {
            name: value("name"),
            url: value("url"),
            event_types: fields
                .iter()
                .filter(|(k, _)| k == "event")
                .map(|(_, v)| v.clone())
                .collect(),
            team: Some(value("team")).filter(|t| !t.is_empty()),
            run_as: value("run_as"),
            enabled: fields.iter().any(|(k, _)| k == "enabled"),
        },
    }
}

async fn form_view(s: &AppState, caller: &Caller, shown: &EndpointRequest) -> Result<FormView, UiError> {
    let desk = s.desk();
    let actor = caller.actor();
    let teams = desk.team_directory(&actor).await?;
    let staff = desk.staff_directory(&actor).await?;
    let team_choice = shown.team.clone().unwrap_or_default();
    let mut team_choices = vec![Choice {
        value: String::new(),
        label: crate::locale::word("webhooks-every-team").to_owned(),
        selected: team_choice.is_empty(),
    }];
    team_choices.extend(teams.iter().map(|t| Choice {
        value: t.team.id.to_string(),
        label: t.team.name.clone(),
        selected: t.team.id.as_str() == team_choice,
    }));
    Ok(FormView {
        name: shown.name.clone(),
        url: shown.url.clone(),
        events: WEBHOOK_EVENT_TYPES
            .iter()
            .map(|kind| Choice {
                value: (*kind).to_owned(),
                label: (*kind).to_owned(),
                selected: shown.event_types.iter().any(|k| k == kind),
            })
            .collect(),
        teams: team_choices,
        accounts: staff
            .iter()
            .filter(|e| !e.user.disabled && !e.user.erased)
            .map(|e| Choice {
                value: e.user.id.to_string(),
                label: format!("{} ({})", e.user.name, e.user.role.as_str()),
                selected: e.user.id.as_str() == shown.run_as,
            })
            .collect(),
        enabled: shown.enabled,
    })
}

fn request_of(e: &WebhookEndpoint) -> EndpointRequest {
    EndpointRequest {
        name: e.name.clone(),
        url: e.url.clone(),
        event_types: e.event_types.clone(),
        team: e.team.as_ref().map(|t| t.to_string()),
        run_as: e.run_as.to_string(),
        enabled: e.enabled,
    }
}

async fn list_page(
    s: &AppState,
    caller: &Caller,
    shown: &EndpointRequest,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let listed = s.desk().webhook_endpoints(&caller.actor()).await?;
    Ok(render(&ListPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        endpoints: listed
            .iter()
            .map(|o| EndpointRow {
                id: o.endpoint.id.to_string(),
                name: o.endpoint.name.clone(),
                url: o.endpoint.url.clone(),
                events: o.endpoint.event_types.len(),
                enabled: o.endpoint.enabled,
                pending: o.counts.pending,
                failed: o.counts.failed,
            })
            .collect(),
        form: form_view(s, caller, shown).await?,
        notice,
        error,
    }))
}

fn delivery_row(d: &WebhookDelivery) -> DeliveryRow {
    DeliveryRow {
        id: d.id.to_string(),
        event_type: d.event_type.clone(),
        ticket: d.ticket.to_string(),
        status: d.status.clone(),
        attempts: d.attempts,
        last: match (d.last_status, &d.last_error) {
            (_, Some(error)) => error.clone(),
            (Some(status), None) => status.to_string(),
            (None, None) => String::new(),
        },
        when: when(d.finished_at.map_or(d.next_attempt_at.0, |t| t.0)),
        ended: d.status != "pending",
    }
}

async fn endpoint_page(
    s: &AppState,
    caller: &Caller,
    id: &str,
    shown: Option<&EndpointRequest>,
    secret: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let (overview, deliveries) = s.desk().webhook_endpoint(&caller.actor(), id).await?;
    let stored = request_of(&overview.endpoint);
    Ok(render(&EndpointPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        id: overview.endpoint.id.to_string(),
        name: overview.endpoint.name.clone(),
        enabled: overview.endpoint.enabled,
        previous_until: overview
            .endpoint
            .previous_until
            .filter(|t| t.0 > s.desk().clock_now())
            .map(|t| when(t.0)),
        pending: overview.counts.pending,
        failed: overview.counts.failed,
        form: form_view(s, caller, shown.unwrap_or(&stored)).await?,
        deliveries: deliveries.iter().map(delivery_row).collect(),
        secret,
        notice,
        error,
    }))
}

/// A refusal shown on the page the form came from, with what was typed kept.
fn refusal(e: ServiceError) -> Result<(String, StatusCode), UiError> {
    match e {
        ServiceError::Invalid(why) => Ok((crate::locale::refusal(&why), StatusCode::BAD_REQUEST)),
        ServiceError::NotFound => Ok((
            crate::locale::word("webhooks-not-found").to_owned(),
            StatusCode::NOT_FOUND,
        )),
        other => Err(other.into()),
    }
}

fn blank() -> EndpointRequest {
    EndpointRequest {
        name: String::new(),
        url: String::new(),
        event_types: Vec::new(),
        team: None,
        run_as: String::new(),
        enabled: true,
    }
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("deleted") => Some(crate::locale::word("notice-webhook-deleted")),
        _ => None,
    };
    let mut shown = blank();
    shown.run_as = caller.principal.user_id.to_string();
    list_page(&s, &caller, &shown, notice, None).await
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    palisade_identity::require_recent_auth(caller.session.as_ref()).map_err(crate::AppError::from)?;
    let Submitted { request } = submitted(&fields);
    match s.desk().create_webhook_endpoint(&caller.actor(), &request).await {
        Ok((endpoint, secret)) => {
            let mut response = endpoint_page(
                &s,
                &caller,
                endpoint.id.as_str(),
                None,
                Some(secret.expose().to_string()),
                Some(crate::locale::word("notice-webhook-created")),
                None,
            )
            .await?;
            *response.status_mut() = StatusCode::CREATED;
            Ok(response)
        }
        Err(e) => {
            let (why, status) = refusal(e)?;
            let mut response = list_page(&s, &caller, &request, None, Some(why)).await?;
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

pub async fn show(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("changed") => Some(crate::locale::word("notice-webhook-changed")),
        Some("redelivered") => Some(crate::locale::word("notice-webhook-redelivered")),
        _ => None,
    };
    endpoint_page(&s, &caller, &id, None, None, notice, None).await
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    palisade_identity::require_recent_auth(caller.session.as_ref()).map_err(crate::AppError::from)?;
    let Submitted { request } = submitted(&fields);
    let desk = s.desk();
    let actor = caller.actor();
    // A missing endpoint is the page's 404; a missing team or account, the form's.
    desk.webhook_endpoint(&actor, &id).await?;
    match desk.update_webhook_endpoint(&actor, &id, &request).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/webhooks/{id}?done=changed")).into_response()),
        Err(e) => {
            let (why, status) = refusal(e)?;
            let mut response = endpoint_page(&s, &caller, &id, Some(&request), None, None, Some(why)).await?;
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    palisade_identity::require_recent_auth(caller.session.as_ref()).map_err(crate::AppError::from)?;
    let (_, secret) = s.desk().rotate_webhook_secret(&caller.actor(), &id).await?;
    endpoint_page(
        &s,
        &caller,
        &id,
        None,
        Some(secret.expose().to_string()),
        Some(crate::locale::word("notice-webhook-rotated")),
        None,
    )
    .await
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().delete_webhook_endpoint(&caller.actor(), &id).await?;
    Ok(Redirect::to("/admin/webhooks?done=deleted").into_response())
}

pub async fn redeliver(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Response, UiError> {
    s.desk()
        .redeliver_webhook(&caller.actor(), &id, &delivery)
        .await?;
    Ok(Redirect::to(&format!("/admin/webhooks/{id}?done=redelivered")).into_response())
}
