//! Failover that loses nothing. Two `serve` nodes share a PostgreSQL primary whose
//! standby is synchronous (a commit is acknowledged only once the standby has it), both
//! named in one libpq host list. Under API and SMTP load on both nodes the primary is
//! killed outright (SIGKILL to all of its processes) and the standby promoted: every
//! ticket answered 201 and every message answered 250 is on the promoted server, both
//! nodes take writes again within 10 s of the promotion without being restarted, and
//! the audit trail verifies. One node lists the standby first and still writes only to
//! the primary (a standby would refuse the writes and the load would not get going).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use palisade_testkit::pg_replica::ReplicatedPostgres;
use sqlx::Connection as _;

use super::common::{Server, TestDir, free_port, random_hex};
use super::durability::{api_client, smtp_client};

/// How long after `since` the node first answered a write with 201 (bounded at 30 s).
async fn serves_writes_again(server: &Server, token: &str, requester: &str, since: Instant) -> Duration {
    let body = serde_json::json!({"subject": "after the failover", "body": "are you back?", "requester_id": requester});
    while since.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = server
            .api("POST", "/api/v1/tickets", Some(token), Some(&body))
            .await
            && r.status == 201
        {
            return since.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the node did not take a write within 30 s of the promotion\n--- stderr\n{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_primary_and_promoting_the_standby_loses_nothing_acknowledged() {
    let mut pair = ReplicatedPostgres::start()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let dns = palisade_testkit::dns::DnsServer::start(&[("customer.test", "v=spf1 ip4:127.0.0.2 -all")])
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let key = random_hex(32);
    let smtp_ports = [free_port(), free_port()];
    let dirs: Vec<TestDir> = smtp_ports
        .iter()
        .enumerate()
        .map(|(n, port)| {
            let dir = TestDir::new(&format!("failover-{n}"))
                // Node 1 lists the standby first: it must still write to the primary.
                .with_env(
                    "PALISADE_DATABASE_URL",
                    &if n == 0 { pair.url() } else { pair.url_standby_first() },
                )
                .with_config(&format!(
                    "[smtp]\nlisten = \"127.0.0.1:{port}\"\nnameservers = [\"{}\"]\nmessages_per_minute_per_ip = 100000\n\
                     max_connections_per_ip = 16\n\n[[mailbox]]\naddress = \"support@desk.test\"\nteam = \"Support\"\n\n\
                     [scan]\nclamd = \"off\"\n",
                    dns.addr
                ));
            dir.install_master_key(&key);
            dir
        })
        .collect();
    let email = "ada@example.com";
    let setup = dirs[0].create_admin(email, "Ada");
    let nodes = [Arc::new(dirs[0].serve().await), Arc::new(dirs[1].serve().await)];
    let token = nodes[1].admin_token(&setup, email).await;
    let requester = nodes[0].create_customer(&token, "bo@customer.test").await;

    // The node that lists the standby first writes (to the primary) from the start.
    let first = serves_writes_again(&nodes[1], &token, &requester, Instant::now()).await;
    assert!(first < Duration::from_secs(1), "took {first:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let api: Vec<_> = nodes
        .iter()
        .flat_map(|node| [node.clone(), node.clone()])
        .map(|node| tokio::spawn(api_client(node, token.clone(), requester.clone(), stop.clone())))
        .collect();
    let smtp: Vec<_> = smtp_ports
        .iter()
        .flat_map(|port| [*port, *port])
        .enumerate()
        .map(|(client, port)| tokio::spawn(smtp_client(port, client, stop.clone())))
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    pair.kill_primary();
    // The operator (or their cluster manager) notices and promotes the standby.
    tokio::time::sleep(Duration::from_secs(1)).await;
    pair.promote_standby()
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", pair.logs()));
    let promoted = Instant::now();
    for node in &nodes {
        let back = serves_writes_again(node, &token, &requester, promoted).await;
        eprintln!("a node took writes again {back:?} after the promotion");
        assert!(
            back < Duration::from_secs(10),
            "a node took {back:?} after the promotion to take writes again"
        );
    }
    // Load goes on against the promoted server for a while, then stops.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    let mut tickets = Vec::new();
    for task in api {
        tickets.extend(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let mut messages = 0;
    for task in smtp {
        messages += task.await.unwrap_or_else(|e| panic!("{e}")).0;
    }
    eprintln!(
        "acknowledged across the failover: {} tickets, {messages} messages",
        tickets.len()
    );
    assert!(
        tickets.len() > 20 && messages > 5,
        "the load did not get going: {} tickets, {messages} messages",
        tickets.len()
    );

    let mut promoted_db = sqlx::PgConnection::connect(&pair.standby_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stored: HashSet<String> = sqlx::query_scalar("SELECT id FROM tickets")
        .fetch_all(&mut promoted_db)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect();
    let lost: Vec<_> = tickets.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "answered 201 and gone after the failover: {lost:?}"
    );
    let mail: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM received_messages")
        .fetch_one(&mut promoted_db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        mail >= i64::try_from(messages).unwrap_or(i64::MAX),
        "{messages} messages were answered 250, {mail} are on the promoted server"
    );

    // Neither node was restarted: both still run and report ready.
    for node in &nodes {
        let ready = node
            .get(&rustls::version::TLS13, "/health/ready")
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(ready.status, 200, "{}", ready.text());
        assert!(
            node.log().contains("database primary moved"),
            "the node says where it went\n{}",
            node.log()
        );
    }
    dirs[0]
        .run(&["audit", "verify"])
        .assert_success("audit verify on the promoted server");
}

/// Promoted without the old primary being stopped (it was not fenced): two servers claim
/// to be primary. A running node moves to the promoted one (the newer timeline) within
/// seconds, a node that starts picks it at once, and both say the others must be fenced.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unfenced_old_primary_loses_to_the_promoted_server() {
    let pair = ReplicatedPostgres::start()
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let key = random_hex(32);
    let dirs: Vec<TestDir> = (0..2)
        .map(|n| {
            let dir = TestDir::new(&format!("split-{n}"))
                .with_env("PALISADE_DATABASE_URL", &pair.url())
                .with_config("[scan]\nclamd = \"off\"\n");
            dir.install_master_key(&key);
            dir
        })
        .collect();
    let setup = dirs[0].create_admin("ada@example.com", "Ada");
    let running = dirs[0].serve().await;
    let token = running.admin_token(&setup, "ada@example.com").await;
    let requester = running.create_customer(&token, "split@customer.test").await;

    pair.promote_standby()
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", pair.logs()));
    let promoted = Instant::now();
    // The old primary now waits for a synchronous standby that left, so a write sent
    // there hangs: each try is bounded, and the node must move to the promoted server.
    let mut moved = None;
    while promoted.elapsed() < Duration::from_secs(30) {
        let body = serde_json::json!({"subject": "after the split", "body": "which server?", "requester_id": requester});
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            running.api("POST", "/api/v1/tickets", Some(&token), Some(&body)),
        )
        .await;
        if let Ok(Ok(r)) = attempt
            && r.status == 201
            && running.log().contains("database primary moved")
        {
            moved = Some(r.json()["id"].as_str().unwrap_or_default().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ticket = moved.unwrap_or_else(|| panic!("the running node did not move\n{}", running.log()));
    assert!(
        promoted.elapsed() < Duration::from_secs(15),
        "took {:?}",
        promoted.elapsed()
    );
    let mut promoted_db = sqlx::PgConnection::connect(&pair.standby_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE id = $1")
        .bind(&ticket)
        .fetch_one(&mut promoted_db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found, 1, "the write went to the promoted server");

    // A node that starts now picks the promoted server although the old one is listed first.
    let starting = dirs[1].serve().await;
    let body = serde_json::json!({"subject": "started during the split", "body": "which server?", "requester_id": requester});
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        starting.api("POST", "/api/v1/tickets", Some(&token), Some(&body)),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the new node wrote to the old primary and hung\n{}",
            starting.log()
        )
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.status, 201, "{}", r.text());
    for node in [&running, &starting] {
        assert!(
            node.log()
                .contains("several database servers claim to be primary"),
            "{}",
            node.log()
        );
    }
}
