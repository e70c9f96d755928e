//! Service levels end to end, on SQLite and PostgreSQL: an administrator defines a
//! business-hours calendar and a policy (through the API and the page); a matching
//! ticket gets its targets when the subscriber runs; a clock moved past the target
//! shows it breached in the list filter and on the ticket; a public reply in time
//! meets the first response, pending stops the resolution clock, and removing the
//! policy removes the targets. Beside it the attacks: supervisors, agents and
//! customers defining policies, a customer reading targets or filtering by them, a
//! policy matching a personal field, and nonsense calendars. Escalations fire from
//! timers in the database exactly once: two nodes racing, a restart and a clock that
//! jumps back and forth neither lose nor repeat a step.

use crate::common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::World;
use palisade_core::{ManualClock, UnixMillis};
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    a_policy_sets_targets_that_breach_meet_and_pause,
    only_administrators_define_service_levels_and_only_staff_see_targets,
    escalations_fire_once_across_nodes_restarts_and_clock_jumps
);

fn berlin_office() -> Value {
    let periods: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| json!({"day": d, "from": "09:00", "to": "17:00"}))
        .collect();
    json!({
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "periods": periods,
        "holidays": [{"every_year": "12-25"}, {"date": "2026-12-24"}]
    })
}

async fn targets(w: &World, who: &common::Actor, ticket: &str) -> Value {
    let r = w
        .get(who, &format!("/api/v1/tickets/{ticket}/service-levels"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn target<'a>(all: &'a Value, name: &str) -> &'a Value {
    all.as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == name)
        .unwrap_or_else(|| panic!("no {name} in {all}"))
}

async fn a_policy_sets_targets_that_breach_meet_and_pause(backend: Backend) {
    let clock = ManualClock::at(UnixMillis::now());
    let w = World::new(backend)
        .await
        .with_config(|c| c.clock = Arc::new(clock.clone()));

    let calendar = w
        .json(&w.admin, "POST", "/api/v1/calendars", berlin_office())
        .await;
    assert_eq!(calendar.status, StatusCode::CREATED, "{}", calendar.text());
    let calendar = calendar.json();
    assert_eq!(calendar["periods"].as_array().unwrap().len(), 5);
    assert_eq!(calendar["holidays"][0]["every_year"], "12-25");
    // Urgent tickets of team A: an hour to the first answer, eight to solve, counted
    // around the clock.
    let policy = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/sla-policies",
            json!({"name": "Urgent", "position": 1,
                   "conditions": {"priorities": ["urgent"], "team_ids": [w.team_a.to_string()]},
                   "first_response_minutes": 60, "resolution_minutes": 480}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text());
    let policy_id = policy.json()["id"].as_str().unwrap().to_owned();
    w.dispatch().await;

    let opened = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Card stolen", "body": "Please block it"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text());
    let ticket = opened.json()["id"].as_str().unwrap().to_owned();
    w.dispatch().await;
    // Normal priority: no policy matches, no targets.
    assert_eq!(targets(&w, &w.agent_a, &ticket).await, json!([]));

    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{ticket}"),
            json!({"priority": "urgent"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.dispatch().await;
    let all = targets(&w, &w.agent_a, &ticket).await;
    let first = target(&all, "first_response");
    assert_eq!(first["breached"], false);
    assert!(first["met_at"].is_null());
    let due: time::OffsetDateTime = time::OffsetDateTime::parse(
        first["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let created = w
        .store
        .get_ticket(&ticket.parse().unwrap())
        .await
        .unwrap()
        .created_at
        .0;
    assert_eq!(
        due.unix_timestamp() * 1000 + i64::from(due.millisecond()),
        created + 3_600_000,
        "an hour after opening"
    );
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|t| t["target"] != "next_response")
    );

    // An hour and a minute later nobody has answered: breached, in the list filter and
    // on the page.
    clock.advance_secs(61 * 60);
    assert_eq!(
        target(&targets(&w, &w.agent_a, &ticket).await, "first_response")["breached"],
        true
    );
    let breached = w.get(&w.agent_a, "/tickets?service_level=breached").await;
    assert_eq!(breached.status, StatusCode::OK);
    assert!(breached.text().contains("Card stolen"), "{}", breached.text());
    // Sorted by what falls due first, the missed ticket leads the queue.
    let by_due = w.get(&w.agent_a, "/tickets?sort=due").await.text();
    let (stolen, refund) = (by_due.find("Card stolen"), by_due.find("Refund for order 1234"));
    assert!(
        stolen.is_some() && refund.is_some() && stolen < refund,
        "{by_due}"
    );
    let r = w.get(&w.customer_1, "/tickets?sort=due").await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "customers do not sort by targets"
    );
    let soon = w.get(&w.agent_a, "/tickets?service_level=due_soon").await.text();
    assert!(!soon.contains("Card stolen"), "already missed, not due soon");
    let page = w.get(&w.agent_a, &format!("/tickets/{ticket}")).await.text();
    assert!(
        page.contains("id=\"service-levels\"") && page.contains("target breached"),
        "{page}"
    );

    // A saved view of missed targets counts it.
    let view = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/views",
            json!({"name": "Missed", "service_level": "breached"}),
        )
        .await;
    assert_eq!(view.status, StatusCode::CREATED, "{}", view.text());
    assert_eq!(view.json()["count"], 1);

    // The answer (written now, by the real clock, before the due time) meets the first
    // response in time; pending stops the resolution clock with its time left.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({"body": "Blocked. Anything else?", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{ticket}"),
            json!({"status": "pending"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.dispatch().await;
    let all = targets(&w, &w.agent_a, &ticket).await;
    let first = target(&all, "first_response");
    assert!(first["met_at"].is_string() && first["breached"] == false, "{all}");
    let resolution = target(&all, "resolution");
    assert!(resolution["due_at"].is_null(), "{all}");
    let left = resolution["remaining_seconds"].as_i64().unwrap();
    assert!(left > 7 * 3600 && left <= 8 * 3600, "{left}");
    let breached = w.get(&w.agent_a, "/tickets?service_level=breached").await.text();
    assert!(!breached.contains("Card stolen"));

    // The policy is removed: the ticket's targets go with it.
    let r = w
        .raw(
            Some(&w.admin),
            "DELETE",
            &format!("/api/v1/sla-policies/{policy_id}"),
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    w.dispatch().await;
    assert_eq!(targets(&w, &w.agent_a, &ticket).await, json!([]));
    let audit: Vec<String> = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "service_levels.calendar_saved",
        "service_levels.policy_saved",
        "service_levels.policy_deleted",
    ] {
        assert!(audit.contains(&action.to_owned()), "{action}");
    }
}

async fn only_administrators_define_service_levels_and_only_staff_see_targets(backend: Backend) {
    let w = World::new(backend).await;
    let policy = json!({"name": "Everything", "first_response_minutes": 30});
    for who in [&w.supervisor, &w.agent_a, &w.light_a, &w.auditor, &w.customer_1] {
        let r = w.json(who, "POST", "/api/v1/sla-policies", policy.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = w.json(who, "POST", "/api/v1/calendars", berlin_office()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = w.get(who, "/api/v1/sla-policies").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        let r = w
            .form(
                who,
                "/admin/service-levels/policies",
                "name=Everything&first_response=30",
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    // Only the fixture's calendar and policy are there.
    assert_eq!(w.store.sla_policies().await.unwrap().len(), 1);
    assert_eq!(w.store.calendars().await.unwrap().len(), 1);

    // The page: a calendar and a policy created from the forms.
    let r = w
        .form(
            &w.admin,
            "/admin/service-levels/calendars",
            "name=Office&time_zone=America%2FNew_York&hours=mon+09%3A00-17%3A00%0D%0Atue+09%3A00-12%3A00&holidays=every+07-04",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let calendar = w
        .store
        .calendars()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Office")
        .unwrap();
    let r = w
        .form(
            &w.admin,
            "/admin/service-levels/policies",
            &format!(
                "name=High&position=2&priority=high&priority=urgent&first_response=120&calendar={}",
                calendar.id
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = w.get(&w.admin, "/admin/service-levels?done=saved").await.text();
    assert!(
        page.contains("mon 09:00-17:00") && page.contains("every 07-04") && page.contains("value=\"High\""),
        "{page}"
    );
    // Nonsense is refused with why, and nothing is stored.
    let r = w
        .form(
            &w.admin,
            "/admin/service-levels/calendars",
            "name=Mars&time_zone=Mars%2FOlympus&hours=mon+09%3A00-17%3A00",
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("unknown time zone"), "{}", r.text());
    for (body, status) in [
        (
            json!({"name": "x", "time_zone": "UTC", "periods": [{"day": "mon", "from": "17:00", "to": "09:00"}]}),
            409,
        ),
        (json!({"name": "x", "time_zone": "UTC", "periods": []}), 409),
        (
            json!({"name": "x", "time_zone": "UTC", "periods": [{"day": "someday", "from": "09:00", "to": "12:00"}]}),
            400,
        ),
        (
            json!({"name": "x", "time_zone": "UTC", "periods": [{"day": "mon", "from": "09:00", "to": "12:00"},
                                                                  {"day": "mon", "from": "11:00", "to": "13:00"}]}),
            409,
        ),
        (
            json!({"name": "Office", "time_zone": "UTC", "periods": [{"day": "sun", "from": "09:00", "to": "12:00"}]}),
            409,
        ),
    ] {
        let r = w.json(&w.admin, "POST", "/api/v1/calendars", body.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text());
    }
    assert_eq!(w.store.calendars().await.unwrap().len(), 2);
    // A calendar a policy counts in cannot go.
    let r = w
        .raw(
            Some(&w.admin),
            "DELETE",
            &format!("/api/v1/calendars/{}", calendar.id),
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // A policy cannot match a personal field's value: it would sit unsealed in it.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/fields",
            json!({"key": "passport", "label": "Passport", "kind": "text", "personal": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/sla-policies",
            json!({"name": "VIP", "conditions": {"field": "passport", "field_value": "X123"},
                   "first_response_minutes": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/sla-policies",
            json!({"name": "Nothing", "position": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "no target: {}", r.text());

    // Targets are the desk's own: customers neither read nor filter by them.
    let r = w
        .get(
            &w.customer_1,
            &format!("/api/v1/tickets/{}/service-levels", w.ticket_1),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = w.get(&w.customer_1, "/tickets?service_level=breached").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let page = w
        .get(&w.customer_1, &format!("/tickets/{}", w.ticket_1))
        .await
        .text();
    assert!(!page.contains("service-levels"), "{page}");
    // Nor does an agent of another team read a ticket's targets.
    let r = w
        .get(
            &w.agent_b,
            &format!("/api/v1/tickets/{}/service-levels", w.ticket_1),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}

async fn service_level_notices(w: &World, who: &common::Actor) -> usize {
    let r = w.get(who, "/api/v1/notifications").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "service_level")
        .count()
}

async fn escalations_fire_once_across_nodes_restarts_and_clock_jumps(backend: Backend) {
    let clock = ManualClock::at(UnixMillis::now());
    let w = World::new(backend)
        .await
        .with_config(|c| c.clock = Arc::new(clock.clone()))
        .with_agent_notifications()
        .await;
    // The supervisor leads team A.
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/teams/{}/members", w.team_a),
            json!({"user_id": w.supervisor.id.to_string()}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    // For the private company's tickets in team A: a quarter of an hour before the first answer
    // is due, the team hears of it; when it is missed, the ticket goes up a priority
    // and over to team B.
    let policy = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/sla-policies",
            json!({"name": "Answer within the hour", "position": 0, "first_response_minutes": 60,
            "conditions": {"company_ids": [w.private_company.to_string()],
                           "team_ids": [w.team_a.to_string()]},
            "escalations": [
                {"minutes_before": 15, "notify_assignee": true, "notify_supervisors": true},
                {"target": "first_response", "raise_priority": true, "move_to_team_id": w.team_b.to_string()}
            ]}),
        )
        .await;
    assert_eq!(policy.status, StatusCode::CREATED, "{}", policy.text());
    assert_eq!(policy.json()["escalations"].as_array().unwrap().len(), 2);
    let opened = w
        .json(
            &w.customer_3,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Locked out", "body": "I cannot sign in"}),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text());
    let ticket = opened.json()["id"].as_str().unwrap().to_owned();
    let ticket_id: palisade_core::TicketId = ticket.parse().unwrap();
    w.dispatch().await;
    let before_agent = service_level_notices(&w, &w.agent_a).await;
    let before_supervisor = service_level_notices(&w, &w.supervisor).await;

    // Not yet due.
    assert_eq!(w.state.desk().escalate(common::ORIGIN).await.unwrap(), 0);
    // 46 minutes in: the warning, once, to the team (nobody is assigned) and its supervisor.
    clock.advance_secs(46 * 60);
    assert_eq!(w.state.desk().escalate(common::ORIGIN).await.unwrap(), 1);
    assert_eq!(w.state.desk().escalate(common::ORIGIN).await.unwrap(), 0);
    assert_eq!(service_level_notices(&w, &w.agent_a).await, before_agent + 1);
    assert_eq!(
        service_level_notices(&w, &w.supervisor).await,
        before_supervisor + 1
    );
    assert_eq!(
        service_level_notices(&w, &w.agent_b).await,
        0,
        "another team's agent"
    );
    let notices_after_warning = w.count("notifications").await;
    // The administrator lists the steps the other way round: the warning that fired
    // stays fired (a step is named by what it does, not by its place).
    let policy_id = policy.json()["id"].as_str().unwrap().to_owned();
    let mut reordered = policy.json();
    let steps = reordered["escalations"].as_array().unwrap().clone();
    reordered["escalations"] = json!([steps[1], steps[0]]);
    reordered.as_object_mut().unwrap().remove("id");
    let r = w
        .json(
            &w.admin,
            "PUT",
            &format!("/api/v1/sla-policies/{policy_id}"),
            reordered,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    w.dispatch().await;
    assert_eq!(w.state.desk().escalate(common::ORIGIN).await.unwrap(), 0);
    assert_eq!(w.count("notifications").await, notices_after_warning);

    // 61 minutes in, two nodes look at once: the breach step fires exactly once.
    clock.advance_secs(15 * 60);
    let (node_a, node_b) = (w.state.desk(), w.state.desk());
    let (a, b) = tokio::join!(node_a.escalate(common::ORIGIN), node_b.escalate(common::ORIGIN));
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    let now = w.store.get_ticket(&ticket_id).await.unwrap();
    assert_eq!(now.priority.as_str(), "high", "one step up, once");
    assert_eq!(now.team, w.team_b);
    assert_eq!(w.store.fired_sla_timers(&ticket_id).await.unwrap(), 2);

    // The move is a change like any other: the subscriber measures the ticket again,
    // and nothing fires twice — not after a restart (a fresh desk), not when the clock
    // jumps back an hour and forward again.
    w.dispatch().await;
    assert_eq!(w.state.desk().escalate(common::ORIGIN).await.unwrap(), 0);
    clock.advance_secs(-3600);
    assert_eq!(w.state.desk().escalate(common::ORIGIN).await.unwrap(), 0);
    clock.advance_secs(2 * 3600);
    assert_eq!(w.state.desk().escalate(common::ORIGIN).await.unwrap(), 0);
    assert_eq!(
        w.store.get_ticket(&ticket_id).await.unwrap().priority.as_str(),
        "high"
    );
    // The breach step notified nobody (it was not asked to), and nothing repeated the
    // warning. (Team A's agent no longer sees the ticket, now team B's.)
    assert_eq!(w.count("notifications").await, notices_after_warning);
    assert_eq!(service_level_notices(&w, &w.agent_a).await, before_agent);
    let escalated = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "service_levels.escalated")
        .count();
    assert_eq!(escalated, 2);

    // A step nobody can carry out is refused at save time.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/sla-policies",
            json!({"name": "Idle", "first_response_minutes": 5, "escalations": [{"minutes_before": 1}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
}
