//! The Zendesk attack end to end, on SQLite and PostgreSQL: the real listener, the
//! sender verdict against dnsmasq, capability threading and durable placement. A
//! customer's first mail opens her ticket and her reply threads into it; the attacker —
//! authenticated for his own domain, holding her reply address, copying himself in —
//! gets a ticket of his own and nothing of hers; the attacker forging her address lands
//! in quarantine; a retransmission is stored once. A DKIM-signed message threads from
//! any relay, and the same signed message replayed by the attacker with an extra `Cc`
//! gains him nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::DkimSigner;
use palisade_core::{EmailAddress, TicketId, UserId};
use palisade_crypto::{Keyring, MasterKey};
use palisade_mail::{Deliver, Inbound, ListenerSettings, ReplyKeys, SenderVerifier, SmtpListener, Threading};
use palisade_policy::PolicyEngine;
use palisade_store::Store;
use palisade_testkit::dns::DnsServer;
use palisade_testkit::{Backend, TestDatabase};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

palisade_testkit::on_both_backends!(the_zendesk_attack_fails_and_genuine_mail_threads);

fn support() -> EmailAddress {
    EmailAddress::parse("support@desk.test").unwrap()
}

async fn send(port: u16, ip: &str, mail_from: &str, rcpt: &str, data: &str) -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    let stream: TcpStream = socket
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    let mut io = BufReader::new(stream);
    let mut after_data = String::new();
    for (step, line) in [
        String::new(),
        "EHLO client.test\r\n".to_owned(),
        format!("MAIL FROM:<{mail_from}>\r\n"),
        format!("RCPT TO:<{rcpt}>\r\n"),
        "DATA\r\n".to_owned(),
        format!("{data}.\r\n"),
        "QUIT\r\n".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        if !line.is_empty() {
            io.get_mut().write_all(line.as_bytes()).await.unwrap();
        }
        let last = loop {
            let mut reply = String::new();
            tokio::time::timeout(Duration::from_secs(20), io.read_line(&mut reply))
                .await
                .unwrap()
                .unwrap();
            if reply.len() < 4 || reply.as_bytes()[3] != b'-' {
                break reply;
            }
        };
        if step == 5 {
            after_data = last.clone();
        }
        if !last.starts_with('2') && !last.starts_with('3') {
            return last;
        }
    }
    after_data
}

fn message(from: &str, cc: Option<&str>, message_id: &str, body: &str) -> String {
    let cc = cc.map(|c| format!("Cc: {c}\r\n")).unwrap_or_default();
    format!(
        "From: {from}\r\nTo: support@desk.test\r\n{cc}Subject: Order 1234\r\nMessage-ID: <{message_id}>\r\n\r\n{body}\r\n"
    )
}

async fn the_zendesk_attack_fails_and_genuine_mail_threads(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    let team = store.create_team(&mut tx, "Support").await.unwrap();
    tx.commit().await.unwrap();
    // Bea's domain signs its mail (DKIM, Ed25519) and publishes no SPF.
    let bea_key = Ed25519Key::generate_pkcs8().unwrap();
    let bea_record = format!(
        "v=DKIM1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD
            .encode(Ed25519Key::from_pkcs8_der(&bea_key).unwrap().public_key())
    );
    let dns = DnsServer::start(&[
        ("customer.test", "v=spf1 ip4:127.0.0.2 -all"),
        ("evil.test", "v=spf1 ip4:127.0.0.66 -all"),
        ("sel._domainkey.signed.test", bea_record.as_str()),
    ])
    .await
    .unwrap();
    let threading = Arc::new(Threading::new(
        store.clone(),
        ReplyKeys::default(),
        vec![support()],
    ));
    let inbound = Arc::new(Inbound::new(
        store.clone(),
        Arc::new(PolicyEngine::load().unwrap()),
        HashMap::from([(support(), team.clone())]),
    ));
    let deliver: Deliver = Arc::new(move |accepted| {
        let inbound = inbound.clone();
        Box::pin(async move { inbound.deliver(accepted).await.map(|_| ()) })
    });
    let listener = SmtpListener::new(
        ListenerSettings {
            hostname: "mx.desk.test".into(),
            max_message_bytes: 100_000,
            max_connections: 8,
            max_connections_per_ip: 8,
            messages_per_minute_per_ip: 600,
            tls: None,
        },
        threading.clone(),
        Arc::new(SenderVerifier::new(&[dns.addr], "mx.desk.test", Duration::from_secs(2)).unwrap()),
        deliver,
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let _server = tokio::spawn(listener.serve(socket));

    // Ann writes in: authenticated (aligned SPF), her first mail opens her ticket.
    let first = message(
        "Ann <ann@customer.test>",
        None,
        "m1@customer.test",
        "Where is my order?",
    );
    let r = send(
        port,
        "127.0.0.2",
        "ann@customer.test",
        "support@desk.test",
        &first,
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    let ann = store
        .find_user_by_email(&EmailAddress::parse("ann@customer.test").unwrap())
        .await
        .unwrap()
        .expect("a customer account for Ann");
    let (tickets, _) = {
        let entries = store.audit_entries(0, 10_000).await.unwrap();
        let ids: Vec<String> = entries
            .iter()
            .filter(|e| e.action == "mail.received")
            .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
            .filter_map(|d| d["ticket"].as_str().map(str::to_owned))
            .collect();
        (ids, entries.len())
    };
    assert_eq!(tickets.len(), 1);
    let ticket_id = TicketId::parse(&tickets[0]).unwrap();
    let ticket = store.get_ticket(&ticket_id).await.unwrap();
    assert_eq!(ticket.requester, ann.id);
    // An agent answers; the composed mail to Ann carries her reply address.
    let notifier = palisade_mail::ReplyNotifier::new(
        store.clone(),
        threading.clone(),
        HashMap::from([(team.clone(), support())]),
    );
    let mut tx = store.begin().await.unwrap();
    let agent = UserId::generate();
    assert_eq!(
        notifier
            .public_reply(
                &mut tx,
                &store.get_ticket(&ticket_id).await.unwrap(),
                &agent,
                "On its way"
            )
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let queued = store.claim_mail("test", 60).await.unwrap().unwrap();
    let mail: palisade_core::OutgoingMail = serde_json::from_slice(&queued.envelope).unwrap();
    assert_eq!(mail.to, "ann@customer.test");
    let composed = palisade_mail::compose(&mail, &support(), "Support").unwrap();
    let composed = String::from_utf8(composed).unwrap();
    let reply_to = EmailAddress::parse(
        composed
            .lines()
            .find_map(|l| l.strip_prefix("Reply-To: "))
            .unwrap()
            .trim_matches(['<', '>']),
    )
    .unwrap();

    // Ann replies: it threads as her public reply.
    let answer = message(
        "ann@customer.test",
        None,
        "m2@customer.test",
        "Thanks, order 1234 please",
    );
    let r = send(port, "127.0.0.2", "ann@customer.test", reply_to.as_str(), &answer).await;
    assert!(r.starts_with("250"), "{r}");
    // Retransmitted (same Message-ID, same sender): acknowledged, stored once.
    let r = send(port, "127.0.0.2", "ann@customer.test", reply_to.as_str(), &answer).await;
    assert!(r.starts_with("250"), "{r}");
    let messages = store
        .list_messages(&store.get_ticket(&ticket_id).await.unwrap(), true)
        .await
        .unwrap();
    assert_eq!(messages.len(), 2, "first mail + one reply");
    assert!(messages.iter().all(|m| m.author == ann.id));

    // Mallory, authenticated for his own domain, writes to Ann's reply address and
    // copies himself: he gets his own ticket, not a seat on hers.
    let mallory_mail = message(
        "mallory@evil.test",
        Some("mallory@evil.test"),
        "x1@evil.test",
        "add me please",
    );
    let r = send(
        port,
        "127.0.0.66",
        "mallory@evil.test",
        reply_to.as_str(),
        &mallory_mail,
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    // Mallory forging Ann's address: not authenticated, so quarantined.
    let forged = message(
        "ann@customer.test",
        Some("mallory@evil.test"),
        "x2@evil.test",
        "send the invoice to me",
    );
    let r = send(
        port,
        "127.0.0.66",
        "mallory@evil.test",
        reply_to.as_str(),
        &forged,
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    // Mallory guessing reply addresses: refused at RCPT.
    let guessed = send(
        port,
        "127.0.0.66",
        "mallory@evil.test",
        "support+id1@desk.test",
        &mallory_mail,
    )
    .await;
    assert!(guessed.starts_with("550"), "{guessed}");

    let ticket = store.get_ticket(&ticket_id).await.unwrap();
    assert!(ticket.collaborators.is_empty(), "nobody joined Ann's ticket");
    assert_eq!(
        store.list_messages(&ticket, true).await.unwrap().len(),
        2,
        "nothing added to Ann's ticket"
    );
    let mallory = store
        .find_user_by_email(&EmailAddress::parse("mallory@evil.test").unwrap())
        .await
        .unwrap()
        .expect("Mallory became a customer of his own");
    let placements: Vec<String> = store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "mail.received")
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
        .map(|d| d["placement"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(placements, ["new_ticket", "reply", "new_ticket", "quarantine"]);
    let held = store.held_mail(10).await.unwrap();
    assert_eq!(held.len(), 1);
    let sealed: serde_json::Value = serde_json::from_slice(&held[0].sealed).unwrap();
    assert_eq!(sealed["from"], "ann@customer.test");
    assert_eq!(sealed["verdict"]["authenticated"], false);
    assert_ne!(mallory.id, ann.id);

    // Bea's signed mail, relayed from an address no SPF record names, opens her ticket.
    let unsigned = message(
        "Bea <bea@signed.test>",
        None,
        "b1@signed.test",
        "Invoice 77 is wrong",
    );
    let signature = DkimSigner::from_key(Ed25519Key::from_pkcs8_der(&bea_key).unwrap())
        .domain("signed.test")
        .selector("sel")
        .headers(["From", "To", "Subject", "Message-ID"])
        .sign(unsigned.as_bytes())
        .unwrap();
    let signed = format!("{}{unsigned}", signature.to_header());
    let r = send(
        port,
        "127.0.0.50",
        "bounces@relay.test",
        "support@desk.test",
        &signed,
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    // Mallory replays the genuine signed message with himself added in Cc (a field the
    // signature does not cover): still Bea's message, so it is a retransmission of
    // something already taken; he joins nothing and gets nothing.
    let replayed = format!("Cc: mallory@evil.test\r\n{signed}");
    let r = send(
        port,
        "127.0.0.66",
        "mallory@evil.test",
        "support@desk.test",
        &replayed,
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    let received: Vec<serde_json::Value> = store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "mail.received")
        .filter_map(|e| serde_json::from_str(&e.detail).ok())
        .collect();
    assert_eq!(received.len(), 5, "the replay stored nothing");
    let bea_ticket = TicketId::parse(received[4]["ticket"].as_str().unwrap()).unwrap();
    assert_eq!(received[4]["verdict"]["authenticated"], "dkim");
    let bea_ticket = store.get_ticket(&bea_ticket).await.unwrap();
    assert!(bea_ticket.collaborators.is_empty());
    assert_eq!(store.list_messages(&bea_ticket, true).await.unwrap().len(), 1);

    // Quarantined mail and message bodies are not readable in the database.
    let dump = String::from_utf8_lossy(&db.raw_dump().await.unwrap()).into_owned();
    assert!(!dump.contains("send the invoice to me") && !dump.contains("Thanks, order 1234 please"));
}
