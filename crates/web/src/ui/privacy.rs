//! The privacy page (administrators): requests for erasure and for access with their
//! due dates, the approvals four eyes ask for, legal holds, and the forms that make
//! them; a customer's page links here with the customer filled in. And the portal's
//! "your data" page, where customers ask for everything stored about them (after a
//! step-up) and download it once.

use std::collections::HashMap;

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::UserId;
use palisade_service::ServiceError;
use palisade_store::RequestState;
use serde::Deserialize;

use super::{UiError, render};
use crate::{AppState, Caller};

struct RequestRow {
    id: String,
    kind: &'static str,
    /// An access export waiting for its download.
    ready: bool,
    person: String,
    person_name: String,
    reason: String,
    requested_by: String,
    due: String,
    due_text: String,
    overdue: bool,
    state: &'static str,
    open: bool,
    decided_by: String,
}

struct HoldRow {
    id: String,
    kind: &'static str,
    target: String,
    target_link: Option<String>,
    reason: String,
    placed_by: String,
    placed_text: String,
    released: bool,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    four_eyes: bool,
    answer_within_days: u32,
    requests: Vec<RequestRow>,
    holds: Vec<HoldRow>,
    /// The customer the forms are filled in with (from their page).
    person: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    person: Option<String>,
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct ErasureForm {
    person: String,
    reason: String,
}

#[derive(Deserialize)]
pub struct HoldForm {
    target: String,
    reason: String,
}

fn day(ms: i64) -> String {
    palisade_i18n::format_datetime(crate::locale::current(), ms)
}

async fn page(
    s: &AppState,
    caller: &Caller,
    person: String,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let actor = caller.actor();
    let requests = desk.privacy_requests(&actor).await?;
    let holds = desk.legal_holds(&actor).await?;
    let mut ids: Vec<UserId> = requests
        .iter()
        .flat_map(|r| {
            [
                Some(r.person.clone()),
                Some(r.requested_by.clone()),
                r.decided_by.clone(),
            ]
        })
        .chain(holds.iter().map(|h| Some(h.placed_by.clone())))
        .flatten()
        .collect();
    ids.sort();
    ids.dedup();
    let names: HashMap<UserId, String> = desk
        .privacy_people(&ids)
        .await?
        .into_iter()
        .map(|u| {
            let name = if u.erased {
                crate::locale::word("person-erased").to_owned()
            } else {
                u.name
            };
            (u.id, name)
        })
        .collect();
    let name_of = |id: &UserId| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    let now = desk.clock_now();
    let rules = desk.privacy_rules();
    Ok(render(&PrivacyPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        four_eyes: rules.four_eyes,
        answer_within_days: rules.answer_within_days,
        requests: requests
            .iter()
            .map(|r| RequestRow {
                id: r.id.to_string(),
                person: r.person.to_string(),
                person_name: name_of(&r.person),
                reason: r.reason.clone(),
                requested_by: name_of(&r.requested_by),
                due: crate::api::dto::rfc3339(r.due_at.0),
                due_text: day(r.due_at.0),
                overdue: r.is_open() && r.due_at.0 < now,
                state: match r.state {
                    RequestState::AwaitingApproval => "privacy-state-awaiting",
                    RequestState::Done => "privacy-state-done",
                    RequestState::Declined => "privacy-state-declined",
                    RequestState::Building => "privacy-state-building",
                    RequestState::Ready => "privacy-state-ready",
                    RequestState::Failed => "privacy-state-failed",
                },
                kind: if r.kind == "access" {
                    "privacy-kind-access"
                } else {
                    "privacy-kind-erasure"
                },
                open: r.state == RequestState::AwaitingApproval,
                ready: r.kind == "access" && r.state == RequestState::Ready,
                decided_by: r.decided_by.as_ref().map(&name_of).unwrap_or_default(),
            })
            .collect(),
        holds: holds
            .iter()
            .map(|h| HoldRow {
                id: h.id.to_string(),
                kind: match h.target {
                    palisade_store::HoldTarget::Customer(_) => "privacy-hold-customer",
                    palisade_store::HoldTarget::Company(_) => "privacy-hold-company",
                    palisade_store::HoldTarget::Ticket(_) => "privacy-hold-ticket",
                },
                target: h.target.id().to_owned(),
                target_link: match &h.target {
                    palisade_store::HoldTarget::Customer(id) => Some(format!("/customers/{id}")),
                    palisade_store::HoldTarget::Ticket(id) => Some(format!("/tickets/{id}")),
                    palisade_store::HoldTarget::Company(_) => None,
                },
                reason: h.reason.clone(),
                placed_by: name_of(&h.placed_by),
                placed_text: day(h.placed_at.0),
                released: h.released_at.is_some(),
            })
            .collect(),
        person,
        notice,
        error,
    }))
}

pub async fn show(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("erased") => Some(crate::locale::word("notice-person-erased")),
        Some("awaiting") => Some(crate::locale::word("notice-erasure-awaiting")),
        Some("declined") => Some(crate::locale::word("notice-erasure-declined")),
        Some("held") => Some(crate::locale::word("notice-hold-placed")),
        Some("released") => Some(crate::locale::word("notice-hold-released")),
        Some("exporting") => Some(crate::locale::word("notice-export-building")),
        _ => None,
    };
    // Only an account id is filled in; anything else is dropped.
    let person = q.person.filter(|p| UserId::parse(p).is_ok()).unwrap_or_default();
    page(&s, &caller, person, notice, None).await
}

/// A refusal the person can act on is shown on the page; anything else is an error.
async fn refused(
    s: &AppState,
    caller: &Caller,
    person: String,
    e: ServiceError,
) -> Result<Response, UiError> {
    let (why, status) = match e {
        ServiceError::Invalid(why) => (why, StatusCode::BAD_REQUEST),
        ServiceError::Conflict(why) => (why, StatusCode::CONFLICT),
        ServiceError::NotFound => (
            palisade_i18n::Refusal::new("refusal-privacy-not-found"),
            StatusCode::NOT_FOUND,
        ),
        other => return Err(other.into()),
    };
    let mut response = page(s, caller, person, None, Some(crate::locale::refusal(&why))).await?;
    *response.status_mut() = status;
    Ok(response)
}

pub async fn erase(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<ErasureForm>,
) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/admin/privacy"));
    }
    let person = form.person.trim().to_owned();
    match s
        .desk()
        .request_erasure(&caller.actor(), &person, &form.reason)
        .await
    {
        Ok(outcome) if outcome.erased.is_some() => {
            Ok(Redirect::to("/admin/privacy?done=erased").into_response())
        }
        Ok(_) => Ok(Redirect::to("/admin/privacy?done=awaiting").into_response()),
        // Whether an account exists is the privacy page's to say: only administrators
        // reach it.
        Err(e) => refused(&s, &caller, person, e).await,
    }
}

pub async fn approve(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/admin/privacy"));
    }
    match s.desk().approve_erasure(&caller.actor(), &id).await {
        Ok(_) => Ok(Redirect::to("/admin/privacy?done=erased").into_response()),
        Err(e @ (ServiceError::Conflict(_) | ServiceError::Invalid(_))) => {
            refused(&s, &caller, String::new(), e).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn decline(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    match s.desk().decline_erasure(&caller.actor(), &id).await {
        Ok(_) => Ok(Redirect::to("/admin/privacy?done=declined").into_response()),
        Err(e @ ServiceError::Conflict(_)) => refused(&s, &caller, String::new(), e).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn place_hold(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<HoldForm>,
) -> Result<Response, UiError> {
    let target = form.target.trim().to_owned();
    match s
        .desk()
        .place_legal_hold(&caller.actor(), &target, &form.reason)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/privacy?done=held").into_response()),
        Err(e) => refused(&s, &caller, String::new(), e).await,
    }
}

pub async fn release_hold(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    match s.desk().release_legal_hold(&caller.actor(), &id).await {
        Ok(_) => Ok(Redirect::to("/admin/privacy?done=released").into_response()),
        Err(e @ ServiceError::Conflict(_)) => refused(&s, &caller, String::new(), e).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AccessForm {
    person: String,
    reason: String,
    withhold: Option<String>,
}

pub async fn export_for(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<AccessForm>,
) -> Result<Response, UiError> {
    let person = form.person.trim().to_owned();
    match s
        .desk()
        .request_access(&caller.actor(), &person, &form.reason, form.withhold.as_deref())
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/privacy?done=exporting").into_response()),
        Err(e) => refused(&s, &caller, person, e).await,
    }
}

/// Mints a single-use link to a ready export and follows it at once.
pub async fn download(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/admin/privacy"));
    }
    match s.desk().export_link(&caller.actor(), &id).await {
        Ok(link) => {
            Ok(Redirect::to(&format!("/api/v1/privacy/exports/{}", link.token.expose())).into_response())
        }
        Err(e @ ServiceError::Conflict(_)) => refused(&s, &caller, String::new(), e).await,
        Err(e) => Err(e.into()),
    }
}

struct ConsentRow {
    version: String,
    choice: &'static str,
    when: String,
}

struct OwnRequestRow {
    id: String,
    requested_text: String,
    state: &'static str,
    ready: bool,
}

#[derive(Template)]
#[template(path = "account_privacy.html")]
struct YourDataPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    requests: Vec<OwnRequestRow>,
    /// Their choices about the assistant, newest first.
    consents: Vec<ConsentRow>,
    answer_within_days: u32,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct MineQuery {
    done: Option<String>,
}

async fn mine_page(
    s: &AppState,
    caller: &Caller,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let requests = desk.own_privacy_requests(&caller.actor()).await?;
    let consents = desk.own_consents(&caller.actor()).await?;
    Ok(render(&YourDataPage {
        consents: consents
            .iter()
            .rev()
            .map(|c| ConsentRow {
                version: c.notice_version.clone(),
                choice: if c.people_only {
                    "your-data-consent-people"
                } else {
                    "your-data-consent-assistant"
                },
                when: day(c.decided_at.0),
            })
            .collect(),
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == palisade_core::Role::Customer,
        answer_within_days: desk.privacy_rules().answer_within_days,
        requests: requests
            .iter()
            .filter(|r| r.kind == "access")
            .map(|r| OwnRequestRow {
                id: r.id.to_string(),
                requested_text: day(r.requested_at.0),
                state: match r.state {
                    RequestState::Ready => "your-data-ready",
                    RequestState::Done => "your-data-downloaded",
                    RequestState::Failed | RequestState::Declined => "your-data-failed",
                    _ => "your-data-building",
                },
                ready: r.state == RequestState::Ready,
            })
            .collect(),
        notice,
        error,
    }))
}

/// The portal's "your data" page.
pub async fn mine(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<MineQuery>,
) -> Result<Response, UiError> {
    let notice = (q.done.as_deref() == Some("asked")).then_some(crate::locale::word("your-data-asked"));
    mine_page(&s, &caller, notice, None).await
}

/// Asks for a copy of everything stored about the caller: a fresh sign-in first.
pub async fn export_mine(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/account/privacy"));
    }
    match s.desk().request_own_export(&caller.actor()).await {
        Ok(_) => Ok(Redirect::to("/account/privacy?done=asked").into_response()),
        Err(ServiceError::Conflict(why)) => {
            let mut response = mine_page(&s, &caller, None, Some(crate::locale::refusal(&why))).await?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn download_mine(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/account/privacy"));
    }
    match s.desk().export_link(&caller.actor(), &id).await {
        Ok(link) => {
            Ok(Redirect::to(&format!("/api/v1/privacy/exports/{}", link.token.expose())).into_response())
        }
        Err(ServiceError::Conflict(why)) => {
            let mut response = mine_page(&s, &caller, None, Some(crate::locale::refusal(&why))).await?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
