//! Redaction of inbound mail, when the operator turns it on (`[smtp] redact`), on
//! SQLite and PostgreSQL: a card number and a password in a customer's email never
//! reach the stored ticket; without the setting mail is stored as written.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_core::EmailAddress;
use palisade_crypto::{Keyring, MasterKey};
use palisade_mail::{Accepted, AuthMethod, Inbound, Recipient, Verdict, read_message};
use palisade_policy::PolicyEngine;
use palisade_store::Store;
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(inbound_mail_is_redacted_when_configured);

fn accepted(n: u32) -> Accepted {
    let raw = format!(
        "From: ann@customer.test\r\nTo: support@desk.test\r\nSubject: Refund to 4111 1111 1111 1111\r\n\
         Message-ID: <r{n}@customer.test>\r\n\r\nCard 4111 1111 1111 1111, my password is hunter2!\r\n"
    )
    .into_bytes();
    Accepted {
        client_ip: "127.0.0.2".parse().unwrap(),
        helo: "mx.customer.test".into(),
        mail_from: Some(EmailAddress::parse("ann@customer.test").unwrap()),
        recipient: Recipient::Mailbox(EmailAddress::parse("support@desk.test").unwrap()),
        message: read_message(&raw).unwrap(),
        raw,
        verdict: Verdict::Authenticated(AuthMethod::Spf {
            domain: "customer.test".into(),
        }),
        files: vec![],
    }
}

async fn inbound_mail_is_redacted_when_configured(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let team = store.create_team(&mut tx, "Support").await.unwrap();
    tx.commit().await.unwrap();
    let teams = HashMap::from([(EmailAddress::parse("support@desk.test").unwrap(), team)]);
    let policy = Arc::new(PolicyEngine::load().unwrap());
    let redactor = Arc::new(palisade_assist::Redactor::default());
    let redacting = Inbound::new(store.clone(), policy.clone(), teams.clone())
        .with_redaction(Arc::new(move |text: &str| redactor.redact(text).text));
    let plain = Inbound::new(store.clone(), policy, teams);

    redacting.deliver(accepted(1)).await.unwrap();
    plain.deliver(accepted(2)).await.unwrap();
    let tickets: Vec<String> = store
        .audit_entries(0, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "mail.received")
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
        .filter_map(|d| d["ticket"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(tickets.len(), 2);
    let mut bodies = Vec::new();
    for ticket in tickets {
        let record = store
            .get_ticket(&palisade_core::TicketId::parse(&ticket).unwrap())
            .await
            .unwrap();
        let body = crate::common::messages(&store, &record).await[0].body.clone();
        bodies.push((record.subject, body));
    }
    bodies.sort();
    let redacted = bodies
        .iter()
        .find(|(s, _)| s.contains("removed"))
        .expect("a redacted ticket");
    assert_eq!(redacted.0, "Refund to [a card number ending 1111 removed]");
    assert_eq!(
        redacted.1.trim_end(),
        "Card [a card number ending 1111 removed], my password is [a password removed]"
    );
    let as_written = bodies
        .iter()
        .find(|(s, _)| !s.contains("removed"))
        .expect("an unredacted ticket");
    assert!(
        as_written.1.contains("4111 1111 1111 1111"),
        "without the setting mail is kept as written"
    );
}
