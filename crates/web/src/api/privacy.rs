//! Privacy requests and legal holds, for administrators (docs/PRIVACY.md): erasure of
//! a customer (with a second person's approval when `[privacy] four_eyes` is on), and
//! holds that stop erasure of a customer, a company's customers or a ticket's people.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_store::{LegalHold, PrivacyRequest, RequestState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct PrivacyRequestView {
    pub id: String,
    /// `erasure`.
    pub kind: String,
    /// The customer it is about.
    pub person: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    /// When it must be answered by (`[privacy] answer_within_days` after it was made).
    pub due_at: String,
    /// `awaiting_approval`, `done` or `declined`.
    pub state: String,
    /// Still open after its due date.
    pub overdue: bool,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

impl PrivacyRequestView {
    pub(crate) fn of(r: &PrivacyRequest, now: i64) -> Self {
        Self {
            id: r.id.to_string(),
            kind: r.kind.clone(),
            person: r.person.to_string(),
            reason: r.reason.clone(),
            requested_by: r.requested_by.to_string(),
            requested_at: rfc3339(r.requested_at.0),
            due_at: rfc3339(r.due_at.0),
            state: r.state.as_str().to_owned(),
            overdue: r.state == RequestState::AwaitingApproval && r.due_at.0 < now,
            decided_by: r.decided_by.as_ref().map(ToString::to_string),
            decided_at: r.decided_at.map(|t| rfc3339(t.0)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PrivacyRequestList {
    pub items: Vec<PrivacyRequestView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureBody {
    /// The customer to erase.
    pub person: String,
    /// Why (the request's reference, the legal ground); sealed at rest.
    pub reason: String,
}

/// What an erasure removed.
#[derive(Serialize, ToSchema)]
pub struct ErasedView {
    /// Accounts erased: the person's and those merged into it.
    pub accounts: usize,
    /// Tickets they asked: now under a key of their own, their words removed.
    pub tickets_rekeyed: usize,
    pub messages_emptied: usize,
    pub attachments_deleted: usize,
    pub conversations_deleted: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ErasureResult {
    pub request: PrivacyRequestView,
    /// Absent while the request awaits a second person's approval.
    pub erased: Option<ErasedView>,
}

impl ErasureResult {
    fn of(outcome: &palisade_service::ErasureOutcome, now: i64) -> Self {
        Self {
            request: PrivacyRequestView::of(&outcome.request, now),
            erased: outcome.erased.as_ref().map(|e| ErasedView {
                accounts: e.accounts.len(),
                tickets_rekeyed: e.tickets_rekeyed,
                messages_emptied: e.messages_emptied,
                attachments_deleted: e.attachments_deleted,
                conversations_deleted: e.conversations_deleted,
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LegalHoldView {
    pub id: String,
    /// `customer`, `company` or `ticket`.
    pub kind: String,
    pub target: String,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: String,
    /// Absent while the hold is in force.
    pub released_by: Option<String>,
    pub released_at: Option<String>,
}

impl LegalHoldView {
    pub(crate) fn of(h: &LegalHold) -> Self {
        Self {
            id: h.id.to_string(),
            kind: h.target.kind().to_owned(),
            target: h.target.id().to_owned(),
            reason: h.reason.clone(),
            placed_by: h.placed_by.to_string(),
            placed_at: rfc3339(h.placed_at.0),
            released_by: h.released_by.as_ref().map(ToString::to_string),
            released_at: h.released_at.map(|t| rfc3339(t.0)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LegalHoldList {
    pub items: Vec<LegalHoldView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldBody {
    /// A customer (`usr_…`), company (`org_…`) or ticket (`tkt_…`).
    pub target: String,
    pub reason: String,
}

#[utoipa::path(get, path = "/api/v1/privacy/requests", tag = "privacy",
    responses((status = 200, body = PrivacyRequestList), (status = 403, body = Problem)))]
/// Privacy requests: open ones first, soonest due first, then the rest newest first.
pub async fn requests(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<PrivacyRequestList>, AppError> {
    let desk = s.desk();
    let now = desk.clock_now();
    let items = desk.privacy_requests(&caller.actor()).await?;
    Ok(Json(PrivacyRequestList {
        items: items.iter().map(|r| PrivacyRequestView::of(r, now)).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/privacy/erasures", tag = "privacy", request_body = ErasureBody,
    responses((status = 201, body = ErasureResult), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
/// Asks for a customer's erasure: done at once, or (with four eyes) once another
/// administrator approves. Refused while a legal hold applies to them.
pub async fn erase(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ErasureBody>,
) -> Result<(StatusCode, Json<ErasureResult>), AppError> {
    let desk = s.desk();
    let outcome = desk
        .request_erasure(&caller.actor(), &body.person, &body.reason)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ErasureResult::of(&outcome, desk.clock_now())),
    ))
}

#[utoipa::path(post, path = "/api/v1/privacy/requests/{id}/approve", tag = "privacy", params(("id" = String, Path)),
    responses((status = 200, body = ErasureResult), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
/// Approves a pending erasure, which is then done: by another administrator than the
/// one who asked.
pub async fn approve(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ErasureResult>, AppError> {
    let desk = s.desk();
    let outcome = desk.approve_erasure(&caller.actor(), &id).await?;
    Ok(Json(ErasureResult::of(&outcome, desk.clock_now())))
}

#[utoipa::path(post, path = "/api/v1/privacy/requests/{id}/decline", tag = "privacy", params(("id" = String, Path)),
    responses((status = 200, body = PrivacyRequestView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
/// Declines (or withdraws) a pending erasure.
pub async fn decline(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PrivacyRequestView>, AppError> {
    let desk = s.desk();
    let request = desk.decline_erasure(&caller.actor(), &id).await?;
    Ok(Json(PrivacyRequestView::of(&request, desk.clock_now())))
}

#[utoipa::path(get, path = "/api/v1/privacy/holds", tag = "privacy",
    responses((status = 200, body = LegalHoldList), (status = 403, body = Problem)))]
/// Legal holds: those in force first.
pub async fn holds(State(s): State<AppState>, caller: Caller) -> Result<Json<LegalHoldList>, AppError> {
    let items = s.desk().legal_holds(&caller.actor()).await?;
    Ok(Json(LegalHoldList {
        items: items.iter().map(LegalHoldView::of).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/privacy/holds", tag = "privacy", request_body = LegalHoldBody,
    responses((status = 201, body = LegalHoldView), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Places a legal hold: no erasure of the customer (or of any customer of the company,
/// or anyone who asked or wrote in the ticket) until it is released.
pub async fn place_hold(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<LegalHoldBody>,
) -> Result<(StatusCode, Json<LegalHoldView>), AppError> {
    let hold = s
        .desk()
        .place_legal_hold(&caller.actor(), &body.target, &body.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(LegalHoldView::of(&hold))))
}

#[utoipa::path(post, path = "/api/v1/privacy/holds/{id}/release", tag = "privacy", params(("id" = String, Path)),
    responses((status = 200, body = LegalHoldView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn release_hold(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LegalHoldView>, AppError> {
    let hold = s.desk().release_legal_hold(&caller.actor(), &id).await?;
    Ok(Json(LegalHoldView::of(&hold)))
}
