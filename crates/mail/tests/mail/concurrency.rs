//! Many messages placed at once, on SQLite and PostgreSQL: every one is stored, none
//! waits out the connection pool. (With one shared PostgreSQL pool, 64 concurrent
//! senders once left every delivery holding a transaction's connection while waiting
//! for a second one for its reads: all of them timed out with 451 after 30 s.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use palisade_core::EmailAddress;
use palisade_crypto::{Keyring, MasterKey};
use palisade_mail::{Accepted, AuthMethod, Inbound, Placement, Recipient, Verdict, read_message};
use palisade_policy::PolicyEngine;
use palisade_store::Store;
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(concurrent_deliveries_all_complete);

/// More than either backend's pool has connections.
const CONCURRENT: usize = 48;

async fn concurrent_deliveries_all_complete(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let team = store.create_team(&mut tx, "Support").await.unwrap();
    tx.commit().await.unwrap();
    let support = EmailAddress::parse("support@desk.test").unwrap();
    let inbound = Arc::new(Inbound::new(
        store.clone(),
        Arc::new(PolicyEngine::load().unwrap()),
        HashMap::from([(support.clone(), team)]),
    ));
    let mut tasks = Vec::new();
    for n in 0..CONCURRENT {
        let (inbound, support) = (inbound.clone(), support.clone());
        tasks.push(tokio::spawn(async move {
            // Half the senders write twice, so accounts are both created and found.
            let from = format!("c{}@customer.test", n % (CONCURRENT / 2));
            let raw = format!(
                "From: {from}\r\nTo: support@desk.test\r\nSubject: Order {n}\r\nMessage-ID: <{n}@customer.test>\r\n\r\nHello\r\n"
            )
            .into_bytes();
            let accepted = Accepted {
                client_ip: "127.0.0.2".parse().unwrap(),
                helo: "mx.customer.test".into(),
                mail_from: Some(EmailAddress::parse(&from).unwrap()),
                recipient: Recipient::Mailbox(support),
                message: read_message(&raw).unwrap(),
                raw,
                verdict: Verdict::Authenticated(AuthMethod::Spf {
                    domain: "customer.test".into(),
                }),
                files: vec![],
            };
            inbound.deliver(accepted).await
        }));
    }
    let results = tokio::time::timeout(Duration::from_secs(25), async {
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    })
    .await
    .expect("deliveries stalled (connection pool exhausted?)");
    for result in &results {
        assert!(matches!(result, Ok(Placement::NewTicket)), "{result:?}");
    }
    let placed = store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "mail.received")
        .count();
    assert_eq!(placed, CONCURRENT);
}
