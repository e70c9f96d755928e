//! Two real `serve` processes on one PostgreSQL database, started at the same moment:
//! migrations apply once, and sessions, revocations, tickets and the audit chain are
//! shared because none of them live in a node's memory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use common::{PASSWORD, TestDir, random_hex};
use palisade_testkit::{Backend, TestDatabase};
use serde_json::json;

#[tokio::test]
async fn two_nodes_on_one_postgres_share_migrations_sessions_revocation_and_tickets() {
    let db = TestDatabase::new(Backend::Postgres).await.unwrap();
    let key = random_hex(32);
    let node_a = TestDir::new("node-a").with_env("PALISADE_DATABASE_URL", &db.url);
    let node_b = TestDir::new("node-b").with_env("PALISADE_DATABASE_URL", &db.url);
    node_a.install_master_key(&key);
    node_b.install_master_key(&key);

    // Both start on an empty database at once: each races to migrate.
    let (a, b) = tokio::join!(node_a.serve(), node_b.serve());

    let setup = node_a.create_admin("ada@example.com", "Ada");
    let form = format!("password={PASSWORD}");
    let r = b
        .post(
            &format!("/setup/{setup}"),
            "application/x-www-form-urlencoded",
            &form,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "setup through node B: {}", r.text());

    let token = a.sign_in_and_enrol("ada@example.com", PASSWORD).await;
    assert_eq!(
        b.api("GET", "/api/v1/me", Some(&token), None)
            .await
            .unwrap()
            .status,
        200,
        "session from node A works on node B"
    );

    let customer = a
        .api(
            "POST",
            "/api/v1/customers",
            Some(&token),
            Some(&json!({"email": "carla@example.org", "name": "Carla"})),
        )
        .await
        .unwrap();
    assert_eq!(customer.status, 201, "{}", customer.text());
    let customer_id = customer.json()["user"]["id"].as_str().unwrap().to_owned();
    let ticket = b
        .api(
            "POST",
            "/api/v1/tickets",
            Some(&token),
            Some(&json!({"subject": "Two nodes", "body": "hello", "requester_id": customer_id})),
        )
        .await
        .unwrap();
    assert_eq!(ticket.status, 201, "{}", ticket.text());
    let ticket_id = ticket.json()["id"].as_str().unwrap().to_owned();
    let read = a
        .api("GET", &format!("/api/v1/tickets/{ticket_id}"), Some(&token), None)
        .await
        .unwrap();
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["subject"], "Two nodes");

    // Signing out on B ends the session on A at once.
    assert_eq!(
        b.api("DELETE", "/api/v1/sessions/current", Some(&token), None)
            .await
            .unwrap()
            .status,
        204
    );
    assert_eq!(
        a.api("GET", "/api/v1/me", Some(&token), None)
            .await
            .unwrap()
            .status,
        401
    );

    // One audit chain, written by both nodes, verifies.
    let out = node_b.run(&["audit", "verify"]);
    out.assert_success("audit verify");
    assert!(out.stdout.contains("audit trail intact"), "{}", out.stdout);
    drop((a, b));
}
