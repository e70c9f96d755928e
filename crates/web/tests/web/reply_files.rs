//! Files chosen in the reply form, on SQLite and PostgreSQL: they are attached with the
//! message's visibility and sent with it, for agents and customers alike. Beside it the
//! attacks: an internal note's file never reaches the customer, too many files or a
//! hostile name send nothing.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{Actor, MULTIPART_TYPE, World, multipart_form};
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(files_chosen_in_the_reply_form_go_with_the_message);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

async fn reply(w: &World, who: &Actor, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> common::Response {
    w.raw(
        Some(who),
        "POST",
        &format!("/tickets/{}/messages", w.ticket_1),
        Body::from(multipart_form(fields, files)),
        &[("content-type", MULTIPART_TYPE)],
    )
    .await
}

async fn files_of(w: &World, who: &Actor) -> Vec<serde_json::Value> {
    w.get(who, &format!("/api/v1/tickets/{}/attachments", w.ticket_1))
        .await
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn files_chosen_in_the_reply_form_go_with_the_message(backend: Backend) {
    let w = World::new(backend).await;
    let before = files_of(&w, &w.supervisor).await.len();

    // The agent's reply with a statement, plus an untouched second file input.
    let r = reply(
        &w,
        &w.agent_a,
        &[("body", "Your statement is attached."), ("visibility", "public")],
        &[("statement.pdf", PDF), ("", b"")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let files = files_of(&w, &w.customer_1).await;
    let statement = files
        .iter()
        .find(|f| f["filename"] == "statement.pdf")
        .expect("the customer sees the reply's file");
    assert!(
        !statement["message_id"].is_null(),
        "sent with the message: {statement}"
    );

    // The customer answers with a file of their own.
    let r = reply(
        &w,
        &w.customer_1,
        &[("body", "Here is my receipt."), ("visibility", "public")],
        &[("receipt.pdf", PDF)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(
        files_of(&w, &w.agent_a)
            .await
            .iter()
            .any(|f| f["filename"] == "receipt.pdf")
    );

    // An internal note's file stays internal.
    let r = reply(
        &w,
        &w.agent_a,
        &[("body", "Fraud team's notes."), ("visibility", "internal")],
        &[("fraud-notes.pdf", PDF)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(
        files_of(&w, &w.agent_a)
            .await
            .iter()
            .any(|f| f["filename"] == "fraud-notes.pdf")
    );
    assert!(
        !files_of(&w, &w.customer_1)
            .await
            .iter()
            .any(|f| f["filename"] == "fraud-notes.pdf"),
        "an internal note's file reaches no customer"
    );

    // Six files, or a name with a path in it: nothing is sent or stored.
    let count = files_of(&w, &w.supervisor).await.len();
    let six: Vec<(&str, &[u8])> = vec![("a.pdf", PDF); 6];
    let r = reply(&w, &w.agent_a, &[("body", "Six"), ("visibility", "public")], &six).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = reply(
        &w,
        &w.agent_a,
        &[("body", "Sneaky"), ("visibility", "public")],
        &[("../../etc/passwd", PDF)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(files_of(&w, &w.supervisor).await.len(), count);
    assert_eq!(count, before + 3);
    // The form without files still works URL-encoded.
    let r = w
        .form(
            &w.agent_a,
            &format!("/tickets/{}/messages", w.ticket_1),
            "body=Plain&visibility=public",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}
