//! Reports over the API (supervisors and administrators): the figures of a period of
//! whole UTC days, in all, per group and per day; also as CSV.

use axum::Json;
use axum::extract::State;
use palisade_service::reports::{Durations, Figures, GroupBy, Report, day_text};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::ApiQuery;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The first day, `YYYY-MM-DD` (UTC).
    pub from: String,
    /// The last day, included.
    pub to: String,
    /// `team`, `agent`, `channel`, `priority` or `company`.
    #[serde(default)]
    pub group_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DurationsView {
    pub count: usize,
    /// Nearest-rank median, in seconds (business time where the ticket's policy has
    /// business hours).
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct FiguresView {
    pub created: usize,
    pub solved: usize,
    /// Unsolved at the end of the period.
    pub backlog: usize,
    pub first_response: DurationsView,
    pub resolution: DurationsView,
    pub targets_met: usize,
    pub targets_missed: usize,
    /// Met as a share of decided targets, to one decimal.
    pub compliance_percent: Option<f64>,
    pub rated_good: usize,
    pub rated_bad: usize,
    pub satisfaction_percent: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct GroupView {
    /// An id or a value; empty for tickets with none (no assignee, no company).
    pub key: String,
    pub label: String,
    pub figures: FiguresView,
}

#[derive(Serialize, ToSchema)]
pub struct DayView {
    pub date: String,
    pub created: usize,
    pub solved: usize,
}

#[derive(Serialize, ToSchema)]
pub struct ReportView {
    pub from: String,
    pub to: String,
    pub group_by: Option<String>,
    pub total: FiguresView,
    pub groups: Vec<GroupView>,
    pub days: Vec<DayView>,
}

fn durations(d: &Durations) -> DurationsView {
    DurationsView {
        count: d.count,
        median_seconds: d.median_ms.map(|ms| ms / 1000),
        p90_seconds: d.p90_ms.map(|ms| ms / 1000),
    }
}

/// A share to one decimal, as reports show it.
fn tenths(percent: f64) -> f64 {
    (percent * 10.0).round() / 10.0
}

pub(crate) fn figures(f: &Figures) -> FiguresView {
    FiguresView {
        created: f.created,
        solved: f.solved,
        backlog: f.backlog,
        first_response: durations(&f.first_response),
        resolution: durations(&f.resolution),
        targets_met: f.targets_met,
        targets_missed: f.targets_missed,
        compliance_percent: f.compliance_percent().map(tenths),
        rated_good: f.rated_good,
        rated_bad: f.rated_bad,
        satisfaction_percent: f.satisfaction_percent().map(tenths),
    }
}

/// The period and grouping asked for, as the service takes them.
pub(crate) fn period(q: &ReportQuery) -> Result<(i64, i64, Option<GroupBy>), AppError> {
    let from = palisade_service::day_start(&q.from)?.0;
    let to = palisade_service::day_end(&q.to)?.0;
    let group_by = match q.group_by.as_deref().filter(|g| !g.is_empty()) {
        Some(g) => Some(GroupBy::parse(g).ok_or_else(|| AppError::bad_request("refusal-report-group"))?),
        None => None,
    };
    Ok((from, to, group_by))
}

pub(crate) async fn run(
    s: &AppState,
    caller: &Caller,
    q: &ReportQuery,
) -> Result<(Report, Option<GroupBy>), AppError> {
    let (from, to, group_by) = period(q)?;
    Ok((
        s.desk().report(&caller.actor(), from, to, group_by).await?,
        group_by,
    ))
}

#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportQuery),
    responses((status = 200, body = ReportView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn report(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<ReportView>, AppError> {
    let (report, group_by) = run(&s, &caller, &q).await?;
    Ok(Json(ReportView {
        from: day_text(report.from),
        to: day_text(report.to - 86_400_000),
        group_by: group_by.map(|g| g.as_str().to_owned()),
        total: figures(&report.total),
        groups: report
            .groups
            .iter()
            .map(|g| GroupView {
                key: g.key.clone(),
                label: g.label.clone(),
                figures: figures(&g.figures),
            })
            .collect(),
        days: report
            .days
            .iter()
            .map(|d| DayView {
                date: day_text(d.start),
                created: d.created,
                solved: d.solved,
            })
            .collect(),
    }))
}
