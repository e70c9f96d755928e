//! The retention page (administrators): the schedules of the desk, its teams and its
//! companies, a form to set one, a dry run of what they make due now, the latest runs
//! and a button to run them at once. Setting a schedule and running it need a fresh
//! sign-in, as the API does.

use std::collections::HashMap;

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_i18n::Arg;
use palisade_service::{ScheduleChange, ServiceError};
use palisade_store::{RetentionDue, RetentionScope, TicketDisposal};
use serde::Deserialize;

use super::{UiError, render};
use crate::{AppState, Caller};

struct ScopeOption {
    key: String,
    label: String,
    selected: bool,
}

/// What the form shows: an existing schedule's values when one is being changed.
#[derive(Default)]
struct FormValues {
    tickets_days: String,
    erase: bool,
    transcripts_days: String,
    quarantine_days: String,
    addresses_days: String,
}

struct ScheduleRow {
    key: String,
    label: String,
    tickets: String,
    transcripts: String,
    quarantine: String,
    addresses: String,
    updated: String,
}

struct RunRow {
    started: String,
    started_by: String,
    finished: bool,
    summary: String,
}

struct DueTicketRow {
    id: String,
    number: i64,
    action: &'static str,
    last_change: String,
}

struct PreviewView {
    tickets_due: u64,
    tickets_held: u64,
    tickets: Vec<DueTicketRow>,
    transcripts_due: u64,
    transcripts_held: u64,
    quarantined_due: u64,
    addresses_due: u64,
    audit_addresses_fixed: u64,
}

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    scopes: Vec<ScopeOption>,
    form: FormValues,
    schedules: Vec<ScheduleRow>,
    runs: Vec<RunRow>,
    preview: Option<PreviewView>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
    preview: Option<String>,
    /// A schedule to change: the form is filled in with it.
    scope: Option<String>,
}

#[derive(Deserialize)]
pub struct ScheduleForm {
    scope: String,
    tickets_days: Option<String>,
    tickets_action: Option<String>,
    transcripts_days: Option<String>,
    quarantine_days: Option<String>,
    addresses_days: Option<String>,
}

#[derive(Deserialize)]
pub struct RemoveForm {
    scope: String,
}

fn when(ms: i64) -> String {
    palisade_i18n::format_datetime(crate::locale::current(), ms)
}

fn days(value: Option<u32>) -> String {
    match value {
        Some(n) => crate::locale::text_with("retention-days", &[("days", Arg::Number(i64::from(n)))]),
        None => crate::locale::word("retention-kept").to_owned(),
    }
}

async fn page(
    s: &AppState,
    caller: &Caller,
    editing: Option<&str>,
    preview: bool,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let actor = caller.actor();
    let scopes = desk.retention_scopes(&actor).await?;
    let schedules = desk.retention_schedules(&actor).await?;
    let runs = desk.retention_runs(&actor).await?;
    let label_of = |scope: &RetentionScope, name: &str| match scope {
        RetentionScope::Desk => crate::locale::word("retention-scope-desk").to_owned(),
        RetentionScope::Team(_) => {
            crate::locale::text_with("retention-scope-team", &[("name", Arg::Text(name.to_owned()))])
        }
        RetentionScope::Company(_) => {
            crate::locale::text_with("retention-scope-company", &[("name", Arg::Text(name.to_owned()))])
        }
    };
    let labels: HashMap<String, String> = scopes
        .iter()
        .map(|(scope, name)| (scope.key(), label_of(scope, name)))
        .collect();
    let current = schedules.iter().find(|s| Some(s.scope.key().as_str()) == editing);
    let shown = |days: Option<u32>| days.map(|d| d.to_string()).unwrap_or_default();
    let form = current.map_or_else(FormValues::default, |s| FormValues {
        tickets_days: shown(s.tickets_days),
        erase: s.tickets_action == TicketDisposal::Erase,
        transcripts_days: shown(s.transcripts_days),
        quarantine_days: shown(s.quarantine_days),
        addresses_days: shown(s.addresses_days),
    });
    let preview = if preview {
        Some(preview_view(&desk.retention_preview(&actor).await?))
    } else {
        None
    };
    Ok(render(&RetentionPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        scopes: scopes
            .iter()
            .map(|(scope, name)| ScopeOption {
                selected: Some(scope.key().as_str()) == editing,
                key: scope.key(),
                label: label_of(scope, name),
            })
            .collect(),
        form,
        schedules: schedules
            .iter()
            .map(|s| ScheduleRow {
                key: s.scope.key(),
                label: labels
                    .get(&s.scope.key())
                    .cloned()
                    .unwrap_or_else(|| s.scope.key()),
                tickets: match s.tickets_days {
                    Some(_) => format!(
                        "{} · {}",
                        days(s.tickets_days),
                        crate::locale::word(disposal_key(s.tickets_action))
                    ),
                    None => days(None),
                },
                transcripts: days(s.transcripts_days),
                quarantine: days(s.quarantine_days),
                addresses: days(s.addresses_days),
                updated: when(s.updated_at.0),
            })
            .collect(),
        runs: runs
            .iter()
            .map(|r| RunRow {
                started: when(r.started_at.0),
                started_by: if r.started_by == "schedule" {
                    crate::locale::word("retention-by-schedule").to_owned()
                } else {
                    r.started_by.clone()
                },
                finished: r.finished_at.is_some(),
                summary: summary(&r.counts),
            })
            .collect(),
        preview,
        notice,
        error,
    }))
}

fn disposal_key(action: TicketDisposal) -> &'static str {
    match action {
        TicketDisposal::Anonymise => "retention-anonymise",
        TicketDisposal::Erase => "retention-erase",
    }
}

/// A run's counts in words, the kinds it touched only.
fn summary(counts: &serde_json::Value) -> String {
    const KINDS: [(&str, &str); 7] = [
        ("tickets_anonymised", "retention-count-anonymised"),
        ("tickets_erased", "retention-count-erased"),
        ("transcripts_deleted", "retention-count-transcripts"),
        ("quarantined_purged", "retention-count-quarantine"),
        ("audit_addresses_shortened", "retention-count-audit-addresses"),
        ("session_addresses_shortened", "retention-count-session-addresses"),
        ("tickets_held", "retention-count-held"),
    ];
    let parts: Vec<String> = KINDS
        .iter()
        .filter_map(|(field, key)| {
            let n = counts.get(*field).and_then(serde_json::Value::as_i64)?;
            (n > 0).then(|| crate::locale::text_with(key, &[("count", Arg::Number(n))]))
        })
        .collect();
    if parts.is_empty() {
        crate::locale::word("retention-count-nothing").to_owned()
    } else {
        parts.join(", ")
    }
}

fn preview_view(due: &RetentionDue) -> PreviewView {
    PreviewView {
        tickets_due: due.tickets_due,
        tickets_held: due.tickets_held,
        tickets: due
            .tickets
            .iter()
            .map(|t| DueTicketRow {
                id: t.id.to_string(),
                number: t.number,
                action: disposal_key(t.action),
                last_change: when(t.last_change.0),
            })
            .collect(),
        transcripts_due: due.transcripts_due,
        transcripts_held: due.transcripts_held,
        quarantined_due: due.quarantined_due,
        addresses_due: due.addresses.sessions
            + due.addresses.audit_entries
            + due.addresses.api_tokens
            + due.addresses.transcripts,
        audit_addresses_fixed: due.addresses.audit_entries_fixed,
    }
}

pub async fn show(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("set") => Some(crate::locale::word("notice-retention-set")),
        Some("removed") => Some(crate::locale::word("notice-retention-removed")),
        Some("ran") => Some(crate::locale::word("notice-retention-ran")),
        _ => None,
    };
    page(&s, &caller, q.scope.as_deref(), q.preview.is_some(), notice, None).await
}

async fn refused(s: &AppState, caller: &Caller, e: ServiceError) -> Result<Response, UiError> {
    let (why, status) = match e {
        ServiceError::Invalid(why) => (why, StatusCode::BAD_REQUEST),
        ServiceError::Conflict(why) => (why, StatusCode::CONFLICT),
        ServiceError::NotFound => (
            palisade_i18n::Refusal::new("refusal-retention-scope"),
            StatusCode::NOT_FOUND,
        ),
        other => return Err(other.into()),
    };
    let mut response = page(s, caller, None, false, None, Some(crate::locale::refusal(&why))).await?;
    *response.status_mut() = status;
    Ok(response)
}

/// An empty field keeps that kind of data; anything but a whole number is refused.
fn days_field(value: Option<&str>) -> Result<Option<u32>, ServiceError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<u32>()
            .map(Some)
            .map_err(|_| ServiceError::invalid("refusal-retention-schedule")),
    }
}

fn change_from(form: &ScheduleForm) -> Result<ScheduleChange, ServiceError> {
    Ok(ScheduleChange {
        tickets_days: days_field(form.tickets_days.as_deref())?,
        tickets_action: match form.tickets_action.as_deref() {
            None | Some("anonymise") => TicketDisposal::Anonymise,
            Some("erase") => TicketDisposal::Erase,
            Some(_) => return Err(ServiceError::invalid("refusal-retention-schedule")),
        },
        transcripts_days: days_field(form.transcripts_days.as_deref())?,
        quarantine_days: days_field(form.quarantine_days.as_deref())?,
        addresses_days: days_field(form.addresses_days.as_deref())?,
    })
}

pub async fn set_schedule(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<ScheduleForm>,
) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/admin/retention"));
    }
    let change = match change_from(&form) {
        Ok(change) => change,
        Err(e) => return refused(&s, &caller, e).await,
    };
    match s
        .desk()
        .set_retention_schedule(&caller.actor(), &form.scope, &change)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/retention?done=set").into_response()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn remove_schedule(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<RemoveForm>,
) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/admin/retention"));
    }
    match s
        .desk()
        .remove_retention_schedule(&caller.actor(), &form.scope)
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/retention?done=removed").into_response()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn run(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    if palisade_identity::require_recent_auth(caller.session.as_ref()).is_err() {
        return Ok(super::security::step_up_redirect("/admin/retention"));
    }
    match s.desk().run_retention(&caller.actor()).await {
        Ok(_) => Ok(Redirect::to("/admin/retention?done=ran").into_response()),
        Err(e @ ServiceError::Conflict(_)) => refused(&s, &caller, e).await,
        Err(e) => Err(e.into()),
    }
}
