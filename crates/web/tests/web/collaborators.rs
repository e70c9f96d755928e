//! Removing a collaborator revokes their reply address, on SQLite and PostgreSQL: mail
//! they (or whoever holds their old address) send afterwards threads nowhere.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_core::TicketId;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(removing_a_collaborator_revokes_their_reply_address);

async fn removing_a_collaborator_revokes_their_reply_address(backend: Backend) {
    let w = World::new(backend).await;
    let ticket = TicketId::parse(&w.ticket_1).unwrap();
    let path = format!("/api/v1/tickets/{}/collaborators", w.ticket_1);
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &path,
            json!({ "user_id": w.customer_2.id.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut tx = w.store.begin().await.unwrap();
    let capability = w
        .store
        .reply_capability_for(&mut tx, &ticket, &w.customer_2.id, 1)
        .await
        .unwrap();
    let requester = w
        .store
        .reply_capability_for(&mut tx, &ticket, &w.customer_1.id, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(w.store.reply_capability(&capability.id).await.unwrap().is_some());

    let r = w
        .raw(
            Some(&w.agent_a),
            "DELETE",
            &format!("{path}/{}", w.customer_2.id),
            axum::body::Body::empty(),
            &[],
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    assert_eq!(w.store.reply_capability(&capability.id).await.unwrap(), None);
    // The requester's address is untouched.
    assert!(w.store.reply_capability(&requester.id).await.unwrap().is_some());
}
