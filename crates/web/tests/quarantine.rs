//! Reviewing quarantined mail, on SQLite and PostgreSQL: only the team's agents and
//! supervisors see it (others get the same 404 as for a missing item); releasing makes
//! a tagged ticket whose page warns staff; a decision is final and audited.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use axum::http::StatusCode;
use common::World;
use palisade_core::TicketId;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(the_teams_agents_review_quarantined_mail_and_decisions_are_final);

async fn the_teams_agents_review_quarantined_mail_and_decisions_are_final(backend: Backend) {
    let w = World::new(backend).await;
    let item = format!("/api/v1/quarantine/{}", w.quarantined);
    // Team A's agent sees it, with why it is held; team B's agent and customers do not.
    let list = w.get(&w.agent_a, "/api/v1/quarantine").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["from"], "c3@private.test");
    assert_eq!(list[0]["subject"], "Please change my bank details");
    assert_eq!(list[0]["verdict"]["authenticated"], false);
    assert!(list[0]["raw"].is_null(), "lists carry no message bodies");
    for outsider in [&w.agent_b, &w.customer_3, &w.light_a, &w.auditor] {
        assert_eq!(w.get(outsider, "/api/v1/quarantine").await.json(), json!([]));
        let r = w.get(outsider, &item).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let missing = w
            .get(outsider, "/api/v1/quarantine/qua_000000000000000000000000")
            .await;
        assert_eq!(missing.body, r.body, "refused looks like missing");
        let r = w
            .json(outsider, "POST", &format!("{item}/release"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let detail = w.get(&w.agent_a, &item).await;
    assert!(detail.json()["raw"].as_str().unwrap().contains("New IBAN below."));

    // Released: a ticket for the address in From, tagged and flagged for staff.
    let r = w
        .json(&w.agent_a, "POST", &format!("{item}/release"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ticket = TicketId::parse(r.json()["ticket_id"].as_str().unwrap()).unwrap();
    let record = w.store.get_ticket(&ticket).await.unwrap();
    assert_eq!(record.requester, w.customer_3.id);
    assert!(
        record
            .tags
            .iter()
            .any(|t| t.as_str() == palisade_mail::RELEASED_TAG)
    );
    let page = w.get(&w.agent_a, &format!("/tickets/{ticket}")).await;
    assert!(
        page.text().contains("could not be authenticated"),
        "staff see the warning"
    );
    // Decided once: releasing again or discarding now conflicts.
    assert_eq!(
        w.json(&w.agent_a, "POST", &format!("{item}/release"), json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        w.json(&w.agent_a, "POST", &format!("{item}/discard"), json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(w.get(&w.agent_a, "/api/v1/quarantine").await.json(), json!([]));
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "mail.quarantine_released"
        && e.actor == w.agent_a.id.to_string()
        && e.object == w.quarantined));
    let denials = entries.iter().filter(|e| e.action == "access.denied").count();
    assert!(denials >= 8, "every refused look is audited ({denials})");
}
