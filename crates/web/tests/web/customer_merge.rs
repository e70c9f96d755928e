//! Merging a duplicate customer on SQLite and PostgreSQL: a supervisor merges the
//! account a customer made with a second address into their first; the tickets move
//! (still readable: every sealed value was sealed again under the survivor's key),
//! the duplicate is closed, and mail from its address is taken as the survivor's.
//! Beside it the attacks: agents, light agents, auditors and customers merging, a
//! merge into a staff account or into itself, and merging a merged account again.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_core::EmailAddress;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(a_duplicate_customer_merges_into_the_one_who_stays);

async fn a_duplicate_customer_merges_into_the_one_who_stays(backend: Backend) {
    let w = World::new(backend).await;
    // The same person, created again with their private address.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/customers",
            json!({"name": "Dup Licate", "email": "dup@home.test"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let dup = r.json()["user"]["id"].as_str().unwrap().to_owned();
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Second address question", "body": "Asked from home", "requester_id": dup}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ticket = r.json()["id"].as_str().unwrap().to_owned();
    let personal = json!({"key": "account_ref", "label": "Account", "kind": "text", "personal": true});
    assert_eq!(
        w.json(&w.admin, "POST", "/api/v1/fields", personal).await.status,
        StatusCode::CREATED
    );
    let version = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{ticket}"))
        .await
        .json()["version"]
        .clone();
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &format!("/api/v1/tickets/{ticket}/fields"),
            json!({"values": {"account_ref": "ACC-4711"}, "version": version}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A file on the duplicate's ticket: its name and bytes are sealed under their key.
    let r = w
        .raw(
            Some(&w.agent_a),
            "POST",
            &format!("/api/v1/tickets/{ticket}/attachments?filename=receipt.txt"),
            axum::body::Body::from("receipt 7731"),
            &[("content-type", "application/octet-stream")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let file = r.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/customers/{dup}/merge");
    let into_c1 = json!({"into": w.customer_1.id.to_string()});

    // Refused, and nothing moves: roles that may not merge, a staff account, itself.
    for who in [&w.agent_a, &w.light_a, &w.auditor, &w.customer_1] {
        let r = w.json(who, "POST", &path, into_c1.clone()).await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{:?}: {} {}",
            who.role,
            r.status,
            r.text()
        );
    }
    let r = w
        .json(&w.admin, "POST", &path, json!({"into": w.agent_a.id.to_string()}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/customers/{}/merge", w.agent_b.id),
            into_c1.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = w.json(&w.supervisor, "POST", &path, json!({"into": dup})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let still = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{ticket}"))
        .await
        .json();
    assert_eq!(still["requester_id"], dup);

    // The supervisor merges.
    let r = w.json(&w.supervisor, "POST", &path, into_c1.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let merged = r.json();
    assert_eq!(merged["tickets"], 1);
    assert_eq!(merged["survivor"]["id"], w.customer_1.id.to_string());
    // The ticket is the survivor's, in their company, and everything sealed still opens.
    let moved = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{ticket}"))
        .await
        .json();
    assert_eq!(moved["requester_id"], w.customer_1.id.to_string());
    assert_eq!(moved["subject"], "Second address question");
    assert_eq!(moved["company_id"], w.sharing_company.to_string());
    let messages = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{ticket}/messages"))
        .await
        .text();
    assert!(messages.contains("Asked from home"), "{messages}");
    let fields = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{ticket}/fields"))
        .await
        .text();
    assert!(fields.contains("ACC-4711"), "{fields}");
    let download = w.get(&w.agent_a, &format!("/api/v1/attachments/{file}")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.body, b"receipt 7731");
    // The survivor reads it in their portal.
    let theirs = w.get(&w.customer_1, "/api/v1/tickets").await.text();
    assert!(theirs.contains("Second address question"), "{theirs}");
    // The duplicate is closed; mail from its address is the survivor's, signing in is not.
    let closed = w
        .get(&w.supervisor, &format!("/api/v1/customers/{dup}"))
        .await
        .json();
    assert_eq!(closed["disabled"], true);
    let address = EmailAddress::parse("dup@home.test").unwrap();
    let sender = w.store.find_mail_sender(&address).await.unwrap().unwrap();
    assert_eq!(sender.id, w.customer_1.id);
    assert_eq!(
        w.store
            .find_user_by_email(&address)
            .await
            .unwrap()
            .unwrap()
            .id
            .to_string(),
        dup
    );
    // Search finds the survivor only.
    let found = w
        .get(&w.agent_a, "/api/v1/customers/search?q=licate")
        .await
        .json();
    assert!(found["items"].as_array().unwrap().is_empty(), "{found}");
    // Merging it again, or anything into it, is refused.
    let r = w
        .json(
            &w.supervisor,
            "POST",
            &path,
            json!({"into": w.customer_2.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = w
        .json(
            &w.supervisor,
            "POST",
            &format!("/api/v1/customers/{}/merge", w.customer_2.id),
            json!({"into": dup}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let trail = w.get(&w.auditor, "/api/v1/audit?limit=500").await.text();
    assert!(trail.contains("directory.customers_merged"), "{trail}");
    // The survivor is merged on in turn: mail from the first duplicate's address
    // follows to the account that is open now, never to a closed one.
    let r = w
        .json(
            &w.supervisor,
            "POST",
            &format!("/api/v1/customers/{}/merge", w.customer_1.id),
            json!({"into": w.customer_2.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let sender = w.store.find_mail_sender(&address).await.unwrap().unwrap();
    assert_eq!(sender.id, w.customer_2.id);
    assert!(!sender.disabled);

    // The page: find the one to keep, and merge.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/customers",
            json!({"name": "Twice Made", "email": "twice@home.test"}),
        )
        .await;
    let twice = r.json()["user"]["id"].as_str().unwrap().to_owned();
    let page = w
        .get(
            &w.supervisor,
            &format!("/customers/{twice}?merge_q=c2%40sharing.test"),
        )
        .await
        .text();
    assert!(page.contains(&format!("value=\"{}\"", w.customer_2.id)), "{page}");
    let agents_view = w.get(&w.agent_a, &format!("/customers/{twice}")).await;
    assert_eq!(agents_view.status, StatusCode::OK);
    assert!(agents_view.text().contains("Twice Made") && !agents_view.text().contains("Merge a duplicate"));
    let r = w
        .form(
            &w.supervisor,
            &format!("/customers/{twice}/merge"),
            &format!("into={}", w.customer_2.id),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("/customers/{}?done=merged", w.customer_2.id)
    );
}
