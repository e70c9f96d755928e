//! VERP bounces end to end: Palisade's mail leaves with an envelope sender that names
//! the message by a MACed token; a bounce to it marks the recipient's address (once
//! per message) and never opens a ticket, quarantines anything or answers; guessed,
//! altered or reply-purpose tokens are refused at RCPT like any unknown address.

use crate::common;

use std::time::Duration;

use common::{MailWorld, NOREPLY, SUPPORT, address};
use palisade_core::{OutgoingMail, UserId};
use palisade_mail::{OutboxWorker, RelaySettings, RelayTls};
use palisade_testkit::Backend;
use palisade_testkit::smtp::{SinkTls, SmtpSink};

palisade_testkit::on_both_backends!(bounces_mark_the_address_and_nothing_else);

fn dsn(original_to: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.customer.test\r\nTo: {NOREPLY}\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <dsn-{}@mx.customer.test>\r\nContent-Type: text/plain\r\n\r\n\
         <{original_to}>: host mx.customer.test said: 550 5.1.1 user unknown\r\n",
        hex::encode(palisade_crypto::random_bytes::<6>().unwrap())
    )
}

async fn bounces_mark_the_address_and_nothing_else(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let sink = SmtpSink::start(SinkTls::None).await.unwrap();
    let worker = OutboxWorker::new(
        w.store.clone(),
        RelaySettings {
            host: "127.0.0.1".into(),
            port: sink.port(),
            tls: RelayTls::None,
            ca_file: None,
            helo_name: "desk.test".into(),
            from: address(NOREPLY),
            from_name: "Support".into(),
            dkim: None,
        },
    )
    .unwrap();
    let gone = address("gone@customer.test");
    for subject in ["First", "Second"] {
        let mut tx = w.store.begin().await.unwrap();
        let mail = OutgoingMail {
            to: gone.as_str().into(),
            subject: subject.into(),
            text: "Your ticket was updated".into(),
            ..OutgoingMail::default()
        };
        w.store.enqueue_mail(&mut tx, "test", &mail).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(worker.drain().await.unwrap(), 2);
    let sent = sink.wait_for(2, Duration::from_secs(10)).await.unwrap();
    // Each message has its own VERP envelope sender on the sender's domain (so SPF
    // and DMARC alignment still hold).
    let verp: Vec<String> = sent.iter().map(|m| m.mail_from.clone()).collect();
    assert_ne!(verp[0], verp[1]);
    for v in &verp {
        assert!(v.starts_with("noreply+b") && v.ends_with("@desk.test"), "{v}");
    }
    assert!(w.store.address_bounces(&gone).await.unwrap().is_none());

    // The receiving side bounces the first message (null sender, as DSNs are).
    let r = w.send("127.0.0.77", "", &verp[0], &dsn(gone.as_str())).await;
    assert!(r.starts_with("250"), "{r}");
    let (count, _) = w.store.address_bounces(&gone).await.unwrap().unwrap();
    assert_eq!(count, 1);
    // The same bounce again (a retry by the remote side) counts once per message…
    let r = w.send("127.0.0.77", "", &verp[0], &dsn(gone.as_str())).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(w.store.address_bounces(&gone).await.unwrap().unwrap().0, 1);
    // Not failure reports: a delay notice, an auto-reply from the recipient (with a
    // sender, or from the null sender but marked auto-replied). Taken, never counted.
    let delayed = dsn(gone.as_str()).replace("said: 550 5.1.1 user unknown", "is slow\r\nAction: delayed");
    let r = w.send("127.0.0.77", "", &verp[1], &delayed).await;
    assert!(r.starts_with("250"), "{r}");
    let vacation = "From: gone@customer.test\r\nSubject: Away\r\n\r\nBack on Monday\r\n";
    let r = w
        .send("127.0.0.2", "gone@customer.test", &verp[1], vacation)
        .await;
    assert!(r.starts_with("250"), "{r}");
    let auto =
        "From: gone@customer.test\r\nAuto-Submitted: auto-replied\r\nSubject: Away\r\n\r\nBack on Monday\r\n";
    let r = w.send("127.0.0.2", "", &verp[1], auto).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(w.store.address_bounces(&gone).await.unwrap().unwrap().0, 1);

    // …and the second message's bounce counts too.
    let r = w.send("127.0.0.77", "", &verp[1], &dsn(gone.as_str())).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(w.store.address_bounces(&gone).await.unwrap().unwrap().0, 2);

    // Forged bounces: an altered token, a guessed one, a reply-purpose token under the
    // bounce marker, a bounce token on the support mailbox instead of the sender.
    let token = verp[0]
        .trim_start_matches("noreply+b")
        .trim_end_matches("@desk.test")
        .to_owned();
    let mut altered = token.clone().into_bytes();
    altered[20] = if altered[20] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    let (ticket, ann) = seed_ticket(&w).await;
    let mut tx = w.store.begin().await.unwrap();
    let (reply_address, _) = w
        .threading
        .reply_identity(&mut tx, &address(SUPPORT), &ticket, &ann)
        .await
        .unwrap_or_else(|_| panic!("reply identity"));
    tx.commit().await.unwrap();
    let reply_token = reply_address
        .as_str()
        .trim_start_matches("support+r")
        .trim_end_matches("@desk.test");
    for forged in [
        format!("noreply+b{altered}@desk.test"),
        format!("noreply+b{}@desk.test", "a".repeat(token.len())),
        format!("noreply+b{reply_token}@desk.test"),
        format!("support+b{token}@desk.test"),
        format!("noreply+b{token}@customer.test"),
    ] {
        let r = w.send("127.0.0.77", "", &forged, &dsn(gone.as_str())).await;
        assert!(r.starts_with("550 5.1.1"), "{forged}: {r}");
    }
    // A bounce with a smuggling-shaped body is refused like any other message (a
    // framing violation: answered and the connection closed).
    let r = w
        .send(
            "127.0.0.77",
            "",
            &verp[1],
            "From: x@y.test\r\n\r\nbody\n.\r\nMAIL FROM:<a@b.test>\r\n",
        )
        .await;
    assert!(r.starts_with("554 5.5.2"), "{r}");

    // Bounces created no ticket, no account, no quarantine item; only the audit trail
    // knows (one entry per counted bounce). The one received message is Ann's.
    assert_eq!(w.received().await.len(), 1);
    assert!(w.held().await.is_empty());
    assert!(
        w.store
            .find_user_by_email(&address("MAILER-DAEMON@mx.customer.test"))
            .await
            .unwrap()
            .is_none()
    );
    let bounced = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "mail.bounced")
        .count();
    assert_eq!(bounced, 2);
    assert_eq!(sink.messages().len(), 2, "nothing was sent back to anyone");
}

/// Ann's ticket and account, to mint a genuine reply token with.
async fn seed_ticket(w: &MailWorld) -> (palisade_core::TicketId, UserId) {
    let r = w
        .send(
            "127.0.0.2",
            "ann@customer.test",
            SUPPORT,
            &common::message("ann@customer.test", None, "s1@customer.test", "hello"),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    let received = w.received().await;
    let ticket =
        palisade_core::TicketId::parse(received.last().unwrap()["ticket"].as_str().unwrap()).unwrap();
    let ann = w
        .store
        .find_user_by_email(&address("ann@customer.test"))
        .await
        .unwrap()
        .unwrap();
    (ticket, ann.id)
}
