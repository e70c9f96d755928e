//! Audit entries reach a real rsyslog over TLS and a JSON lines file; while the
//! collector is down they wait in the trail (the file keeps receiving) and arrive, in
//! order and once, when it is back; a collector whose certificate does not chain to
//! the configured CA receives nothing; only the configured actions are sent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_crypto::{Keyring, MasterKey};
use palisade_siem::{Destination, Exporter, JsonLines, SyslogTls};
use palisade_store::Store;
use palisade_testkit::rsyslog::Rsyslog;
use palisade_testkit::{Backend, TempDir, TestDatabase};

palisade_testkit::on_both_backends!(entries_reach_syslog_and_a_file_and_wait_while_the_collector_is_down);

async fn store(backend: Backend) -> (TestDatabase, Store) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    (db, store)
}

async fn audit(store: &Store, action: AuditAction, n: usize) {
    for i in 0..n {
        store
            .audit(
                &AuditContext::system(),
                &AuditEvent::new(action, format!("object-{i}"), Outcome::Failure),
            )
            .await
            .unwrap();
    }
}

fn syslog(collector: &Rsyslog, ca: Option<&Path>) -> Destination {
    Destination::Syslog(
        SyslogTls::new(
            &format!("127.0.0.1:{}", collector.port),
            "localhost",
            palisade_outbound::client_tls(ca).unwrap(),
            "desk.test",
        )
        .unwrap(),
    )
}

/// The `seq` of each message the collector took, in arrival order.
fn syslog_seqs(collector: &Rsyslog) -> Vec<i64> {
    collector
        .received()
        .iter()
        .map(|line| {
            let seq = line.split("seq=\"").nth(1).expect("a seq parameter");
            seq[..seq.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

fn file_seqs(path: &Path) -> Vec<i64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

/// rsyslog writes what it took asynchronously: wait (bounded) for `n` messages.
async fn until_received(collector: &Rsyslog, n: usize) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seqs = syslog_seqs(collector);
        if seqs.len() >= n || Instant::now() > deadline {
            return seqs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn entries_reach_syslog_and_a_file_and_wait_while_the_collector_is_down(backend: Backend) {
    let (_db, store) = store(backend).await;
    let mut collector = Rsyslog::start().await.unwrap();
    let dir = TempDir::new("palisade-siem").unwrap();
    let file = dir.path.join("audit.jsonl");
    audit(&store, AuditAction::SignIn, 5).await;
    let first: Vec<i64> = store
        .audit_entries(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(first.len(), 5);

    let mut exporter = Exporter::new(
        store.clone(),
        "node-a",
        Vec::new(),
        vec![
            syslog(&collector, Some(&collector.ca_file)),
            Destination::JsonLines(JsonLines::new(file.clone())),
        ],
    );
    assert_eq!(exporter.run_once().await, 5);
    assert_eq!(until_received(&collector, 5).await, first);
    assert_eq!(file_seqs(&file), first);
    let line = &collector.received()[0];
    assert!(
        line.starts_with("<108>1 "),
        "RFC 5424, log audit, warning: {line}"
    );
    assert!(
        line.contains(" desk.test palisade ") && line.contains(" auth.sign_in [audit@32473 "),
        "{line}"
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // The collector goes down: three more entries wait for it; the file keeps up.
    collector.stop().await.unwrap();
    audit(&store, AuditAction::AccessDenied, 3).await;
    exporter.run_once().await;
    let all: Vec<i64> = store
        .audit_entries(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(file_seqs(&file), all);
    assert_eq!(
        store.subscription_position("siem-syslog").await.unwrap(),
        Some(first[4]),
        "the cursor waits at what was delivered"
    );
    collector.resume().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while syslog_seqs(&collector).len() < all.len() && Instant::now() < deadline {
        // The first retry comes a second after the failure.
        exporter.run_once().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        until_received(&collector, all.len()).await,
        all,
        "in order, and once"
    );
    assert_eq!(file_seqs(&file), all, "the file got each once too");
}

#[tokio::test]
async fn a_collector_that_does_not_chain_to_the_configured_ca_receives_nothing() {
    let (_db, store) = store(Backend::Sqlite).await;
    let collector = Rsyslog::start().await.unwrap();
    audit(&store, AuditAction::SignIn, 2).await;
    // The system's roots only: the collector's private CA is not among them, as an
    // impostor's would not be.
    let mut exporter = Exporter::new(
        store.clone(),
        "node-a",
        Vec::new(),
        vec![syslog(&collector, None)],
    );
    assert_eq!(exporter.run_once().await, 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(collector.received().is_empty(), "{:?}", collector.received());
    assert_eq!(
        store.subscription_position("siem-syslog").await.unwrap(),
        Some(0),
        "nothing counted as delivered"
    );
}

#[tokio::test]
async fn only_the_configured_actions_are_sent_and_the_rest_is_passed_over() {
    let (_db, store) = store(Backend::Sqlite).await;
    let dir = TempDir::new("palisade-siem-filter").unwrap();
    let file = dir.path.join("security.jsonl");
    audit(&store, AuditAction::SignIn, 2).await;
    audit(&store, AuditAction::SecurityAlert, 1).await;
    audit(&store, AuditAction::TicketCreated, 2).await;
    let mut exporter = Exporter::new(
        store.clone(),
        "node-a",
        vec!["security.".into(), "auth.".into()],
        vec![Destination::JsonLines(JsonLines::new(file.clone()))],
    );
    exporter.run_once().await;
    let sent: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(sent, ["auth.sign_in", "auth.sign_in", "security.alert_raised"]);
    assert_eq!(
        store.subscription_position("siem-jsonl").await.unwrap(),
        Some(5),
        "past the entries not sent too"
    );
}

#[tokio::test]
async fn a_batch_after_a_cut_short_one_starts_on_a_line_of_its_own() {
    let (_db, store) = store(Backend::Sqlite).await;
    let dir = TempDir::new("palisade-siem-partial").unwrap();
    let file = dir.path.join("audit.jsonl");
    // What a write cut short by a full disk leaves behind.
    std::fs::write(&file, b"{\"seq\":1,\"at\":\"2026-").unwrap();
    audit(&store, AuditAction::SignIn, 2).await;
    let mut exporter = Exporter::new(
        store.clone(),
        "node-a",
        Vec::new(),
        vec![Destination::JsonLines(JsonLines::new(file.clone()))],
    );
    exporter.run_once().await;
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for line in &lines[1..] {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}
