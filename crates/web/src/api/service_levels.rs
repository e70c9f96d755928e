//! Service levels over the API: business-hours calendars and the policies that set
//! tickets' targets (administrators), and each ticket's targets (staff who read it).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_service::sla::{
    CalendarDefinition, EscalationStep, Holiday, OpenPeriod, SlaConditions, SlaPolicyDefinition,
    calendar::format_clock, calendar::parse_clock, conditions_of, definition_of, escalations_of,
};
use palisade_store::{CalendarRecord, SlaPolicyRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

/// One opening period: a weekday and local times.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodBody {
    /// `mon` … `sun`.
    pub day: String,
    /// `HH:MM`, local time.
    pub from: String,
    /// `HH:MM` after `from`, at most `24:00`.
    pub to: String,
}

/// A day the desk is closed: a `date` once, or a `month` and `day` every year.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayBody {
    /// `YYYY-MM-DD`, for one day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `MM-DD`, every year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_year: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarBody {
    pub name: String,
    /// An IANA time zone, such as `Europe/Berlin`.
    pub time_zone: String,
    pub periods: Vec<PeriodBody>,
    #[serde(default)]
    pub holidays: Vec<HolidayBody>,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarView {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub periods: Vec<PeriodBody>,
    pub holidays: Vec<HolidayBody>,
}

impl CalendarView {
    fn of(id: String, body: CalendarBody) -> Self {
        Self {
            id,
            name: body.name,
            time_zone: body.time_zone,
            periods: body.periods,
            holidays: body.holidays,
        }
    }
}

/// What a ticket must be for the policy to apply; every list given must contain the
/// ticket's value.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionsBody {
    #[serde(default)]
    pub priorities: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub team_ids: Vec<String>,
    #[serde(default)]
    pub company_ids: Vec<String>,
    /// A custom field's key (never a personal field's), with `field_value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_value: Option<String>,
}

/// What happens before or at a breach, once per target.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationBody {
    /// Minutes before the target falls due; 0 (the default) at the breach.
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub minutes_before: Option<i64>,
    /// Only this target; every target when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default)]
    pub notify_assignee: bool,
    #[serde(default)]
    pub notify_supervisors: bool,
    #[serde(default)]
    pub raise_priority: bool,
    /// Hand the ticket to this team, unassigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub move_to_team_id: Option<String>,
}

#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    /// Policies are tried from the lowest position; the first that matches applies.
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub position: Option<i64>,
    #[serde(default)]
    pub conditions: ConditionsBody,
    /// Minutes of business time (calendar time without a calendar).
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub first_response_minutes: Option<i64>,
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub next_response_minutes: Option<i64>,
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub resolution_minutes: Option<i64>,
    /// The business hours the targets count in; `null`: around the clock.
    #[serde(default)]
    pub calendar_id: Option<String>,
    /// At most five steps.
    #[serde(default)]
    pub escalations: Vec<EscalationBody>,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub name: String,
    pub position: i64,
    pub conditions: ConditionsBody,
    pub first_response_minutes: Option<i64>,
    pub next_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    pub calendar_id: Option<String>,
    pub escalations: Vec<EscalationBody>,
}

impl PolicyView {
    fn of(id: String, body: PolicyBody) -> Self {
        Self {
            id,
            name: body.name,
            position: body.position.unwrap_or(0),
            conditions: body.conditions,
            first_response_minutes: body.first_response_minutes,
            next_response_minutes: body.next_response_minutes,
            resolution_minutes: body.resolution_minutes,
            calendar_id: body.calendar_id,
            escalations: body.escalations,
        }
    }
}

/// One target of a ticket.
#[derive(Serialize, ToSchema)]
pub struct TargetView {
    /// `first_response`, `next_response` or `resolution`.
    pub target: String,
    /// When it falls due; `null` while the clock stands still (pending, solved).
    pub due_at: Option<String>,
    /// Business time left, in seconds, while the clock stands still.
    pub remaining_seconds: Option<i64>,
    pub met_at: Option<String>,
    pub breached: bool,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn invalid(id: &'static str) -> AppError {
    AppError::bad_request(id)
}

pub(crate) fn calendar_definition(body: CalendarBody) -> Result<CalendarDefinition, AppError> {
    if body.periods.len() > 200 || body.holidays.len() > 400 {
        return Err(invalid("refusal-calendar-period"));
    }
    let mut periods = Vec::new();
    for p in &body.periods {
        let weekday = DAYS
            .iter()
            .position(|d| *d == p.day)
            .ok_or_else(|| invalid("refusal-calendar-period"))?;
        let (Some(start), Some(end)) = (parse_clock(&p.from), parse_clock(&p.to)) else {
            return Err(invalid("refusal-calendar-period"));
        };
        periods.push(OpenPeriod {
            weekday: u8::try_from(weekday).unwrap_or(0),
            start,
            end,
        });
    }
    let mut holidays = Vec::new();
    for h in &body.holidays {
        holidays.push(match (&h.date, &h.every_year) {
            (Some(date), None) => Holiday::Once {
                date: date.parse().map_err(|_| invalid("refusal-calendar-holiday"))?,
            },
            (None, Some(day)) => {
                let (m, d) = day
                    .split_once('-')
                    .ok_or_else(|| invalid("refusal-calendar-holiday"))?;
                let (Ok(month), Ok(day)) = (m.parse::<i8>(), d.parse::<i8>()) else {
                    return Err(invalid("refusal-calendar-holiday"));
                };
                Holiday::Yearly { month, day }
            }
            _ => return Err(invalid("refusal-calendar-holiday")),
        });
    }
    Ok(CalendarDefinition {
        name: body.name,
        time_zone: body.time_zone,
        periods,
        holidays,
    })
}

pub(crate) fn calendar_body(record: &CalendarRecord) -> Result<CalendarBody, AppError> {
    let d = definition_of(record)?;
    Ok(CalendarBody {
        name: d.name,
        time_zone: d.time_zone,
        periods: d
            .periods
            .iter()
            .map(|p| PeriodBody {
                day: DAYS[usize::from(p.weekday.min(6))].to_owned(),
                from: format_clock(p.start),
                to: format_clock(p.end),
            })
            .collect(),
        holidays: d
            .holidays
            .iter()
            .map(|h| match h {
                Holiday::Once { date } => HolidayBody {
                    date: Some(date.to_string()),
                    every_year: None,
                },
                Holiday::Yearly { month, day } => HolidayBody {
                    date: None,
                    every_year: Some(format!("{month:02}-{day:02}")),
                },
            })
            .collect(),
    })
}

pub(crate) fn policy_definition(body: PolicyBody) -> Result<SlaPolicyDefinition, AppError> {
    let c = body.conditions;
    let field = match (c.field, c.field_value) {
        (Some(key), Some(value)) => Some((key, value)),
        (None, None) => None,
        _ => return Err(invalid("refusal-field-filter")),
    };
    Ok(SlaPolicyDefinition {
        name: body.name,
        position: body.position.unwrap_or(0),
        conditions: SlaConditions {
            priorities: c.priorities,
            types: c.types,
            teams: c.team_ids,
            companies: c.company_ids,
            field,
        },
        first_response_minutes: body.first_response_minutes,
        next_response_minutes: body.next_response_minutes,
        resolution_minutes: body.resolution_minutes,
        calendar: body.calendar_id,
        escalations: body
            .escalations
            .into_iter()
            .map(|e| EscalationStep {
                minutes_before: e.minutes_before.unwrap_or(0),
                target: e.target,
                notify_assignee: e.notify_assignee,
                notify_supervisors: e.notify_supervisors,
                raise_priority: e.raise_priority,
                move_to_team: e.move_to_team_id,
            })
            .collect(),
    })
}

pub(crate) fn policy_body(record: &SlaPolicyRecord) -> Result<PolicyBody, AppError> {
    let c = conditions_of(record)?;
    let (field, field_value) = match c.field {
        Some((k, v)) => (Some(k), Some(v)),
        None => (None, None),
    };
    Ok(PolicyBody {
        name: record.name.clone(),
        position: Some(record.position),
        conditions: ConditionsBody {
            priorities: c.priorities,
            types: c.types,
            team_ids: c.teams,
            company_ids: c.companies,
            field,
            field_value,
        },
        first_response_minutes: record.first_response_minutes,
        next_response_minutes: record.next_response_minutes,
        resolution_minutes: record.resolution_minutes,
        calendar_id: record.calendar.as_ref().map(ToString::to_string),
        escalations: escalations_of(record)?
            .into_iter()
            .map(|e| EscalationBody {
                minutes_before: Some(e.minutes_before),
                target: e.target,
                notify_assignee: e.notify_assignee,
                notify_supervisors: e.notify_supervisors,
                raise_priority: e.raise_priority,
                move_to_team_id: e.move_to_team,
            })
            .collect(),
    })
}

async fn calendar_view(s: &AppState, caller: &Caller, id: &str) -> Result<CalendarView, AppError> {
    let record = s
        .desk()
        .calendars(&caller.actor())
        .await?
        .into_iter()
        .find(|c| c.id.as_str() == id)
        .ok_or(AppError::NotFound)?;
    Ok(CalendarView::of(record.id.to_string(), calendar_body(&record)?))
}

async fn policy_view(s: &AppState, caller: &Caller, id: &str) -> Result<PolicyView, AppError> {
    let record = s
        .desk()
        .sla_policies(&caller.actor())
        .await?
        .into_iter()
        .find(|p| p.id.as_str() == id)
        .ok_or(AppError::NotFound)?;
    Ok(PolicyView::of(record.id.to_string(), policy_body(&record)?))
}

#[utoipa::path(get, path = "/api/v1/calendars", tag = "service levels",
    responses((status = 200, body = Vec<CalendarView>), (status = 403, body = Problem)))]
pub async fn list_calendars(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CalendarView>>, AppError> {
    let records = s.desk().calendars(&caller.actor()).await?;
    records
        .iter()
        .map(|r| Ok(CalendarView::of(r.id.to_string(), calendar_body(r)?)))
        .collect::<Result<Vec<_>, AppError>>()
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/calendars", tag = "service levels", request_body = CalendarBody,
    responses((status = 201, body = CalendarView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn create_calendar(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CalendarBody>,
) -> Result<(StatusCode, Json<CalendarView>), AppError> {
    let id = s
        .desk()
        .save_calendar(&caller.actor(), None, calendar_definition(body)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(calendar_view(&s, &caller, id.as_str()).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/calendars/{id}", tag = "service levels", params(("id" = String, Path)),
    request_body = CalendarBody,
    responses((status = 200, body = CalendarView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn replace_calendar(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CalendarBody>,
) -> Result<Json<CalendarView>, AppError> {
    let id = s
        .desk()
        .save_calendar(&caller.actor(), Some(&id), calendar_definition(body)?)
        .await?;
    Ok(Json(calendar_view(&s, &caller, id.as_str()).await?))
}

#[utoipa::path(delete, path = "/api/v1/calendars/{id}", tag = "service levels", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn delete_calendar(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().delete_calendar(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "service levels",
    responses((status = 200, body = Vec<PolicyView>), (status = 403, body = Problem)))]
pub async fn list_policies(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PolicyView>>, AppError> {
    let records = s.desk().sla_policies(&caller.actor()).await?;
    records
        .iter()
        .map(|r| Ok(PolicyView::of(r.id.to_string(), policy_body(r)?)))
        .collect::<Result<Vec<_>, AppError>>()
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/sla-policies", tag = "service levels", request_body = PolicyBody,
    responses((status = 201, body = PolicyView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn create_policy(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<(StatusCode, Json<PolicyView>), AppError> {
    let id = s
        .desk()
        .save_sla_policy(&caller.actor(), None, policy_definition(body)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(policy_view(&s, &caller, id.as_str()).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/sla-policies/{id}", tag = "service levels", params(("id" = String, Path)),
    request_body = PolicyBody,
    responses((status = 200, body = PolicyView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn replace_policy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Json<PolicyView>, AppError> {
    let id = s
        .desk()
        .save_sla_policy(&caller.actor(), Some(&id), policy_definition(body)?)
        .await?;
    Ok(Json(policy_view(&s, &caller, id.as_str()).await?))
}

#[utoipa::path(delete, path = "/api/v1/sla-policies/{id}", tag = "service levels", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_policy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().delete_sla_policy(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/service-levels", tag = "service levels",
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<TargetView>), (status = 404, body = Problem)))]
pub async fn ticket_targets(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<TargetView>>, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    // Targets are the desk's own business: for customers the route does not exist.
    desk.enter_workspace(&actor).await?;
    let (ticket, _) = desk.readable_ticket(&actor, &id).await?;
    Ok(Json(
        desk.targets_shown(&actor, &ticket)
            .await?
            .into_iter()
            .map(|t| TargetView {
                target: t.target.as_str().to_owned(),
                due_at: t.due_at.map(rfc3339),
                remaining_seconds: t.remaining_ms.map(|ms| ms / 1000),
                met_at: t.met_at.map(rfc3339),
                breached: t.breached,
            })
            .collect(),
    ))
}
