//! Security alerts raised on the public surfaces (floods, probing, attempts to steer
//! the assistant), for administrators and auditors.

use axum::Json;
use axum::extract::State;
use palisade_policy::{Action, Resource};
use palisade_store::SecurityAlert;
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::rfc3339;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct AlertView {
    pub id: String,
    pub raised_at: String,
    /// e.g. `flood.help_search`, `probing.articles`, `assistant.manipulation`.
    pub kind: String,
    /// The account (`user:…`), address (`ip:…`) or conversation that crossed the line.
    pub source: String,
    pub detail: String,
}

impl From<SecurityAlert> for AlertView {
    fn from(a: SecurityAlert) -> Self {
        Self {
            id: a.id,
            raised_at: rfc3339(a.raised_at.0),
            kind: a.kind,
            source: a.source,
            detail: a.detail,
        }
    }
}

pub(crate) async fn readable_alerts(s: &AppState, caller: &Caller) -> Result<Vec<AlertView>, AppError> {
    s.authorize(caller, Action::ReadAlerts, &Resource::AuditTrail)
        .await?;
    Ok(s.store
        .security_alerts(500)
        .await?
        .into_iter()
        .map(AlertView::from)
        .collect())
}

#[utoipa::path(get, path = "/api/v1/security-alerts", tag = "audit",
    responses((status = 200, body = Vec<AlertView>), (status = 403, body = Problem)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<AlertView>>, AppError> {
    Ok(Json(readable_alerts(&s, &caller).await?))
}
