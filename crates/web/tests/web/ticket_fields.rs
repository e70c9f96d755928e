//! Priority, type and the ticket's version, on SQLite and PostgreSQL: agents classify
//! a ticket through the API and the page; an update based on a version a colleague
//! has since changed is refused (409 `stale-ticket`, with the ticket as it is now) and
//! writes nothing; values that are already the ticket's do not move the version.
//! Beside it: a light agent and a customer may not classify, and a customer's page
//! does not show the internal priority.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    agents_classify_tickets_and_stale_updates_are_refused,
    the_ticket_page_refuses_a_stale_form_and_shows_the_ticket_now
);

async fn agents_classify_tickets_and_stale_updates_are_refused(backend: Backend) {
    let w = World::new(backend).await;
    let path = format!("/api/v1/tickets/{}", w.ticket_1);
    let seen = w.get(&w.agent_a, &path).await.json();
    assert_eq!(seen["priority"], "normal");
    assert_eq!(seen["type"], serde_json::Value::Null);
    let v = seen["version"].as_i64().unwrap();

    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &path,
            json!({"priority": "urgent", "type": "incident", "version": v}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let after = r.json();
    assert_eq!(after["priority"], "urgent");
    assert_eq!(after["type"], "incident");
    assert_eq!(after["version"].as_i64().unwrap(), v + 1);

    // The supervisor still holds version v: refused, with the ticket as it is now.
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &path,
            json!({"priority": "low", "status": "pending", "version": v}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let problem = r.json();
    assert_eq!(problem["type"], "https://palisade.invalid/problems/stale-ticket");
    assert_eq!(problem["ticket"]["priority"], "urgent");
    assert_eq!(problem["ticket"]["version"].as_i64().unwrap(), v + 1);
    let now = w.get(&w.agent_a, &path).await.json();
    assert_eq!(
        now["priority"], "urgent",
        "nothing of the stale change was written"
    );
    assert_ne!(now["status"], "pending");

    // Based on the version it now has (a JSON number with a zero fraction is the same
    // integer): taken. Tags move the version too.
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &path,
            json!({"priority": "low", "version": (v + 1) as f64}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &format!("{path}/tags"),
            json!({"tags": ["vip"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &path,
            json!({"type": null, "version": v + 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a tag change happened in between");

    // What the ticket already is changes nothing, and the version stays.
    let current = w.get(&w.agent_a, &path).await.json();
    let version = current["version"].as_i64().unwrap();
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &path,
            json!({"priority": current["priority"], "type": current["type"], "version": version}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["version"].as_i64().unwrap(), version);
    // Clearing the type.
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &path,
            json!({"type": null, "version": version}),
        )
        .await;
    assert_eq!(r.json()["type"], serde_json::Value::Null);

    // Not a priority: 400. A light agent or the customer may not classify.
    let r = w
        .json(&w.agent_a, "PATCH", &path, json!({"priority": "critical"}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    for who in [&w.light_a, &w.customer_1] {
        let r = w.json(who, "PATCH", &path, json!({"priority": "urgent"})).await;
        assert!(
            r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
            "{}",
            r.status
        );
    }
    assert_ne!(w.get(&w.agent_a, &path).await.json()["priority"], "urgent");
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "ticket.updated" && e.detail.contains("\"priority\":\"urgent\"")),
        "the change is audited"
    );
}

async fn the_ticket_page_refuses_a_stale_form_and_shows_the_ticket_now(backend: Backend) {
    let w = World::new(backend).await;
    let page_path = format!("/tickets/{}", w.ticket_1);
    let page = w.get(&w.agent_a, &page_path).await.text();
    assert!(
        page.contains("name=\"priority\""),
        "agents get the priority field"
    );
    let version = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await
        .json()["version"]
        .as_i64()
        .unwrap();
    let form = |priority: &str, v: i64| {
        format!("status=open&assignee=&priority={priority}&ticket_type=problem&version={v}")
    };

    let r = w
        .form(&w.agent_a, &format!("{page_path}/update"), &form("high", version))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = w.get(&w.agent_a, &page_path).await.text();
    assert!(page.contains("high priority"), "the page shows the new priority");

    // The supervisor's form was loaded before that change.
    let r = w
        .form(
            &w.supervisor,
            &format!("{page_path}/update"),
            &form("low", version),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let text = r.text();
    assert!(text.contains("Someone changed this ticket"), "{text}");
    assert!(text.contains("priority is now high"), "{text}");
    assert!(text.contains(&format!("name=\"version\" value=\"{}\"", version + 1)));
    assert!(
        w.get(&w.agent_a, &page_path)
            .await
            .text()
            .contains("high priority")
    );

    // The customer's page says nothing of priority or type.
    let customer_page = w.get(&w.customer_1, &page_path).await.text();
    assert!(
        !customer_page.contains("priority"),
        "internal fields stay internal"
    );
    assert!(!customer_page.contains("problem"));
}
