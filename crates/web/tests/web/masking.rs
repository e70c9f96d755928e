//! Customers' contact details are masked for staff, on SQLite and PostgreSQL; seeing
//! them in clear takes a recent step-up and the right role, and is audited each time.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(staff_see_masked_details_until_they_step_up);

async fn unmask_audits(w: &World) -> usize {
    w.store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "directory.pii_unmasked")
        .count()
}

async fn staff_see_masked_details_until_they_step_up(backend: Backend) {
    let w = World::new(backend).await;
    let customer = format!("/api/v1/customers/{}", w.customer_1.id);
    // An agent sees enough to recognise the customer, not the address.
    let seen = w
        .raw(Some(&w.agent_a), "GET", &customer, Body::empty(), &[])
        .await
        .json();
    assert_eq!(seen["email"], "c•••@s•••.test");
    assert_eq!(seen["masked"], true);
    let list = w
        .raw(Some(&w.agent_a), "GET", "/api/v1/customers", Body::empty(), &[])
        .await
        .text();
    assert!(
        !list.contains("sharing.test") && !list.contains("private.test"),
        "{list}"
    );
    // The customer sees her own details in clear.
    let own = w
        .raw(Some(&w.customer_1), "GET", &customer, Body::empty(), &[])
        .await
        .json();
    assert_eq!(own["email"], "c1@sharing.test");
    assert_eq!(own["masked"], false);

    // Unmasking: an agent who signed in moments ago gets the details, and it is audited.
    let unmask = format!("{customer}/unmask");
    let r = w.raw(Some(&w.agent_a), "POST", &unmask, Body::empty(), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["email"], "c1@sharing.test");
    assert_eq!(unmask_audits(&w).await, 1);
    // An agent whose last proof of identity is old must step up first.
    let stale = common::session_signed_in_at(
        &w.store,
        w.agent_a.id.clone(),
        palisade_core::Role::Agent,
        palisade_core::UnixMillis(palisade_core::UnixMillis::now().0 - 3_600_000),
    )
    .await;
    let r = w.raw(Some(&stale), "POST", &unmask, Body::empty(), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json()["type"].as_str().unwrap().rsplit('/').next().unwrap(),
        "step-up-required"
    );
    assert_eq!(
        unmask_audits(&w).await,
        1,
        "nothing revealed, nothing recorded as revealed"
    );
    // Light agents and auditors work with masked values only.
    for who in [&w.light_a, &w.auditor, &w.customer_2] {
        let r = w.raw(Some(who), "POST", &unmask, Body::empty(), &[]).await;
        assert!(matches!(r.status.as_u16(), 403 | 404), "{}", r.status);
        assert!(!r.text().contains("c1@sharing.test"));
    }
    assert_eq!(unmask_audits(&w).await, 1);
}
