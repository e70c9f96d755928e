//! Webhook endpoints (docs/INTEGRATIONS.md): administrators register where the desk
//! posts signed events, for which event types and teams, and as which staff account;
//! they see each endpoint's recent deliveries, send an ended one again, and rotate the
//! signing secret. Registering, changing where or what an endpoint receives, and
//! rotating its secret need a fresh sign-in (a session, never an API token): each
//! decides where personal data goes, or hands out the key that vouches for it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_service::{EndpointOverview, EndpointRequest};
use palisade_store::{WebhookDelivery, WebhookEndpoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct WebhookEndpointView {
    pub id: String,
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    /// Only this team's tickets; absent: every team's.
    pub team_id: Option<String>,
    /// The staff account whose rights bound what the payloads hold.
    pub run_as_id: String,
    /// A disabled endpoint's deliveries wait until it is enabled again.
    pub enabled: bool,
    /// Until when the secret the last rotation replaced still signs beside the new one.
    pub previous_secret_until: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub pending: i64,
    /// Deliveries given up after the retries ran out (or whose account is gone).
    pub failed: i64,
}

impl WebhookEndpointView {
    fn of(e: &WebhookEndpoint, pending: i64, failed: i64) -> Self {
        Self {
            id: e.id.to_string(),
            name: e.name.clone(),
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            team_id: e.team.as_ref().map(|t| t.to_string()),
            run_as_id: e.run_as.to_string(),
            enabled: e.enabled,
            previous_secret_until: e.previous_until.map(|t| rfc3339(t.0)),
            created_by: e.created_by.to_string(),
            created_at: rfc3339(e.created_at.0),
            updated_at: rfc3339(e.updated_at.0),
            pending,
            failed,
        }
    }

    fn of_overview(o: &EndpointOverview) -> Self {
        Self::of(&o.endpoint, o.counts.pending, o.counts.failed)
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    /// The `webhook-id` the receiver sees, the same on every retry.
    pub id: String,
    pub event_type: String,
    pub ticket_id: String,
    /// `pending`, `delivered`, `failed` (given up) or `skipped` (not readable by the
    /// endpoint's account, or gone).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    /// The receiver's last HTTP status.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl WebhookDeliveryView {
    fn of(d: &WebhookDelivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_type: d.event_type.clone(),
            ticket_id: d.ticket.to_string(),
            next_attempt_at: (d.status == "pending").then(|| rfc3339(d.next_attempt_at.0)),
            status: d.status.clone(),
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: rfc3339(d.created_at.0),
            finished_at: d.finished_at.map(|t| rfc3339(t.0)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookDetail {
    pub endpoint: WebhookEndpointView,
    /// The newest first.
    pub deliveries: Vec<WebhookDeliveryView>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    pub endpoint: WebhookEndpointView,
    /// `whsec_…`: shown this once; the receiver verifies signatures with it.
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    pub name: String,
    /// https (plain http only to a loopback host the operator allowed).
    pub url: String,
    /// Any of the event types the desk sends (at least one).
    pub event_types: Vec<String>,
    /// Only this team's tickets; absent or null: every team's.
    pub team_id: Option<String>,
    /// An active staff account: the payloads hold only what it may read.
    pub run_as_id: String,
    /// Default true.
    pub enabled: Option<bool>,
}

impl WebhookBody {
    fn request(self) -> EndpointRequest {
        EndpointRequest {
            name: self.name,
            url: self.url,
            event_types: self.event_types,
            team: self.team_id,
            run_as: self.run_as_id,
            enabled: self.enabled.unwrap_or(true),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "integrations",
    responses((status = 200, body = Vec<WebhookEndpointView>), (status = 403, body = Problem)))]
/// The webhook endpoints, with how their deliveries stand.
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WebhookEndpointView>>, AppError> {
    let listed = s.desk().webhook_endpoints(&caller.actor()).await?;
    Ok(Json(
        listed.iter().map(WebhookEndpointView::of_overview).collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "integrations",
    request_body = WebhookBody,
    responses((status = 201, body = WebhookWithSecret), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Registers an endpoint (a team or account that does not exist is not found). Its
/// signing secret is in the answer, this once. Needs a fresh sign-in.
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let (endpoint, secret) = s
        .desk()
        .create_webhook_endpoint(&caller.actor(), &body.request())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookWithSecret {
            endpoint: WebhookEndpointView::of(&endpoint, 0, 0),
            secret: secret.expose().to_string(),
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "integrations",
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookDetail), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// One endpoint and its newest deliveries.
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookDetail>, AppError> {
    let (overview, deliveries) = s.desk().webhook_endpoint(&caller.actor(), &id).await?;
    Ok(Json(WebhookDetail {
        endpoint: WebhookEndpointView::of_overview(&overview),
        deliveries: deliveries.iter().map(WebhookDeliveryView::of).collect(),
    }))
}

#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "integrations",
    params(("id" = String, Path)),
    request_body = WebhookBody,
    responses((status = 200, body = WebhookEndpointView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Replaces what an endpoint receives, where and as whom; disabling it holds its
/// deliveries until it is enabled again. Needs a fresh sign-in.
pub async fn replace(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WebhookBody>,
) -> Result<Json<WebhookEndpointView>, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let desk = s.desk();
    let actor = caller.actor();
    desk.update_webhook_endpoint(&actor, &id, &body.request()).await?;
    let (overview, _) = desk.webhook_endpoint(&actor, &id).await?;
    Ok(Json(WebhookEndpointView::of_overview(&overview)))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "integrations",
    params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Removes an endpoint with its deliveries, sent or not.
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().delete_webhook_endpoint(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/secret", tag = "integrations",
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookWithSecret), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
/// Replaces the signing secret. The old one signs beside it for a day, so the receiver
/// can change over without losing a delivery. Needs a fresh sign-in.
pub async fn rotate_secret(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookWithSecret>, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let desk = s.desk();
    let actor = caller.actor();
    let (_, secret) = desk.rotate_webhook_secret(&actor, &id).await?;
    let (overview, _) = desk.webhook_endpoint(&actor, &id).await?;
    Ok(Json(WebhookWithSecret {
        endpoint: WebhookEndpointView::of_overview(&overview),
        secret: secret.expose().to_string(),
    }))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "integrations",
    params(("id" = String, Path), ("delivery" = String, Path)),
    responses((status = 202), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Queues a delivery that ended (given up, skipped or delivered) again, from its first
/// attempt; one still pending is not found.
pub async fn redeliver(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    s.desk()
        .redeliver_webhook(&caller.actor(), &id, &delivery)
        .await?;
    Ok(StatusCode::ACCEPTED)
}
