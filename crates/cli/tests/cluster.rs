//! Real `serve` processes on shared storage. Two on one PostgreSQL database, started at
//! the same moment: migrations apply once, and sessions, revocations, tickets and the
//! audit chain are shared because none of them live in a node's memory. And one killed
//! outright and started again: what it acknowledged is still there.
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

/// Sleeps until at least `needed` seconds are left in the current minute, so a test
/// of per-minute windows does not straddle two of them.
async fn wait_for_room_in_the_minute(needed: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let left = 60 - now % 60;
    if left < needed {
        tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    }
}

#[tokio::test]
async fn public_limits_hold_across_two_nodes_under_a_bounded_load() {
    let db = TestDatabase::new(Backend::Postgres).await.unwrap();
    let key = random_hex(32);
    let limit = 30;
    let mut nodes = Vec::new();
    for name in ["limits-a", "limits-b"] {
        let dir = TestDir::new(name);
        let config = dir.root.join("palisade.toml");
        std::fs::write(&config, format!("[limits]\nhelp_searches_per_minute = {limit}\n")).unwrap();
        let dir = dir
            .with_env("PALISADE_DATABASE_URL", &db.url)
            .with_env("PALISADE_CONFIG", &config.display().to_string());
        dir.install_master_key(&key);
        nodes.push(dir);
    }
    let (a, b) = tokio::join!(nodes[0].serve(), nodes[1].serve());
    let servers = [std::sync::Arc::new(a), std::sync::Arc::new(b)];
    wait_for_room_in_the_minute(25).await;
    // 80 searches from one address, spread over both nodes, 8 at a time (bounded).
    let mut answers = Vec::new();
    for round in 0..10 {
        let mut batch = tokio::task::JoinSet::new();
        for i in 0..8 {
            let node = servers[(round + i) % 2].clone();
            batch.spawn(async move {
                node.get(&rustls::version::TLS13, "/api/v1/help/articles?q=refund")
                    .await
                    .unwrap()
                    .status
            });
        }
        answers.extend(batch.join_all().await);
    }
    let served = answers.iter().filter(|s| **s == 200).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(
        served, limit,
        "exactly the limit is served across both nodes: {answers:?}"
    );
    assert_eq!(refused, 80 - limit, "{answers:?}");
}

/// An acknowledged write survives the process being killed outright (SIGKILL: no
/// shutdown, no flush): a customer merge (tickets re-sealed), a ticket, a language
/// choice and a service-level policy with its calendar are all there when `serve`
/// starts again on the same storage.
async fn acknowledged_writes_survive_sigkill(dir: TestDir) {
    let setup = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let token = server.admin_token(&setup, "ada@example.com").await;
    let call = |method: &'static str, path: String, body: Option<serde_json::Value>| {
        let (server, token) = (&server, &token);
        async move {
            let r = server
                .api(method, &path, Some(token), body.as_ref())
                .await
                .unwrap();
            assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text());
            r.json()
        }
    };
    let kept = call(
        "POST",
        "/api/v1/customers".into(),
        Some(json!({"name": "Kim Kept", "email": "kim@example.org"})),
    )
    .await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let duplicate = call(
        "POST",
        "/api/v1/customers".into(),
        Some(json!({"name": "Kim Again", "email": "kim.home@example.org"})),
    )
    .await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ticket = call(
        "POST",
        "/api/v1/tickets".into(),
        Some(
            json!({"subject": "Survives the crash", "body": "Written before the kill",
                    "requester_id": duplicate}),
        ),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        "POST",
        format!("/api/v1/customers/{duplicate}/merge"),
        Some(json!({"into": kept})),
    )
    .await;
    call(
        "PUT",
        "/api/v1/me/language".into(),
        Some(json!({"language": "de"})),
    )
    .await;
    let calendar = call(
        "POST",
        "/api/v1/calendars".into(),
        Some(json!({"name": "Office", "time_zone": "Europe/Berlin",
                    "periods": [{"day": "mon", "from": "09:00", "to": "17:00"}]})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    call(
        "POST",
        "/api/v1/sla-policies".into(),
        Some(
            json!({"name": "Survivor", "first_response_minutes": 60, "calendar_id": calendar,
                    "escalations": [{"minutes_before": 10, "notify_assignee": true}]}),
        ),
    )
    .await;
    // Dropping the server kills it with SIGKILL (std's Child::kill on Unix).
    drop(server);

    let server = dir.serve().await;
    let r = server
        .api("GET", &format!("/api/v1/tickets/{ticket}"), Some(&token), None)
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["requester_id"], kept.as_str());
    assert_eq!(r.json()["subject"], "Survives the crash");
    let page = server.api("GET", "/tickets", Some(&token), None).await.unwrap();
    assert!(page.text().contains("<html lang=\"de\">"), "{}", page.text());
    let policies = server
        .api("GET", "/api/v1/sla-policies", Some(&token), None)
        .await
        .unwrap()
        .json();
    assert_eq!(policies[0]["name"], "Survivor", "{policies}");
    assert_eq!(policies[0]["calendar_id"], calendar.as_str());
    assert_eq!(policies[0]["escalations"][0]["minutes_before"], 10);
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill_on_sqlite() {
    acknowledged_writes_survive_sigkill(TestDir::new("sigkill-sqlite")).await;
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill_on_postgres() {
    let db = TestDatabase::new(Backend::Postgres).await.unwrap();
    acknowledged_writes_survive_sigkill(
        TestDir::new("sigkill-pg").with_env("PALISADE_DATABASE_URL", &db.url),
    )
    .await;
}
