//! Search reaches requesters, tags and custom fields, on SQLite and PostgreSQL, never
//! beyond what the searcher may read: staff find tickets by the requester's name (or,
//! if they may see addresses, their whole address), a tag, or a field's value, and
//! customers by name or address; beside it the
//! attacks: a customer searching a tag or an internal field's value of their own
//! ticket, an agent searching another team's requester, and the roles that may not
//! list customers (auditors, customers) searching them.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(search_reaches_requesters_tags_and_fields_within_reach);

fn subjects(page: &Value) -> Vec<String> {
    let mut out: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn search_reaches_requesters_tags_and_fields_within_reach(backend: Backend) {
    let w = World::new(backend).await;
    let search = |who: &common::Actor, q: &str| {
        let path = format!("/api/v1/tickets/search?q={q}");
        let who = who.clone();
        let w = &w;
        async move {
            let r = w.get(&who, &path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            subjects(&r.json())
        }
    };
    // A customer renamed so their name has words of its own.
    let r = w
        .json(
            &w.supervisor,
            "PATCH",
            &format!("/api/v1/customers/{}", w.customer_1.id),
            json!({"name": "Marguerite Okonkwo"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // By the requester's name words, any case, or their whole address: ticket 1 is theirs.
    assert_eq!(search(&w.agent_a, "okonkwo").await, ["Refund for order 1234"]);
    assert_eq!(
        search(&w.agent_a, "MARGUERITE+refund").await,
        ["Refund for order 1234"]
    );
    assert_eq!(
        search(&w.agent_a, "C1%40sharing.test").await,
        ["Refund for order 1234"]
    );
    // Parts of an address are no search terms: someone who sees addresses masked must
    // not confirm them piece by piece. A light agent (masked values only) and the
    // customer's company colleague cannot confirm a whole address either.
    assert!(search(&w.agent_a, "c1").await.is_empty());
    assert!(search(&w.agent_a, "sharing").await.is_empty());
    assert!(search(&w.light_a, "c1%40sharing.test").await.is_empty());
    assert!(search(&w.customer_2, "c1%40sharing.test").await.is_empty());
    assert_eq!(search(&w.customer_2, "okonkwo").await, ["Refund for order 1234"]);
    // The old name is gone from the index.
    assert!(
        search(&w.agent_a, "customer")
            .await
            .iter()
            .all(|s| s != "Refund for order 1234")
    );

    // By a tag, and by a field's value (a word of it, any case, or the whole value).
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &format!("/api/v1/tickets/{}/tags", w.ticket_1),
            json!({"tags": ["chargeback", "vip-gold"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(search(&w.agent_a, "chargeback").await, ["Refund for order 1234"]);
    assert_eq!(search(&w.agent_a, "vip-gold").await, ["Refund for order 1234"]);
    for field in [
        json!({"key": "account_ref", "label": "Account", "kind": "text", "personal": true}),
        json!({"key": "risk", "label": "Risk", "kind": "text"}),
    ] {
        let r = w.json(&w.admin, "POST", "/api/v1/fields", field).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let version = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{}", w.ticket_1))
        .await
        .json()["version"]
        .clone();
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &format!("/api/v1/tickets/{}/fields", w.ticket_1),
            json!({"values": {"plan": "Gold", "account_ref": "ACC-99812", "risk": "Ärger"}, "version": version}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(search(&w.agent_a, "gold").await, ["Refund for order 1234"]);
    // In any case, also beyond ASCII, the same on both databases ("ÄRGER").
    assert_eq!(search(&w.agent_a, "%C3%84RGER").await, ["Refund for order 1234"]);
    // A personal field's value is matched whole, by its blind index.
    assert_eq!(search(&w.agent_a, "ACC-99812").await, ["Refund for order 1234"]);
    assert!(search(&w.agent_a, "ACC-99813").await.is_empty());

    // The customer finds their ticket by a field they may see, never by a tag or an
    // internal field's value.
    assert_eq!(search(&w.customer_1, "gold").await, ["Refund for order 1234"]);
    for hidden in ["chargeback", "vip-gold", "%C3%A4rger", "ACC-99812"] {
        assert!(search(&w.customer_1, hidden).await.is_empty(), "{hidden}");
    }
    // Team A's agent does not reach team B's ticket through its requester's address.
    assert!(search(&w.agent_a, "c3%40private.test").await.is_empty());
    assert_eq!(search(&w.agent_b, "c3%40private.test").await, ["Cannot log in"]);

    // Customers by name or address: for staff who answer them.
    let r = w.get(&w.agent_a, "/api/v1/customers/search?q=okonkwo").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let found = r.json();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["id"], w.customer_1.id.to_string());
    // Masked, as in the list.
    assert!(!found.to_string().contains("c1@sharing.test"), "{found}");
    let by_address = |who: &common::Actor| {
        let who = who.clone();
        let w = &w;
        async move {
            let r = w.get(&who, "/api/v1/customers/search?q=c3%40private.test").await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            r.json()["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(by_address(&w.agent_a).await, 1);
    // A light agent lists customers, masked: the address confirms nothing to them.
    assert_eq!(by_address(&w.light_a).await, 0);
    let words = w
        .get(&w.agent_a, "/api/v1/customers/search?q=private+test")
        .await
        .json();
    assert!(words["items"].as_array().unwrap().is_empty(), "{words}");
    // Words must all match; staff accounts are not customers.
    assert!(
        w.get(&w.agent_a, "/api/v1/customers/search?q=okonkwo+private")
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        w.get(&w.admin, "/api/v1/customers/search?q=desk").await.json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for who in [&w.auditor, &w.customer_2] {
        let r = w.get(who, "/api/v1/customers/search?q=okonkwo").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}: {}", who.role, r.text());
    }
    // The page finds them too.
    let page = w.get(&w.agent_a, "/customers?q=Okonkwo").await.text();
    assert!(
        page.contains("Marguerite Okonkwo") && !page.contains("c3@"),
        "{page}"
    );
}
