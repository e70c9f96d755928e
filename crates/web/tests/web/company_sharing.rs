//! Changing whether a company's customers read each other's tickets, on SQLite and
//! PostgreSQL: a supervisor stops the sharing and a colleague's ticket disappears from
//! the customer at once; an administrator turns it back on from the Companies page.
//! Beside it, the attacks: an agent and a customer of the company cannot change it.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(sharing_is_changed_by_supervisors_and_applies_at_once);

async fn sharing_is_changed_by_supervisors_and_applies_at_once(backend: Backend) {
    let w = World::new(backend).await;
    let colleagues_ticket = format!("/api/v1/tickets/{}", w.ticket_1);
    let company = format!("/api/v1/companies/{}", w.sharing_company);
    assert_eq!(
        w.get(&w.customer_2, &colleagues_ticket).await.status,
        StatusCode::OK
    );

    for who in [&w.agent_a, &w.customer_1, &w.customer_2] {
        let r = w
            .json(who, "PATCH", &company, json!({"share_tickets": false}))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    assert_eq!(
        w.get(&w.customer_2, &colleagues_ticket).await.status,
        StatusCode::OK
    );

    let r = w
        .json(&w.supervisor, "PATCH", &company, json!({"share_tickets": false}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["share_tickets"], false);
    assert_eq!(
        w.get(&w.customer_2, &colleagues_ticket).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.get(&w.customer_1, &colleagues_ticket).await.status,
        StatusCode::OK,
        "the requester keeps theirs"
    );
    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    let entry = trail
        .iter()
        .find(|e| e.action == "directory.company_sharing_changed")
        .expect("audited");
    assert_eq!(entry.object, w.sharing_company.to_string());
    assert!(entry.detail.contains("\"to\":false"), "{}", entry.detail);

    let page = w.get(&w.admin, "/admin/companies").await.text();
    assert!(
        page.contains(&format!("/admin/companies/{}/sharing", w.sharing_company)),
        "{page}"
    );
    let r = w
        .form(
            &w.admin,
            &format!("/admin/companies/{}/sharing", w.sharing_company),
            "share_tickets=yes",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        w.get(&w.customer_2, &colleagues_ticket).await.status,
        StatusCode::OK
    );
}
