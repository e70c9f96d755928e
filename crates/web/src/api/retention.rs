//! Retention schedules (docs/PRIVACY.md, "Retention"): how long solved tickets,
//! assistant transcripts, quarantined mail and network addresses are kept, for the
//! desk and per team or company; a dry run of what they make due now; the runs so far,
//! and a run by hand. Setting a schedule or running it destroys data, so both need a
//! fresh sign-in (a session, never an API token).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_service::ScheduleChange;
use palisade_store::{RetentionDue, RetentionRun, RetentionSchedule, TicketDisposal};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct RetentionScheduleView {
    /// `desk`, `team:<id>` or `company:<id>`.
    pub scope: String,
    /// Solved or closed tickets unchanged for this many days are disposed of.
    pub tickets_days: Option<u32>,
    /// `anonymise` (kept for reports, with nothing written in it and no customer) or
    /// `erase` (deleted).
    pub tickets_action: String,
    /// Assistant conversations without a new message for this many days are deleted.
    pub transcripts_days: Option<u32>,
    /// Quarantined mail is purged this many days after it arrived.
    pub quarantine_days: Option<u32>,
    /// Network addresses in sessions, API tokens, transcripts and the audit trail are
    /// shortened to their network after this many days (the desk's schedule only).
    pub addresses_days: Option<u32>,
    pub updated_by: String,
    pub updated_at: String,
}

impl RetentionScheduleView {
    pub(crate) fn of(s: &RetentionSchedule) -> Self {
        Self {
            scope: s.scope.key(),
            tickets_days: s.tickets_days,
            tickets_action: s.tickets_action.as_str().to_owned(),
            transcripts_days: s.transcripts_days,
            quarantine_days: s.quarantine_days,
            addresses_days: s.addresses_days,
            updated_by: s.updated_by.to_string(),
            updated_at: rfc3339(s.updated_at.0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RetentionRunView {
    pub id: String,
    pub started_at: String,
    /// Absent while it runs, or when it stopped midway (the next run carries on).
    pub finished_at: Option<String>,
    /// `schedule`, or the account that started it.
    pub started_by: String,
    /// What it did: tickets anonymised and erased, transcripts deleted, quarantined
    /// mail purged, addresses shortened, and what legal holds kept.
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
}

impl RetentionRunView {
    pub(crate) fn of(r: &RetentionRun) -> Self {
        Self {
            id: r.id.clone(),
            started_at: rfc3339(r.started_at.0),
            finished_at: r.finished_at.map(|t| rfc3339(t.0)),
            started_by: r.started_by.clone(),
            counts: r.counts.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RetentionOverview {
    pub schedules: Vec<RetentionScheduleView>,
    /// The newest runs first.
    pub runs: Vec<RetentionRunView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionScheduleBody {
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub tickets_days: Option<i64>,
    /// `anonymise` (the default) or `erase`.
    pub tickets_action: Option<String>,
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub transcripts_days: Option<i64>,
    /// Not for a company (mail has none).
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub quarantine_days: Option<i64>,
    /// The desk's schedule only.
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub addresses_days: Option<i64>,
}

/// A number of days as the schedule holds it; out of range is refused.
fn days(value: Option<i64>) -> Result<Option<u32>, palisade_service::ServiceError> {
    value
        .map(|d| {
            u32::try_from(d)
                .map_err(|_| palisade_service::ServiceError::invalid("refusal-retention-schedule"))
        })
        .transpose()
}

#[derive(Serialize, ToSchema)]
pub struct DueTicketView {
    pub id: String,
    pub number: i64,
    /// `anonymise` or `erase`.
    pub action: String,
    pub last_change: String,
}

/// What the schedules would dispose of now (nothing is changed).
#[derive(Serialize, ToSchema)]
pub struct RetentionPreview {
    pub tickets_due: u64,
    /// Tickets past their time that a legal hold keeps.
    pub tickets_held: u64,
    /// The first tickets due, oldest first.
    pub tickets: Vec<DueTicketView>,
    pub transcripts_due: u64,
    pub transcripts_held: u64,
    pub quarantined_due: u64,
    pub session_addresses_due: u64,
    pub audit_addresses_due: u64,
    /// Audit entries written before addresses were kept apart from the chain: their
    /// addresses stay as they are (the chain covers them).
    pub audit_addresses_fixed: u64,
    pub token_addresses_due: u64,
    pub transcript_addresses_due: u64,
}

impl RetentionPreview {
    fn of(due: &RetentionDue) -> Self {
        Self {
            tickets_due: due.tickets_due,
            tickets_held: due.tickets_held,
            tickets: due
                .tickets
                .iter()
                .map(|t| DueTicketView {
                    id: t.id.to_string(),
                    number: t.number,
                    action: t.action.as_str().to_owned(),
                    last_change: rfc3339(t.last_change.0),
                })
                .collect(),
            transcripts_due: due.transcripts_due,
            transcripts_held: due.transcripts_held,
            quarantined_due: due.quarantined_due,
            session_addresses_due: due.addresses.sessions,
            audit_addresses_due: due.addresses.audit_entries,
            audit_addresses_fixed: due.addresses.audit_entries_fixed,
            token_addresses_due: due.addresses.api_tokens,
            transcript_addresses_due: due.addresses.transcripts,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/privacy/retention", tag = "privacy",
    responses((status = 200, body = RetentionOverview), (status = 403, body = Problem)))]
/// The retention schedules and the latest runs.
pub async fn overview(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<RetentionOverview>, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    let schedules = desk.retention_schedules(&actor).await?;
    let runs = desk.retention_runs(&actor).await?;
    Ok(Json(RetentionOverview {
        schedules: schedules.iter().map(RetentionScheduleView::of).collect(),
        runs: runs.iter().map(RetentionRunView::of).collect(),
    }))
}

#[utoipa::path(put, path = "/api/v1/privacy/retention/schedules/{scope}", tag = "privacy",
    params(("scope" = String, Path, description = "`desk`, `team:<id>` or `company:<id>`")),
    request_body = RetentionScheduleBody,
    responses((status = 200, body = RetentionScheduleView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Sets the schedule of the desk, a team or a company (replacing any). Needs a fresh
/// sign-in: the next run disposes of what it makes due.
pub async fn set_schedule(
    State(s): State<AppState>,
    caller: Caller,
    Path(scope): Path<String>,
    ApiJson(body): ApiJson<RetentionScheduleBody>,
) -> Result<Json<RetentionScheduleView>, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let tickets_action = match body.tickets_action.as_deref() {
        None => TicketDisposal::Anonymise,
        Some(action) => TicketDisposal::parse(action)
            .map_err(|_| palisade_service::ServiceError::invalid("refusal-retention-schedule"))?,
    };
    let change = ScheduleChange {
        tickets_days: days(body.tickets_days)?,
        tickets_action,
        transcripts_days: days(body.transcripts_days)?,
        quarantine_days: days(body.quarantine_days)?,
        addresses_days: days(body.addresses_days)?,
    };
    let schedule = s
        .desk()
        .set_retention_schedule(&caller.actor(), &scope, &change)
        .await?;
    Ok(Json(RetentionScheduleView::of(&schedule)))
}

#[utoipa::path(delete, path = "/api/v1/privacy/retention/schedules/{scope}", tag = "privacy",
    params(("scope" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
/// Removes a schedule: that scope's data is kept, or follows the wider schedule (which
/// may keep it for less time), so it needs a fresh sign-in too.
pub async fn remove_schedule(
    State(s): State<AppState>,
    caller: Caller,
    Path(scope): Path<String>,
) -> Result<StatusCode, AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    s.desk()
        .remove_retention_schedule(&caller.actor(), &scope)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/privacy/retention/preview", tag = "privacy",
    responses((status = 200, body = RetentionPreview), (status = 403, body = Problem)))]
/// A dry run: what the schedules would dispose of now, and what legal holds keep.
pub async fn preview(State(s): State<AppState>, caller: Caller) -> Result<Json<RetentionPreview>, AppError> {
    let due = s.desk().retention_preview(&caller.actor()).await?;
    Ok(Json(RetentionPreview::of(&due)))
}

#[utoipa::path(post, path = "/api/v1/privacy/retention/runs", tag = "privacy",
    responses((status = 201, body = RetentionRunView), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
/// Runs the schedules now rather than at the next hourly run (refused while a run is
/// under way on any node). Needs a fresh sign-in.
pub async fn run(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<RetentionRunView>), AppError> {
    palisade_identity::require_recent_auth(caller.session.as_ref())?;
    let actor = caller.actor();
    let run = s.desk().run_retention(&actor).await?;
    Ok((StatusCode::CREATED, Json(RetentionRunView::of(&run))))
}
