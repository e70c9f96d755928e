//! A received message's original (`.eml`) is for those who read the ticket's internal
//! side, on SQLite and PostgreSQL: byte for byte for them, with download headers that
//! keep a browser from rendering it; the ticket's own requester and other teams' agents
//! get the same 404 as for nothing, each refusal audited; a message that did not arrive
//! by mail has no original.

use crate::common;

use axum::http::StatusCode;
use common::{ORIGINAL, World};
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(originals_are_for_those_who_read_the_internal_side);

async fn originals_are_for_those_who_read_the_internal_side(backend: Backend) {
    let w = World::new(backend).await;
    let path = format!("/api/v1/messages/{}/original", w.mail_message);
    let r = w.get(&w.agent_a, &path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), ORIGINAL);
    assert_eq!(r.headers["content-type"], "message/rfc822");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(
        r.headers["content-security-policy"],
        "default-src 'none'; sandbox"
    );

    // The requester reads the ticket, not its internal side: as if there were nothing.
    let r = w.get(&w.customer_1, &path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    let refusal = entries.last().unwrap();
    assert_eq!(refusal.action, "access.denied");
    assert_eq!(refusal.actor, w.customer_1.id.to_string());
    assert_eq!(refusal.object, w.mail_message);
    let detail: serde_json::Value = serde_json::from_str(&refusal.detail).unwrap();
    assert_eq!(detail["action"], "ticket.read_internal");

    // Another team's agent cannot read the ticket at all.
    let r = w.get(&w.agent_b, &path).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    let refusal = entries.last().unwrap();
    assert_eq!(refusal.actor, w.agent_b.id.to_string());
    let detail: serde_json::Value = serde_json::from_str(&refusal.detail).unwrap();
    assert_eq!(detail["action"], "ticket.read");

    // A reply written in the desk never arrived by mail; a made-up id is nothing either.
    let messages = w
        .get(&w.admin, &format!("/api/v1/tickets/{}/messages", w.ticket_1))
        .await
        .json();
    let written = messages.as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(written, w.mail_message);
    for id in [written.as_str(), "msg_made_up"] {
        let r = w.get(&w.admin, &format!("/api/v1/messages/{id}/original")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}");
    }
}
