//! Retention schedules through the API and the pages, on SQLite and PostgreSQL, with a
//! clock the test moves: an administrator sets the desk's schedule (after a fresh
//! sign-in), the dry run names what is past its time and what a legal hold keeps, a run
//! erases the solved ticket and leaves the held one, every step is audited and the
//! trail verifies; the schedule's own run happens on one node at a time. The attacks:
//! roles without privacy rights, a stale session, schedules a scope cannot hold, scopes
//! that do not exist.

use crate::common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::World;
use palisade_core::{ManualClock, Role, UnixMillis};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(retention_schedules_dispose_of_solved_tickets_past_their_time);

const DAY_SECS: i64 = 86_400;

async fn retention_schedules_dispose_of_solved_tickets_past_their_time(backend: Backend) {
    let clock = ManualClock::at(UnixMillis::now());
    let w = World::new(backend).await.with_clock(clock.clone());
    let schedule = "/api/v1/privacy/retention/schedules/desk";

    // Attack: roles without privacy rights look or set.
    for who in [&w.supervisor, &w.agent_a, &w.auditor, &w.customer_1] {
        let r = w.get(who, "/api/v1/privacy/retention/preview").await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.text()
        );
        let r = w.json(who, "PUT", schedule, json!({"tickets_days": 1})).await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.text()
        );
    }
    // Attack: an administrator's session signed in an hour ago sets nothing.
    let stale = common::session_signed_in_at(
        &w.store,
        w.admin.id.clone(),
        Role::Admin,
        UnixMillis(UnixMillis::now().0 - 3_600_000),
    )
    .await;
    let r = w.json(&stale, "PUT", schedule, json!({"tickets_days": 1})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // Refused: what a scope cannot hold, periods out of range, scopes that do not exist.
    let team = format!("/api/v1/privacy/retention/schedules/team:{}", w.team_a);
    for (path, body) in [
        (team.as_str(), json!({"addresses_days": 7})),
        (schedule, json!({"tickets_days": 0})),
        (schedule, json!({"tickets_days": 36_501})),
        (schedule, json!({"tickets_action": "shred"})),
    ] {
        let r = w.json(&w.admin, "PUT", path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body} {}", r.text());
    }
    for path in [
        "/api/v1/privacy/retention/schedules/team:team_AAAAAAAAAAAAAAAAAAAAAA",
        "/api/v1/privacy/retention/schedules/everyone",
    ] {
        let r = w.json(&w.admin, "PUT", path, json!({"tickets_days": 30})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    }
    assert_eq!(w.count("retention_schedules").await, 0);

    // Genuine: solved tickets are erased 30 days after their last change.
    let r = w
        .json(
            &w.admin,
            "PUT",
            schedule,
            json!({"tickets_days": 30, "tickets_action": "erase", "addresses_days": 7}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["tickets_action"], "erase");
    for ticket in [&w.ticket_1, &w.ticket_3] {
        let r = w
            .json(
                &w.supervisor,
                "PATCH",
                &format!("/api/v1/tickets/{ticket}"),
                json!({"status": "solved"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/privacy/holds",
            json!({"target": w.ticket_3, "reason": "Chargeback dispute 2026-121"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // A duplicate merged into the held ticket is held with it (closed by the merge).
    let r = w
        .json(
            &w.supervisor,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Duplicate Retq2", "body": "same again", "requester_id": w.customer_2.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let duplicate = r.json()["id"].as_str().unwrap().to_owned();
    let r = w
        .json(
            &w.supervisor,
            "POST",
            &format!("/api/v1/tickets/{duplicate}/merge"),
            json!({"into": w.ticket_3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Before their time nothing is due.
    let preview = w.get(&w.admin, "/api/v1/privacy/retention/preview").await.json();
    assert_eq!(
        (preview["tickets_due"].as_u64(), preview["tickets_held"].as_u64()),
        (Some(0), Some(0))
    );

    // 31 days on, the dry run names ticket 1 and counts the held ones; nothing changes.
    clock.advance_secs(31 * DAY_SECS);
    let preview = w.get(&w.admin, "/api/v1/privacy/retention/preview").await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text());
    let preview = preview.json();
    assert_eq!(
        (preview["tickets_due"].as_u64(), preview["tickets_held"].as_u64()),
        (Some(1), Some(2)),
        "the held ticket and the duplicate merged into it"
    );
    assert_eq!(preview["tickets"][0]["id"], w.ticket_1.as_str());
    assert_eq!(preview["tickets"][0]["action"], "erase");
    let r = w.get(&w.admin, &format!("/api/v1/tickets/{}", w.ticket_1)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = w.get(&w.admin, "/admin/retention?preview=1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(&format!("data-ticket=\"{}\"", w.ticket_1)),
        "{}",
        page.text()
    );

    // The run erases it and leaves the held one.
    let r = w
        .json(&w.admin, "POST", "/api/v1/privacy/retention/runs", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let run = r.json();
    assert_eq!(run["counts"]["tickets_erased"], 1, "{run}");
    assert_eq!(run["counts"]["tickets_held"], 2, "{run}");
    assert_eq!(run["counts"]["complete"], true, "{run}");
    assert_eq!(run["started_by"], w.admin.id.as_str());
    let r = w.get(&w.admin, &format!("/api/v1/tickets/{}", w.ticket_1)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = w
        .get(&w.customer_1, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = w.get(&w.admin, &format!("/api/v1/tickets/{}", w.ticket_3)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = w.get(&w.admin, &format!("/api/v1/tickets/{duplicate}")).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the duplicate merged into the held ticket stays"
    );

    // Audited: the schedule, the run and the batch naming the ticket; the trail verifies.
    let audit = w.get(&w.admin, "/api/v1/audit?limit=1000").await.json();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "privacy.retention_schedule_set",
        "privacy.retention_run_started",
        "privacy.retention_applied",
        "privacy.retention_run_finished",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let applied = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "privacy.retention_applied")
        .unwrap();
    assert!(applied.to_string().contains(w.ticket_1.as_str()), "{applied}");
    w.store
        .verify_audit_trail(w.store.audit_trusted_keys())
        .await
        .unwrap();

    // The overview lists the schedule and the run; the page shows both.
    let overview = w.get(&w.admin, "/api/v1/privacy/retention").await.json();
    assert_eq!(overview["schedules"][0]["scope"], "desk");
    assert_eq!(overview["runs"][0]["id"], run["id"]);
    let page = w.get(&w.admin, "/admin/retention").await;
    assert!(page.text().contains("retention-runs") && page.text().contains("data-scope=\"desk\""));

    // The schedule's own run: one node at a time. The run by hand counts as the
    // hour's; two hours on, while node A holds the lease, node B does nothing; once A
    // ran, nobody runs again within the hour.
    let desk = palisade_service::Desk::new(
        w.store.clone(),
        Arc::new(palisade_policy::PolicyEngine::load().unwrap()),
    )
    .with_clock(Arc::new(clock.clone()));
    w.store
        .lease_subscription(palisade_service::RETENTION_LEASE, "node-a", 60_000, 0)
        .await
        .unwrap()
        .unwrap();
    // A run by hand meanwhile is refused: it would overlap node A's.
    let r = w
        .json(&w.admin, "POST", "/api/v1/privacy/retention/runs", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(
        desk.run_retention_if_due("node-b", 3_600_000)
            .await
            .unwrap()
            .is_none()
    );
    clock.advance_secs(2 * 3600);
    assert!(
        desk.run_retention_if_due("node-b", 3_600_000)
            .await
            .unwrap()
            .is_none()
    );
    let ran = desk
        .run_retention_if_due("node-a", 3_600_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran.started_by, "schedule");
    assert!(
        desk.run_retention_if_due("node-b", 3_600_000)
            .await
            .unwrap()
            .is_none()
    );

    // The pages: a schedule a company cannot hold is refused with the reason; a team's
    // is saved; removed again.
    let r = w
        .form(
            &w.admin,
            "/admin/retention/schedules",
            "scope=desk&tickets_days=0",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("role=\"alert\""));
    let r = w
        .form(
            &w.admin,
            "/admin/retention/schedules",
            &format!(
                "scope=team:{}&tickets_days=90&tickets_action=anonymise&quarantine_days=14",
                w.team_b
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // "Change" fills the form in with the team's schedule.
    let page = w
        .get(&w.admin, &format!("/admin/retention?scope=team:{}", w.team_b))
        .await
        .text();
    assert!(
        page.contains(&format!("value=\"team:{}\" selected", w.team_b)),
        "{page}"
    );
    assert!(
        page.contains("name=\"tickets_days\" min=\"1\" max=\"36500\" inputmode=\"numeric\" value=\"90\"")
    );
    let overview = w.get(&w.admin, "/api/v1/privacy/retention").await.json();
    let team_b = overview["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scope"] == format!("team:{}", w.team_b))
        .unwrap();
    assert_eq!(
        (
            team_b["tickets_days"].as_u64(),
            team_b["quarantine_days"].as_u64()
        ),
        (Some(90), Some(14))
    );
    let r = w
        .form(
            &w.admin,
            "/admin/retention/schedules/remove",
            &format!("scope=team:{}", w.team_b),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "DELETE",
            &format!("/api/v1/privacy/retention/schedules/team:{}", w.team_b),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
