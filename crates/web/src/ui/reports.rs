//! The reports page (supervisors and administrators): a period of whole days, its
//! figures in all and per group, charts drawn on the server, and the same figures as
//! CSV. Names in the CSV that a spreadsheet would run as a formula are kept as text.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use palisade_service::reports::{Figures, GroupBy, Report, day_text};
use serde::Deserialize;

use super::filters;
use super::{UiError, charts, render};
use crate::api::reports::{ReportQuery, run};
use crate::{AppState, Caller};

const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    group_by: Option<String>,
}

struct Row {
    label: String,
    figures: Figures,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    from: String,
    to: String,
    group_by: String,
    groups: Vec<&'static str>,
    total: Figures,
    rows: Vec<Row>,
    days_chart: String,
    groups_chart: String,
    export: String,
}

/// A duration as hours and minutes ("3 h 05 min"); a dash for none.
fn span(ms: Option<i64>) -> String {
    match ms {
        None => "–".to_owned(),
        Some(ms) => {
            let minutes = ms / 60_000;
            format!("{} h {:02} min", minutes / 60, minutes % 60)
        }
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.1} %"))
}

impl ReportsPage {
    fn span(&self, ms: &Option<i64>) -> String {
        span(*ms)
    }

    fn percent(&self, value: Option<f64>) -> String {
        percent(value)
    }
}

/// The query with the last thirty days filled in where a day is missing.
fn asked(q: PageQuery, today: i64) -> ReportQuery {
    let today = today - today.rem_euclid(DAY_MS);
    ReportQuery {
        from: q
            .from
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| day_text(today - 29 * DAY_MS)),
        to: q.to.filter(|d| !d.is_empty()).unwrap_or_else(|| day_text(today)),
        group_by: q.group_by,
    }
}

/// What a group is called on the page and in the CSV.
fn label(by: Option<GroupBy>, key: &str, label: &str) -> String {
    match by {
        Some(GroupBy::Priority) => crate::locale::text(&format!("priority-{key}")),
        Some(GroupBy::Channel) => crate::locale::text(&format!("via-{key}")),
        Some(GroupBy::Agent) if key.is_empty() => crate::locale::word("reports-unassigned").to_owned(),
        Some(GroupBy::Company) if key.is_empty() => crate::locale::word("reports-no-company").to_owned(),
        _ => label.to_owned(),
    }
}

pub async fn page(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let q = asked(q, s.desk().clock_now());
    let (report, by) = run(&s, &caller, &q).await?;
    let rows: Vec<Row> = report
        .groups
        .iter()
        .map(|g| Row {
            label: label(by, &g.key, &g.label),
            figures: g.figures.clone(),
        })
        .collect();
    let days: Vec<(String, usize, usize)> = report
        .days
        .iter()
        .map(|d| (day_text(d.start), d.created, d.solved))
        .collect();
    let days_chart = charts::paired_columns(
        crate::locale::word("reports-chart-days"),
        &days,
        crate::locale::word("reports-created"),
        crate::locale::word("reports-solved"),
    );
    let groups_chart = if rows.is_empty() {
        String::new()
    } else {
        let bars: Vec<(String, usize)> = rows
            .iter()
            .map(|r| (r.label.clone(), r.figures.created))
            .collect();
        charts::rows(crate::locale::word("reports-chart-groups"), &bars)
    };
    let group_by = q.group_by.clone().unwrap_or_default();
    let export = format!(
        "/reports/export?from={}&to={}&group_by={}",
        q.from,
        q.to,
        by.map(GroupBy::as_str).unwrap_or_default()
    );
    Ok(render(&ReportsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        from: q.from,
        to: q.to,
        group_by,
        groups: GroupBy::ALL.iter().map(|g| g.as_str()).collect(),
        total: report.total.clone(),
        rows,
        days_chart,
        groups_chart,
        export,
    }))
}

/// A CSV cell: quoted, quotes doubled, and text a spreadsheet would take for a
/// formula (`=`, `+`, `-`, `@`, a tab or a carriage return first) kept as text.
fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

fn csv_line(name: &str, f: &Figures) -> String {
    let secs = |ms: Option<i64>| ms.map(|ms| (ms / 1000).to_string()).unwrap_or_default();
    let pct = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
    [
        cell(name),
        f.created.to_string(),
        f.solved.to_string(),
        f.backlog.to_string(),
        secs(f.first_response.median_ms),
        secs(f.first_response.p90_ms),
        secs(f.resolution.median_ms),
        secs(f.resolution.p90_ms),
        f.targets_met.to_string(),
        f.targets_missed.to_string(),
        pct(f.compliance_percent()),
        f.rated_good.to_string(),
        f.rated_bad.to_string(),
        pct(f.satisfaction_percent()),
    ]
    .join(",")
}

pub(crate) fn csv(report: &Report, by: Option<GroupBy>) -> String {
    let mut out = String::from(
        "group,created,solved,backlog,first_response_median_seconds,first_response_p90_seconds,\
         resolution_median_seconds,resolution_p90_seconds,targets_met,targets_missed,compliance_percent,\
         rated_good,rated_bad,satisfaction_percent\r\n",
    );
    for g in &report.groups {
        out.push_str(&csv_line(&label(by, &g.key, &g.label), &g.figures));
        out.push_str("\r\n");
    }
    out.push_str(&csv_line(crate::locale::word("reports-total"), &report.total));
    out.push_str("\r\n");
    out
}

pub async fn export(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    let q = asked(q, s.desk().clock_now());
    let (report, by) = run(&s, &caller, &q).await?;
    let name = format!("attachment; filename=\"report-{}-{}.csv\"", q.from, q.to);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv(&report, by),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_never_a_formula_in_a_spreadsheet() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "\"'+1\"");
        assert_eq!(cell("Support"), "\"Support\"");
        assert_eq!(span(Some(3 * 3_600_000 + 5 * 60_000)), "3 h 05 min");
    }
}
