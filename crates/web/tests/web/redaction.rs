//! Redaction on arrival, on SQLite and PostgreSQL: what customers must never send
//! (card numbers and codes, passwords, IBANs, secrets) is removed from tickets and
//! messages written through the API and the portal before anything is stored, indexed
//! or audited; the writer is told what was removed and why; clean text is untouched.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(sensitive_data_never_reaches_the_store);

const CARD: &str = "4111 1111 1111 1111";

async fn sensitive_data_never_reaches_the_store(backend: Backend) {
    let w = World::new(backend).await;
    // A customer opens a ticket pasting a card with its code and her password.
    let r = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/tickets",
            json!({
                "subject": "Refund to card 4111111111111111 please",
                "body": format!("Please refund to {CARD} exp 09/28 321. My password is Tr0ub4dor&3 if you need it."),
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let kinds: Vec<&str> = created["redacted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["password", "card_number", "card_security_code"]);
    assert_eq!(created["redacted"][1]["count"], 2, "subject and body");
    assert_eq!(
        created["subject"],
        "Refund to card [a card number ending 1111 removed] please"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let messages = w
        .get(&w.customer_1, &format!("/api/v1/tickets/{id}/messages"))
        .await
        .json();
    let body = messages[0]["body"].as_str().unwrap();
    assert_eq!(
        body,
        "Please refund to [a card number ending 1111 removed] exp 09/28 [a card security code removed]. \
         My password is [a password removed] if you need it."
    );
    // Nothing of it is searchable, nor in the audit trail (which records kinds only).
    for secret in ["4111111111111111", "Tr0ub4dor"] {
        let hits = w
            .get(&w.agent_a, &format!("/api/v1/tickets/search?q={secret}"))
            .await
            .json();
        assert_eq!(hits["items"].as_array().map(Vec::len), Some(0), "{secret}");
    }
    let refund = w.get(&w.agent_a, "/api/v1/tickets/search?q=refund").await.json();
    assert!(
        refund["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str())
    );
    let entries = w.store.audit_entries(0, 100_000).await.unwrap();
    assert!(
        entries
            .iter()
            .all(|e| !e.detail.contains("4111") && !e.detail.contains("Tr0ub4dor"))
    );
    let created_entry = entries
        .iter()
        .find(|e| e.action == "ticket.created" && e.object == id)
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&created_entry.detail).unwrap();
    assert_eq!(detail["redacted"]["card_number"], 2);

    // An agent's reply through the API: the same rules (agents paste things too).
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/tickets/{}/messages", w.ticket_1),
            json!({"body": "Refund sent to GB82 WEST 1234 5698 7654 32.", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["redacted"][0]["kind"], "iban");
    // Clean text: nothing removed, nothing reported.
    let r = w
        .json(
            &w.customer_1,
            "POST",
            &format!("/api/v1/tickets/{}/messages", w.ticket_1),
            json!({"body": "Thanks! Order 1234567890123 arrived on 2026-11-20.", "visibility": "public"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.json()["redacted"].is_null());

    // The portal: the page after posting says what was removed and why.
    let r = w
        .form(
            &w.customer_1,
            &format!("/tickets/{}/messages", w.ticket_1),
            "visibility=public&body=the+code+is+493817+and+my+pin%3A+1234",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let location = r.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("/tickets/{}?redacted=password,one_time_code", w.ticket_1)
    );
    let page = w.get(&w.customer_1, &location).await.text();
    assert!(
        page.contains("We removed a password, a one-time code from what you wrote"),
        "{page}"
    );
    assert!(!page.contains("493817"));
    // The notice names only known kinds; anything else in the query is ignored.
    let odd = w
        .get(
            &w.customer_1,
            &format!("/tickets/{}?redacted=%3Cscript%3E", w.ticket_1),
        )
        .await
        .text();
    assert!(!odd.contains("We removed") && !odd.contains("<script>"));
}
