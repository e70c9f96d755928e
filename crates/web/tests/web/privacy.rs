//! Erasure and legal holds through the API and the pages, on SQLite and PostgreSQL,
//! with four eyes on: one administrator asks, a second approves, and only then is the
//! customer erased (their words gone from their ticket, staff notes kept, their
//! sessions ended, "erased person" in the thread, the erasure in the signed ledger and
//! the audit trail intact). The attacks: approving one's own request, erasing while a
//! legal hold applies, erasing twice, deciding a request twice, and roles without
//! privacy rights asking.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_core::{EmailAddress, Role, UnixMillis};
use palisade_store::NewUser;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(an_erasure_waits_for_a_second_administrator_and_for_legal_holds);

async fn second_admin(w: &World) -> common::Actor {
    let mut tx = w.store.begin().await.unwrap();
    let id = w
        .store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Admin,
                email: EmailAddress::parse("second-admin@desk.test").unwrap(),
                name: "Second Admin".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    common::session_signed_in_at(&w.store, id, Role::Admin, UnixMillis::now()).await
}

async fn an_erasure_waits_for_a_second_administrator_and_for_legal_holds(backend: Backend) {
    let w = World::new(backend)
        .await
        .with_config(|c| c.privacy.four_eyes = true);
    let other_admin = second_admin(&w).await;
    let person = w.customer_1.id.to_string();
    let ticket = w.ticket_1.clone();
    let before = w
        .get(&w.admin, &format!("/api/v1/tickets/{ticket}/messages"))
        .await
        .json();
    let note = before
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["visibility"] == "internal")
        .unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned();

    // Attack: roles without privacy rights ask, or look.
    for who in [&w.supervisor, &w.agent_a, &w.auditor, &w.customer_1] {
        let r = w
            .json(
                who,
                "POST",
                "/api/v1/privacy/erasures",
                json!({"person": person, "reason": "Art. 17"}),
            )
            .await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.text()
        );
    }

    // Attack: an administrator's session signed in long ago (a stolen cookie, a
    // walked-away desk) erases nobody without a fresh sign-in.
    let stale = common::session_signed_in_at(
        &w.store,
        w.admin.id.clone(),
        Role::Admin,
        UnixMillis(UnixMillis::now().0 - 3_600_000),
    )
    .await;
    let r = w
        .json(
            &stale,
            "POST",
            "/api/v1/privacy/erasures",
            json!({"person": person, "reason": "Art. 17"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    // A legal hold on her ticket.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/privacy/holds",
            json!({"target": ticket, "reason": "Chargeback dispute 2026-118"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let hold = r.json()["id"].as_str().unwrap().to_owned();

    // Asked for: with four eyes, it waits.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/privacy/erasures",
            json!({"person": person, "reason": "Art. 17 request of 2026-12-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let asked = r.json();
    assert_eq!(asked["request"]["state"], "awaiting_approval");
    assert!(asked["erased"].is_null());
    let request = asked["request"]["id"].as_str().unwrap().to_owned();
    let approve = format!("/api/v1/privacy/requests/{request}/approve");

    // Attack: the one who asked approves.
    let r = w.json(&w.admin, "POST", &approve, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // Attack: approved while the hold applies.
    let r = w.json(&other_admin, "POST", &approve, json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("legal hold"), "{}", r.text());
    let still = w.get(&w.admin, &format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(still.status, StatusCode::OK);
    assert!(
        !still.json()["subject"].as_str().unwrap().is_empty(),
        "nothing erased yet"
    );

    // Released (once), then approved by the second administrator: erased.
    let release = format!("/api/v1/privacy/holds/{hold}/release");
    assert_eq!(
        w.json(&w.admin, "POST", &release, json!({})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        w.json(&w.admin, "POST", &release, json!({})).await.status,
        StatusCode::CONFLICT
    );
    let r = w.json(&other_admin, "POST", &approve, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let done = r.json();
    assert_eq!(done["request"]["state"], "done");
    assert_eq!(done["erased"]["accounts"], 1);
    assert!(done["erased"]["tickets_rekeyed"].as_u64().unwrap() >= 1);
    // Attack: decided twice, and erased twice.
    assert_eq!(
        w.json(&other_admin, "POST", &approve, json!({})).await.status,
        StatusCode::CONFLICT
    );
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/privacy/erasures",
            json!({"person": person, "reason": "again"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // Her sessions ended; her ticket keeps the staff note, her words are gone.
    assert_eq!(
        w.get(&w.customer_1, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let t = w.get(&w.admin, &format!("/api/v1/tickets/{ticket}")).await.json();
    assert_eq!(t["subject"], "");
    let after = w
        .get(&w.admin, &format!("/api/v1/tickets/{ticket}/messages"))
        .await
        .json();
    let items = after.as_array().unwrap();
    assert!(
        items.iter().any(|m| m["body"] == note.as_str()),
        "the note stays: {after}"
    );
    assert!(
        items
            .iter()
            .filter(|m| m["author_id"] == person.as_str())
            .all(|m| m["body"] == ""),
        "{after}"
    );
    let page = w.get(&w.admin, &format!("/tickets/{ticket}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("erased person"), "{}", page.text());

    // The privacy page lists the request as done; the ledger holds the erasure; the
    // audit trail verifies.
    let page = w.get(&w.admin, "/admin/privacy").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text().contains(&request) && page.text().contains("erased"),
        "{}",
        page.text()
    );
    let ledger = palisade_backup::erasure_ledger::ErasureLedger::at(w.key_dir.path.join("erasures.ledger"));
    let entries = ledger
        .read(&w.keyring.erasure_ledger_key().verifying_key())
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].user, w.customer_1.id);
    w.store
        .verify_audit_trail(w.store.audit_trusted_keys())
        .await
        .unwrap();
    let audit = w.get(&w.admin, "/api/v1/audit?limit=1000").await.json();
    let actions: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "privacy.legal_hold_placed:success",
        "privacy.erasure_requested:success",
        "privacy.person_erased:denied",
        "privacy.legal_hold_released:success",
        "privacy.erasure_approved:success",
        "privacy.person_erased:success",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
    }

    // Through the page: asked for another customer, then declined by whoever asked.
    let r = w
        .raw(
            Some(&w.admin),
            "POST",
            "/admin/privacy/erasures",
            axum::body::Body::from(format!("person={}&reason=Art.+17", w.customer_3.id)),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let list = w.get(&w.admin, "/api/v1/privacy/requests").await.json();
    let pending = list["items"][0].clone();
    assert_eq!(
        pending["state"], "awaiting_approval",
        "open requests come first: {list}"
    );
    assert_eq!(pending["person"], w.customer_3.id.to_string());
    assert!(!pending["overdue"].as_bool().unwrap());
    let decline = format!(
        "/admin/privacy/requests/{}/decline",
        pending["id"].as_str().unwrap()
    );
    let r = w
        .raw(Some(&w.admin), "POST", &decline, axum::body::Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let customer_3 = w
        .get(&w.admin, &format!("/api/v1/customers/{}", w.customer_3.id))
        .await;
    assert_eq!(customer_3.status, StatusCode::OK, "declined: nothing erased");
}
