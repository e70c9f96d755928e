//! The service-levels page (administrators): business-hours calendars and the policies
//! that set tickets' targets, each created, changed and removed here. Hours are typed
//! one period a line (`mon 09:00-17:00`), closed days one a line (`2026-12-24`, or
//! `every 12-25` for every year).

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{Priority, TicketType};
use palisade_service::ServiceError;
use serde::Deserialize;

use super::{UiError, render};
use crate::api::service_levels::{
    CalendarBody, ConditionsBody, EscalationBody, HolidayBody, PeriodBody, PolicyBody, calendar_body,
    calendar_definition, policy_body, policy_definition,
};
use crate::{AppError, AppState, Caller};

struct CalendarRow {
    id: String,
    name: String,
    time_zone: String,
    hours: String,
    holidays: String,
}

struct PolicyRow {
    id: String,
    name: String,
    position: i64,
    first_response: String,
    next_response: String,
    resolution: String,
    calendar: String,
    priorities: Vec<String>,
    types: Vec<String>,
    teams: Vec<String>,
    companies: Vec<String>,
    field: String,
    field_value: String,
    /// The steps, and one blank row to add another (while there is room).
    steps: Vec<StepRow>,
}

struct StepRow {
    minutes_before: i64,
    /// Empty: every target.
    target: String,
    notify_assignee: bool,
    notify_supervisors: bool,
    raise_priority: bool,
    move_to_team: String,
}

impl PolicyRow {
    /// Whether `list` (one of this row's conditions) holds `value`, for ticking a box.
    fn has(&self, list: &[String], value: &str) -> bool {
        list.iter().any(|v| v == value)
    }
}

#[derive(Template)]
#[template(path = "admin_levels.html")]
struct LevelsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    calendars: Vec<CalendarRow>,
    policies: Vec<PolicyRow>,
    /// A blank policy, for the form that creates one.
    blank: PolicyRow,
    priorities: Vec<&'static str>,
    types: Vec<&'static str>,
    /// (id, name)
    teams: Vec<(String, String)>,
    companies: Vec<(String, String)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn hours_text(body: &CalendarBody) -> String {
    body.periods
        .iter()
        .map(|p| format!("{} {}-{}", p.day, p.from, p.to))
        .collect::<Vec<_>>()
        .join("\n")
}

fn holidays_text(body: &CalendarBody) -> String {
    body.holidays
        .iter()
        .map(|h| match (&h.date, &h.every_year) {
            (Some(d), _) => d.clone(),
            (None, Some(e)) => format!("every {e}"),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn minutes_text(m: Option<i64>) -> String {
    m.map(|m| m.to_string()).unwrap_or_default()
}

fn policy_row(id: String, body: PolicyBody) -> PolicyRow {
    let mut steps: Vec<StepRow> = body
        .escalations
        .iter()
        .map(|e| StepRow {
            minutes_before: e.minutes_before.unwrap_or(0),
            target: e.target.clone().unwrap_or_default(),
            notify_assignee: e.notify_assignee,
            notify_supervisors: e.notify_supervisors,
            raise_priority: e.raise_priority,
            move_to_team: e.move_to_team_id.clone().unwrap_or_default(),
        })
        .collect();
    if steps.len() < palisade_service::sla::MAX_ESCALATIONS {
        steps.push(StepRow {
            minutes_before: 0,
            target: String::new(),
            notify_assignee: false,
            notify_supervisors: false,
            raise_priority: false,
            move_to_team: String::new(),
        });
    }
    PolicyRow {
        steps,
        id,
        name: body.name,
        position: body.position.unwrap_or(0),
        first_response: minutes_text(body.first_response_minutes),
        next_response: minutes_text(body.next_response_minutes),
        resolution: minutes_text(body.resolution_minutes),
        calendar: body.calendar_id.unwrap_or_default(),
        priorities: body.conditions.priorities,
        types: body.conditions.types,
        teams: body.conditions.team_ids,
        companies: body.conditions.company_ids,
        field: body.conditions.field.unwrap_or_default(),
        field_value: body.conditions.field_value.unwrap_or_default(),
    }
}

async fn page(
    s: &AppState,
    caller: &Caller,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let actor = caller.actor();
    let calendars = desk
        .calendars(&actor)
        .await?
        .iter()
        .map(|r| {
            let body = calendar_body(r)?;
            Ok(CalendarRow {
                id: r.id.to_string(),
                name: body.name.clone(),
                time_zone: body.time_zone.clone(),
                hours: hours_text(&body),
                holidays: holidays_text(&body),
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let policies = desk
        .sla_policies(&actor)
        .await?
        .iter()
        .map(|r| Ok(policy_row(r.id.to_string(), policy_body(r)?)))
        .collect::<Result<Vec<_>, AppError>>()?;
    let teams = desk
        .team_directory(&actor)
        .await?
        .into_iter()
        .map(|e| (e.team.id.to_string(), e.team.name))
        .collect();
    let companies = desk
        .companies(&actor)
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    Ok(render(&LevelsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        calendars,
        policies,
        blank: policy_row(
            String::new(),
            PolicyBody {
                name: String::new(),
                position: Some(0),
                conditions: ConditionsBody::default(),
                first_response_minutes: None,
                next_response_minutes: None,
                resolution_minutes: None,
                calendar_id: None,
                escalations: Vec::new(),
            },
        ),
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
        types: TicketType::ALL.iter().map(|t| t.as_str()).collect(),
        teams,
        companies,
        notice,
        error,
    }))
}

pub async fn levels(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let notice = (q.done.as_deref() == Some("saved")).then_some(crate::locale::word("notice-levels-saved"));
    page(&s, &caller, notice, None).await
}

/// The page again with why the form was refused; anything else as usual.
async fn refused(s: &AppState, caller: &Caller, error: UiError) -> Result<Response, UiError> {
    let (why, status) = match error.0 {
        AppError::BadRequest(why) => (why, StatusCode::BAD_REQUEST),
        AppError::Conflict(why) => (why, StatusCode::CONFLICT),
        other => return Err(UiError(other)),
    };
    let mut response = page(s, caller, None, Some(crate::locale::refusal(&why))).await?;
    *response.status_mut() = status;
    Ok(response)
}

fn value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
}

fn values(form: &[(String, String)], name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

fn calendar_form(form: &[(String, String)]) -> Result<CalendarBody, AppError> {
    let mut periods = Vec::new();
    for line in value(form, "hours")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let (day, span) = line
            .split_once(' ')
            .ok_or_else(|| AppError::bad_request("refusal-calendar-period"))?;
        let (from, to) = span
            .trim()
            .split_once('-')
            .ok_or_else(|| AppError::bad_request("refusal-calendar-period"))?;
        periods.push(PeriodBody {
            day: day.to_lowercase(),
            from: from.trim().to_owned(),
            to: to.trim().to_owned(),
        });
    }
    let holidays = value(form, "holidays")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.strip_prefix("every ") {
            Some(day) => HolidayBody {
                date: None,
                every_year: Some(day.trim().to_owned()),
            },
            None => HolidayBody {
                date: Some(line.to_owned()),
                every_year: None,
            },
        })
        .collect();
    Ok(CalendarBody {
        name: value(form, "name").to_owned(),
        time_zone: value(form, "time_zone").to_owned(),
        periods,
        holidays,
    })
}

fn minutes_field(form: &[(String, String)], name: &str) -> Result<Option<i64>, AppError> {
    match value(form, name) {
        "" => Ok(None),
        text => text
            .parse()
            .map(Some)
            .map_err(|_| AppError::bad_request("refusal-sla-minutes-form")),
    }
}

fn policy_form(form: &[(String, String)]) -> Result<PolicyBody, AppError> {
    let field = Some(value(form, "field").to_owned()).filter(|f| !f.is_empty());
    let field_value = Some(value(form, "field_value").to_owned()).filter(|f| !f.is_empty());
    Ok(PolicyBody {
        name: value(form, "name").to_owned(),
        position: Some(match value(form, "position") {
            "" => 0,
            text => text
                .parse()
                .map_err(|_| AppError::bad_request("refusal-sla-position"))?,
        }),
        conditions: ConditionsBody {
            priorities: values(form, "priority"),
            types: values(form, "type"),
            team_ids: values(form, "team"),
            company_ids: values(form, "company"),
            field,
            field_value,
        },
        first_response_minutes: minutes_field(form, "first_response")?,
        next_response_minutes: minutes_field(form, "next_response")?,
        resolution_minutes: minutes_field(form, "resolution")?,
        calendar_id: Some(value(form, "calendar").to_owned()).filter(|c| !c.is_empty()),
        escalations: steps_form(form)?,
    })
}

/// The step rows (`step.N.…`): a row with nothing ticked and no team is no step.
fn steps_form(form: &[(String, String)]) -> Result<Vec<EscalationBody>, AppError> {
    let mut steps = Vec::new();
    for i in 0..palisade_service::sla::MAX_ESCALATIONS {
        let field = |name: &str| value(form, &format!("step.{i}.{name}")).to_owned();
        let ticked = |name: &str| !field(name).is_empty();
        let team = Some(field("team")).filter(|t| !t.is_empty());
        if !(ticked("assignee") || ticked("supervisors") || ticked("priority") || team.is_some()) {
            continue;
        }
        steps.push(EscalationBody {
            minutes_before: Some(match field("minutes").as_str() {
                "" => 0,
                text => text
                    .parse()
                    .map_err(|_| AppError::bad_request("refusal-sla-minutes-form"))?,
            }),
            target: Some(field("target")).filter(|t| !t.is_empty()),
            notify_assignee: ticked("assignee"),
            notify_supervisors: ticked("supervisors"),
            raise_priority: ticked("priority"),
            move_to_team_id: team,
        });
    }
    Ok(steps)
}

async fn save_calendar(
    s: &AppState,
    caller: &Caller,
    id: Option<&str>,
    form: &[(String, String)],
) -> Result<(), UiError> {
    let definition = calendar_definition(calendar_form(form)?)?;
    s.desk().save_calendar(&caller.actor(), id, definition).await?;
    Ok(())
}

async fn save_policy(
    s: &AppState,
    caller: &Caller,
    id: Option<&str>,
    form: &[(String, String)],
) -> Result<(), UiError> {
    let definition = policy_definition(policy_form(form)?)?;
    s.desk().save_sla_policy(&caller.actor(), id, definition).await?;
    Ok(())
}

fn saved() -> Response {
    Redirect::to("/admin/service-levels?done=saved").into_response()
}

pub async fn create_calendar(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    match save_calendar(&s, &caller, None, &form).await {
        Ok(()) => Ok(saved()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn update_calendar(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    match save_calendar(&s, &caller, Some(&id), &form).await {
        Ok(()) => Ok(saved()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn delete_calendar(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    match s.desk().delete_calendar(&caller.actor(), &id).await {
        Ok(()) => Ok(saved()),
        Err(e @ ServiceError::Conflict(_)) => refused(&s, &caller, e.into()).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn create_policy(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    match save_policy(&s, &caller, None, &form).await {
        Ok(()) => Ok(saved()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn update_policy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    match save_policy(&s, &caller, Some(&id), &form).await {
        Ok(()) => Ok(saved()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn delete_policy(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().delete_sla_policy(&caller.actor(), &id).await?;
    Ok(saved())
}
