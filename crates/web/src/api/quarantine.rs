//! Agents' review of quarantined mail: list and read what their teams received without
//! an authenticated sender, release it into a ticket (tagged, so everyone handling it
//! sees it was not authenticated) or discard it. Every decision is audited.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_store::QuarantinedMail;
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::rfc3339;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct QuarantinedView {
    pub id: String,
    pub team_id: String,
    pub received_at: String,
    /// The `From` address (not authenticated: that is why it is here).
    pub from: String,
    pub display_name: Option<String>,
    pub subject: String,
    /// Why it was not authenticated (DKIM/SPF findings).
    #[schema(value_type = Object)]
    pub verdict: serde_json::Value,
    pub client_ip: String,
    /// Set when the sender's domain imitates a known one: `domain`, `resembles`, `reason`.
    #[schema(value_type = Option<Object>)]
    pub lookalike: Option<serde_json::Value>,
    /// The whole message, for the reviewer to judge.
    pub raw: Option<String>,
}

pub(crate) fn view(item: &QuarantinedMail, with_raw: bool) -> Result<QuarantinedView, AppError> {
    let held = palisade_service::HeldMail::from_bytes(&item.sealed)?;
    let subject = palisade_mail::read_message(held.raw.as_bytes())
        .ok()
        .and_then(|m| m.single("Subject").map(str::to_owned))
        .unwrap_or_default();
    Ok(QuarantinedView {
        id: item.id.clone(),
        team_id: item.team.to_string(),
        received_at: rfc3339(item.received_at.0),
        from: held.from,
        display_name: held.display_name,
        subject,
        verdict: held.verdict,
        client_ip: held.client_ip,
        lookalike: held.lookalike.filter(|l| !l.is_null()),
        raw: with_raw.then_some(held.raw),
    })
}

#[utoipa::path(get, path = "/api/v1/quarantine", tag = "mail",
    responses((status = 200, body = Vec<QuarantinedView>)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<QuarantinedView>>, AppError> {
    Ok(Json(reviewable_list(&s, &caller).await?))
}

/// The held items the caller may review, oldest first.
pub(crate) async fn reviewable_list(s: &AppState, caller: &Caller) -> Result<Vec<QuarantinedView>, AppError> {
    let held = s.desk().review_list(&caller.actor()).await?;
    held.iter().map(|item| view(item, false)).collect()
}

/// The held item, if the caller may review its team's mail; 404 otherwise (and for
/// unknown ids), the same either way.
pub(crate) async fn reviewable(s: &AppState, caller: &Caller, id: &str) -> Result<QuarantinedMail, AppError> {
    Ok(s.desk().reviewable(&caller.actor(), id).await?)
}

#[utoipa::path(get, path = "/api/v1/quarantine/{id}", tag = "mail",
    responses((status = 200, body = QuarantinedView), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<QuarantinedView>, AppError> {
    let item = reviewable(&s, &caller, &id).await?;
    Ok(Json(view(&item, true)?))
}

#[derive(Serialize, ToSchema)]
pub struct Released {
    pub ticket_id: String,
}

#[utoipa::path(post, path = "/api/v1/quarantine/{id}/release", tag = "mail",
    responses((status = 201, body = Released), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Released>), AppError> {
    let ticket = release_held(&s, &caller, &id).await?;
    Ok((
        StatusCode::CREATED,
        Json(Released {
            ticket_id: ticket.to_string(),
        }),
    ))
}

/// Releases a held message into a ticket (API and UI alike); the decision is final.
pub(crate) async fn release_held(
    s: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<palisade_core::TicketId, AppError> {
    let item = reviewable(s, caller, id).await?;
    if item.status != palisade_store::QuarantineStatus::Held {
        return Err(AppError::conflict("refusal-already-decided"));
    }
    let mut inbound = palisade_mail::Inbound::new(s.store.clone(), s.policy.clone(), HashMap::new())
        .with_file_limits(s.config.mail_file_limits);
    // Released mail becomes a ticket like any other received message, so the
    // operator's redaction of inbound mail applies to it too.
    if s.config.redact_mail {
        let redactor = s.config.redactor.clone();
        inbound = inbound.with_redaction(std::sync::Arc::new(move |text: &str| redactor.redact(text).text));
    }
    let content = inbound.released_mail(&item.sealed)?;
    let released = s
        .desk()
        .release_quarantined(&caller.actor(), &item.id, content)
        .await?;
    let ticket = released.ticket.id;
    Ok(ticket)
}

#[utoipa::path(post, path = "/api/v1/quarantine/{id}/discard", tag = "mail",
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn discard(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    discard_held(&s, &caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Discards a held message (API and UI alike); the decision is final.
pub(crate) async fn discard_held(s: &AppState, caller: &Caller, id: &str) -> Result<(), AppError> {
    Ok(s.desk().discard_quarantined(&caller.actor(), id).await?)
}
