//! The customers pages, on SQLite and PostgreSQL: an agent lists customers (masked)
//! and creates one; a supervisor changes a customer's name and company, and a masked
//! phone number survives a change that does not retype it; an administrator disables a
//! customer. Beside it, the attacks: an agent placing a new customer in a sharing
//! company (to read its tickets), a supervisor disabling, a customer opening the pages.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(staff_manage_customers_from_the_pages);

async fn staff_manage_customers_from_the_pages(backend: Backend) {
    let w = World::new(backend).await;
    let list = w.get(&w.agent_a, "/customers").await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.text();
    assert!(
        list.contains(&format!("/customers/{}", w.customer_1.id)),
        "{list}"
    );
    assert!(!list.contains("c1@sharing.test"), "contact details are masked");

    let r = w
        .form(
            &w.agent_a,
            "/customers",
            "name=Dora+Diaz&email=dora%40newco.test&phone=%2B44+20+7946+0000",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(
        w.get(&w.agent_a, "/customers?done=created")
            .await
            .text()
            .contains("Dora Diaz")
    );

    // An agent cannot put a customer in a company: its customers may read each other's
    // tickets.
    let before = w.count("users").await;
    let r = w
        .form(
            &w.agent_a,
            "/customers",
            &format!(
                "name=Eve&email=eve%40attacker.test&company_id={}",
                w.sharing_company
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(w.count("users").await, before, "nothing was created");

    // The supervisor renames Dora and places her in the private company; her phone,
    // masked on the page, is not retyped and stays.
    let dora = w.get(&w.supervisor, "/api/v1/customers").await.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Dora Diaz")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = w.get(&w.supervisor, &format!("/customers/{dora}")).await.text();
    assert!(
        page.contains("leave empty to keep the current one") && !page.contains("7946 0000"),
        "{page}"
    );
    let r = w
        .form(
            &w.supervisor,
            &format!("/customers/{dora}"),
            &format!("name=Dora+D%C3%ADaz&phone=&company_id={}", w.private_company),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let unmasked = w
        .json(
            &w.supervisor,
            "POST",
            &format!("/api/v1/customers/{dora}/unmask"),
            json!({}),
        )
        .await
        .json();
    assert_eq!(unmasked["name"], "Dora Díaz");
    assert_eq!(unmasked["phone"], "+44 20 7946 0000");
    assert_eq!(unmasked["company_id"], w.private_company.to_string());

    // Disabling: administrators only.
    let r = w
        .form(
            &w.supervisor,
            &format!("/customers/{}/disable", w.customer_4.id),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(w.get(&w.customer_4, "/api/v1/me").await.status, StatusCode::OK);
    let r = w
        .form(&w.admin, &format!("/customers/{}/disable", w.customer_4.id), "")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        w.get(&w.customer_4, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A staff account is not disabled through the customers page.
    let r = w
        .form(&w.admin, &format!("/customers/{}/disable", w.agent_b.id), "")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(w.get(&w.agent_b, "/api/v1/me").await.status, StatusCode::OK);

    for path in ["/customers".to_owned(), format!("/customers/{}", w.customer_1.id)] {
        assert_eq!(
            w.get(&w.customer_1, &path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
