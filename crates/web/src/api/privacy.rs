//! Privacy requests and legal holds (docs/PRIVACY.md): erasure of a customer (with a
//! second person's approval when `[privacy] four_eyes` is on), holds that stop erasure
//! of a customer, a company's customers or a ticket's people, and subject access:
//! everything stored about a person in one signed archive, asked for by administrators
//! for anyone and by customers for themselves, downloaded once through a link.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_store::{LegalHold, PrivacyRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct PrivacyRequestView {
    pub id: String,
    /// `erasure` or `access`.
    pub kind: String,
    /// The customer it is about.
    pub person: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    /// When it must be answered by (`[privacy] answer_within_days` after it was made).
    pub due_at: String,
    /// Erasure: `awaiting_approval`, `done` or `declined`. Access: `building`, `ready`
    /// (waiting for its download) or `done` (downloaded).
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
            overdue: r.is_open() && r.due_at.0 < now,
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
/// administrator approves. Refused while a legal hold applies to them. It cannot be
/// undone, so it needs a fresh sign-in (step-up): a session, never an API token.
pub async fn erase(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ErasureBody>,
) -> Result<(StatusCode, Json<ErasureResult>), AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
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
/// one who asked (with four eyes). Needs a fresh sign-in, as asking does.
pub async fn approve(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ErasureResult>, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessBody {
    /// The customer or staff member the export is about.
    pub person: String,
    pub reason: String,
    /// The documented exemption under which internal notes about them are left out;
    /// absent: they are included.
    pub withhold_internal_notes: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportLinkView {
    /// Works once, for the person the export is about or an administrator, until
    /// `expires_at`.
    pub url: String,
    pub expires_at: String,
}

#[utoipa::path(post, path = "/api/v1/privacy/exports", tag = "privacy", request_body = AccessBody,
    responses((status = 201, body = PrivacyRequestView), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Asks for everything stored about a person: built in the background, then
/// downloaded once through a link (`POST /api/v1/privacy/requests/{id}/link`).
pub async fn export_for(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AccessBody>,
) -> Result<(StatusCode, Json<PrivacyRequestView>), AppError> {
    let desk = s.desk();
    let request = desk
        .request_access(
            &caller.actor(),
            &body.person,
            &body.reason,
            body.withhold_internal_notes.as_deref(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PrivacyRequestView::of(&request, desk.clock_now())),
    ))
}

#[utoipa::path(post, path = "/api/v1/me/privacy/exports", tag = "privacy",
    responses((status = 201, body = PrivacyRequestView), (status = 403, body = Problem), (status = 409, body = Problem)))]
/// A customer asks for everything stored about them; needs a fresh sign-in (step-up).
pub async fn export_mine(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<PrivacyRequestView>), AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let desk = s.desk();
    let request = desk.request_own_export(&caller.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(PrivacyRequestView::of(&request, desk.clock_now())),
    ))
}

#[utoipa::path(get, path = "/api/v1/me/privacy/requests", tag = "privacy",
    responses((status = 200, body = PrivacyRequestList)))]
/// The caller's own privacy requests, newest first.
pub async fn mine(State(s): State<AppState>, caller: Caller) -> Result<Json<PrivacyRequestList>, AppError> {
    let desk = s.desk();
    let now = desk.clock_now();
    let items = desk.own_privacy_requests(&caller.actor()).await?;
    Ok(Json(PrivacyRequestList {
        items: items.iter().map(|r| PrivacyRequestView::of(r, now)).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/privacy/requests/{id}/link", tag = "privacy", params(("id" = String, Path)),
    responses((status = 200, body = ExportLinkView), (status = 404, body = Problem), (status = 409, body = Problem)))]
/// A single-use download link to a ready export (any earlier link stops working): for
/// the person, of an export they asked for, or an administrator; a fresh sign-in.
pub async fn link(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ExportLinkView>, AppError> {
    // Everything about a person: a fresh sign-in, never an API token.
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let link = s.desk().export_link(&caller.actor(), &id).await?;
    Ok(Json(ExportLinkView {
        url: format!("/api/v1/privacy/exports/{}", link.token.expose()),
        expires_at: rfc3339(link.expires_at.0),
    }))
}

#[utoipa::path(get, path = "/api/v1/privacy/exports/{token}", tag = "privacy", params(("token" = String, Path)),
    responses((status = 200, description = "the export: a tar archive", content_type = "application/x-tar", body = Vec<u8>),
        (status = 404, body = Problem)))]
/// The export a link names, once; the archive is deleted as it is handed out.
pub async fn download(
    State(s): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let (id, archive) = s.desk().download_export(&caller.actor(), &token).await?;
    Ok(tar_download(&id.to_string(), archive))
}

/// An archive as a download the browser saves, never shows, and nobody caches.
pub(crate) fn tar_download(request: &str, archive: Vec<u8>) -> Response {
    let mut response = archive.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-tar"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"palisade-export-{request}.tar\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
