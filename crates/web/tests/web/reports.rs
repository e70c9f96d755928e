//! Reports over a generated month of traffic, on SQLite and PostgreSQL, with an
//! injected clock: tickets opened through the API and the pages, by customers and for
//! them, in two teams and three priorities; answered, solved and rated at known
//! times. Every figure of the report (in all, per team and per priority, and per day)
//! is compared with one computed here independently — business time by stepping
//! through the calendar minute by minute, percentiles by sorting. Beside it: only
//! supervisors and administrators read reports, the CSV says the same and keeps a
//! team's name from becoming a formula, and the page draws its charts as SVG.

use crate::common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::{Actor, World};
use palisade_core::{ManualClock, UnixMillis};
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(a_months_report_matches_an_independent_count);

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-11-01 00:00 UTC, a Sunday.
const NOVEMBER: i64 = 1_793_491_200_000;

/// The fixture's calendar: Mondays 09:00–17:00 UTC. Minutes open in `[from, to)`,
/// counted one by one.
fn business(from: i64, to: i64) -> i64 {
    let mut open = 0;
    let mut t = from;
    while t < to {
        let day = (t.div_euclid(DAY) + 3).rem_euclid(7); // 0 = Monday (1970-01-01 was a Thursday)
        let minute_of_day = t.rem_euclid(DAY) / MINUTE;
        if day == 0 && (9 * 60..17 * 60).contains(&minute_of_day) {
            open += MINUTE;
        }
        t += MINUTE;
    }
    open
}

/// When `minutes` of business time have passed since `from`.
fn business_due(from: i64, minutes: i64) -> i64 {
    let mut t = from;
    let mut left = minutes;
    loop {
        if business(t, t + MINUTE) > 0 {
            left -= 1;
        }
        t += MINUTE;
        if left == 0 {
            return t;
        }
    }
}

fn nearest_rank(mut values: Vec<i64>, p: usize) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort();
    let rank = (p * values.len()).div_ceil(100).max(1);
    Some(values[rank - 1])
}

#[derive(Clone, Debug)]
struct Made {
    team: &'static str,
    priority: &'static str,
    opened: i64,
    answered: Option<i64>,
    solved: Option<i64>,
    rated: Option<bool>,
}

#[derive(Debug, Default, PartialEq)]
struct Expect {
    created: usize,
    solved: usize,
    backlog: usize,
    first: Vec<i64>,
    resolution: Vec<i64>,
    met: usize,
    missed: usize,
    good: usize,
    bad: usize,
}

impl Expect {
    fn json(&self) -> Value {
        let secs = |v: Option<i64>| v.map(|ms| ms / 1000);
        let pct =
            |a: usize, b: usize| (a + b > 0).then(|| (a as f64 * 1000.0 / (a + b) as f64).round() / 10.0);
        json!({
            "created": self.created, "solved": self.solved, "backlog": self.backlog,
            "first_response": {"count": self.first.len(), "median_seconds": secs(nearest_rank(self.first.clone(), 50)),
                               "p90_seconds": secs(nearest_rank(self.first.clone(), 90))},
            "resolution": {"count": self.resolution.len(), "median_seconds": secs(nearest_rank(self.resolution.clone(), 50)),
                           "p90_seconds": secs(nearest_rank(self.resolution.clone(), 90))},
            "targets_met": self.met, "targets_missed": self.missed,
            "compliance_percent": pct(self.met, self.missed),
            "rated_good": self.good, "rated_bad": self.bad,
            "satisfaction_percent": pct(self.good, self.bad),
        })
    }
}

/// What the report must say about `made` over November, measured here.
fn expect(made: &[&Made], end: i64, now: i64) -> Expect {
    let mut e = Expect::default();
    for m in made {
        let within = |t: i64| (NOVEMBER..end).contains(&t);
        let elapsed = |from: i64, to: i64| {
            if m.priority == "high" {
                business(from, to)
            } else {
                to - from
            }
        };
        if within(m.opened) {
            e.created += 1;
            if let Some(a) = m.answered {
                e.first.push(elapsed(m.opened, a));
            }
        }
        if let Some(s) = m.solved.filter(|s| within(*s)) {
            e.solved += 1;
            e.resolution.push(elapsed(m.opened, s));
        }
        if m.opened < end && m.solved.is_none_or(|s| s >= end) {
            e.backlog += 1;
        }
        // High: a first answer within 240 business minutes; low: solved within a week.
        let target = match m.priority {
            "high" => Some((business_due(m.opened, 240), m.answered)),
            "low" => Some((m.opened + 7 * DAY, m.solved)),
            _ => None,
        };
        if let Some((due, met)) = target {
            match met {
                Some(met) if within(met) => {
                    if met > due {
                        e.missed += 1;
                    } else {
                        e.met += 1;
                    }
                }
                // Unmet: missed once due while its clock ran (solving stops it first).
                None if within(due) && due <= now && m.solved.is_none_or(|s| s >= due) => e.missed += 1,
                _ => {}
            }
        }
        match m.rated {
            Some(true) => e.good += 1,
            Some(false) => e.bad += 1,
            None => {}
        }
    }
    e
}

async fn ok(w: &World, who: &Actor, method: &str, path: &str, body: Value) -> Value {
    let r = w.json(who, method, path, body).await;
    assert!(
        r.status.is_success(),
        "{method} {path}: {} {}",
        r.status,
        r.text()
    );
    if r.status == StatusCode::NO_CONTENT {
        Value::Null
    } else {
        r.json()
    }
}

async fn a_months_report_matches_an_independent_count(backend: Backend) {
    let clock = ManualClock::at(UnixMillis(NOVEMBER));
    let w = World::new(backend).await.with_clock(clock.clone());
    // High priority: a first answer within four business hours of Mondays 09–17.
    ok(
        &w,
        &w.admin,
        "POST",
        "/api/v1/sla-policies",
        json!({"name": "High", "position": 1, "conditions": {"priorities": ["high"]},
               "first_response_minutes": 240, "calendar_id": w.calendar}),
    )
    .await;
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &format!("/api/v1/teams/{}", w.team_b),
            json!({"auto_assign": "off"}),
        )
        .await;
    assert!(r.status.is_success());
    let mut made: Vec<Made> = Vec::new();
    for day in 0..30_i64 {
        for k in 0..(2 + day % 3) {
            let opened = NOVEMBER + day * DAY + (7 + 3 * k) * HOUR + (day * 7 % 50) * MINUTE;
            clock.set(UnixMillis(opened));
            let (team, id) = if k == 2 {
                // Opened by a supervisor for a customer, in team B.
                let t = ok(
                    &w,
                    &w.supervisor,
                    "POST",
                    "/api/v1/tickets",
                    json!({"subject": format!("Call {day}"), "body": "By phone",
                           "requester_id": w.customer_2.id.to_string(), "team_id": w.team_b.to_string()}),
                )
                .await;
                ("b", t["id"].as_str().unwrap().to_owned())
            } else {
                let t = ok(
                    &w,
                    &w.customer_1,
                    "POST",
                    "/api/v1/tickets",
                    json!({"subject": format!("Question {day}.{k}"), "body": "Help"}),
                )
                .await;
                ("a", t["id"].as_str().unwrap().to_owned())
            };
            let priority = match ((day + k) % 4, team) {
                (0, "a") => "high",
                (1, _) => "low",
                _ => "normal",
            };
            if priority != "normal" {
                ok(
                    &w,
                    &w.supervisor,
                    "PATCH",
                    &format!("/api/v1/tickets/{id}"),
                    json!({"priority": priority}),
                )
                .await;
            }
            w.dispatch().await;
            let mut m = Made {
                team,
                priority,
                opened,
                answered: None,
                solved: None,
                rated: None,
            };
            if (day + k) % 5 != 0 {
                let at = opened + (30 + 17 * k + 3 * day) * MINUTE;
                clock.set(UnixMillis(at));
                ok(
                    &w,
                    &w.supervisor,
                    "POST",
                    &format!("/api/v1/tickets/{id}/messages"),
                    json!({"body": "We are on it", "visibility": "public"}),
                )
                .await;
                m.answered = Some(at);
                w.dispatch().await;
            }
            if (day + k) % 3 != 0 {
                let at =
                    opened + (2 * HOUR) + (41 * k + day) * MINUTE + if day % 7 == 3 { 8 * DAY } else { 0 };
                clock.set(UnixMillis(at));
                ok(
                    &w,
                    &w.supervisor,
                    "PATCH",
                    &format!("/api/v1/tickets/{id}"),
                    json!({"status": "solved"}),
                )
                .await;
                m.solved = Some(at);
                w.dispatch().await;
                if (day + k) % 2 == 0 {
                    clock.set(UnixMillis(at + HOUR));
                    let good = (day * k) % 3 != 0;
                    let who = if team == "a" { &w.customer_1 } else { &w.customer_2 };
                    ok(
                        &w,
                        who,
                        "PUT",
                        &format!("/api/v1/tickets/{id}/satisfaction"),
                        json!({"rating": if good { "good" } else { "bad" }}),
                    )
                    .await;
                    m.rated = Some(good);
                }
            }
            made.push(m);
        }
    }
    let end = NOVEMBER + 30 * DAY;
    let now = NOVEMBER + 40 * DAY;
    clock.set(UnixMillis(now));
    w.dispatch().await;
    // Rated after the month (an hour after solving): not November's answer.
    for m in &mut made {
        if m.solved.is_some_and(|s| s + HOUR >= end) {
            m.rated = None;
        }
    }

    let query = "/api/v1/reports?from=2026-11-01&to=2026-11-30";
    for who in [&w.agent_a, &w.light_a, &w.auditor, &w.customer_1] {
        let r = w.get(who, query).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", who.role);
    }
    let all: Vec<&Made> = made.iter().collect();
    let report = ok(&w, &w.supervisor, "GET", query, json!({})).await;
    assert_eq!(report["total"], expect(&all, end, now).json(), "in all");
    assert_eq!(
        ok(&w, &w.admin, "GET", query, json!({})).await["total"],
        report["total"]
    );
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    for (i, d) in days.iter().enumerate() {
        let start = NOVEMBER + i64::try_from(i).unwrap() * DAY;
        let on = |t: Option<i64>| t.is_some_and(|t| (start..start + DAY).contains(&t));
        assert_eq!(
            d["created"],
            made.iter().filter(|m| on(Some(m.opened))).count(),
            "{d}"
        );
        assert_eq!(d["solved"], made.iter().filter(|m| on(m.solved)).count(), "{d}");
    }

    for (by, key_of) in [
        ("team", (|m: &Made| m.team) as fn(&Made) -> &'static str),
        ("priority", |m: &Made| m.priority),
    ] {
        let report = ok(
            &w,
            &w.supervisor,
            "GET",
            &format!("{query}&group_by={by}"),
            json!({}),
        )
        .await;
        let mut groups: BTreeMap<&str, Vec<&Made>> = BTreeMap::new();
        for m in &made {
            groups.entry(key_of(m)).or_default().push(m);
        }
        let got: BTreeMap<String, Value> = report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let key = g["key"].as_str().unwrap();
                let short = if key == w.team_a.to_string() {
                    "a"
                } else if key == w.team_b.to_string() {
                    "b"
                } else {
                    key
                };
                (short.to_owned(), g["figures"].clone())
            })
            .collect();
        assert_eq!(got.len(), groups.len(), "{got:?}");
        for (key, members) in &groups {
            assert_eq!(got[*key], expect(members, end, now).json(), "{by} {key}");
        }
    }

    // The CSV says the same.
    let csv = w
        .get(
            &w.supervisor,
            "/reports/export?from=2026-11-01&to=2026-11-30&group_by=priority",
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.text();
    let total = text.lines().last().unwrap().to_owned();
    assert!(
        total.starts_with(&format!(
            "\"Total\",{},{},{},",
            report["total"]["created"], report["total"]["solved"], report["total"]["backlog"]
        )),
        "{text}"
    );
    // The page: figures, and charts as SVG without scripts or style attributes.
    let page = w
        .get(
            &w.supervisor,
            "/reports?from=2026-11-01&to=2026-11-30&group_by=team",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("<svg") && !html.contains("style=\""), "{html}");
    assert!(html.contains(&format!(
        "<td class=\"number\">{}</td>",
        report["total"]["created"]
    )));
    // A period the desk cannot report on is refused.
    for bad in ["from=2026-11-30&to=2026-11-01", "from=2020-01-01&to=2026-11-30"] {
        let r = w.get(&w.supervisor, &format!("/api/v1/reports?{bad}")).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{bad}");
    }
    let r = w
        .get(
            &w.supervisor,
            "/api/v1/reports?from=2026-11-01&to=2026-11-30&group_by=mood",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A team named like a spreadsheet formula stays text in the CSV.
    let team = ok(
        &w,
        &w.admin,
        "POST",
        "/api/v1/teams",
        json!({"name": "=HYPERLINK(\"http://x\")"}),
    )
    .await;
    clock.set(UnixMillis(NOVEMBER + 15 * DAY));
    ok(
        &w,
        &w.supervisor,
        "POST",
        "/api/v1/tickets",
        json!({"subject": "Formula", "body": "x", "requester_id": w.customer_2.id.to_string(),
               "team_id": team["id"]}),
    )
    .await;
    let text = w
        .get(
            &w.supervisor,
            "/reports/export?from=2026-11-01&to=2026-11-30&group_by=team",
        )
        .await
        .text();
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\",1,"), "{text}");
}
