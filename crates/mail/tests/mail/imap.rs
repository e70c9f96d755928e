//! IMAP intake from a real Dovecot over verified TLS, on SQLite and PostgreSQL: mail
//! the provider authenticated becomes a ticket; a forged `Authentication-Results`
//! placed below the provider's own, a foreign one on top, or none at all is held; a
//! message is marked taken only once placed, so a connection lost mid-fetch loses
//! nothing, and a mark lost after placing takes nothing twice. A server whose
//! certificate is not trusted, or a wrong password, takes nothing. Mail a forwarder
//! broke the signature of is believed from the ARC seals of sealers named for the
//! mailbox, only while every newer seal is from a named sealer too.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{MailWorld, SUPPORT, address, arc_forward, arc_seal, dkim_sign};
use palisade_core::SecretString;
use palisade_mail::{IMAP_TAKEN_KEYWORD, ImapAuth, ImapIntake, ImapMailbox, ImapRound, ProviderTrust};
use palisade_testkit::Backend;
use palisade_testkit::dovecot::Dovecot;

palisade_testkit::on_both_backends!(
    mail_from_a_hosted_mailbox_is_taken_once_and_judged_by_its_provider,
    an_untrusted_server_or_wrong_password_takes_nothing,
    forwarded_mail_is_believed_from_named_arc_sealers_only,
    new_mail_is_taken_as_the_server_announces_it
);

const PROVIDER: &str = "mx.provider.test";

fn mailbox(dovecot: &Dovecot, password: &str, ca: bool) -> ImapMailbox {
    ImapMailbox {
        host: "localhost".into(),
        port: dovecot.port,
        auth: ImapAuth::Password {
            user: dovecot.user.clone(),
            password: SecretString::new(password.to_owned()),
        },
        folder: "INBOX".into(),
        mailbox: address(SUPPORT),
        trust: ProviderTrust {
            authserv_id: PROVIDER.into(),
            arc_sealers: Vec::new(),
        },
        ca_file: ca.then(|| dovecot.ca_file.clone()),
        poll: Duration::from_secs(60),
    }
}

fn message(id: &str, results: &str, body: &str) -> Vec<u8> {
    format!(
        "Return-Path: <ann@customer.test>\r\nDelivered-To: {SUPPORT}\r\n{results}\
         From: Ann <ann@customer.test>\r\nTo: {SUPPORT}\r\nSubject: Statement {id}\r\nMessage-ID: <{id}@customer.test>\r\n\
         Date: Sat, 5 Dec 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn mail_from_a_hosted_mailbox_is_taken_once_and_judged_by_its_provider(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let dovecot = Dovecot::start().await.unwrap();
    let intake = ImapIntake::new(
        mailbox(&dovecot, &dovecot.password, true),
        w.reception.clone(),
        w.threading.clone(),
        1_000_000,
    )
    .unwrap();
    let genuine = format!(
        "Authentication-Results: {PROVIDER}; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test\r\n"
    );
    // Large enough that a connection cut while it is sent is cut inside it.
    let long_body = "Please see my statement.\r\n".repeat(4000);
    dovecot
        .deliver(&message("m1", &genuine, &long_body))
        .await
        .unwrap();
    // The sender's forged pass sits below the provider's own fail.
    dovecot
        .deliver(&message(
            "m2",
            &format!(
                "Authentication-Results: {PROVIDER}; dmarc=fail header.from=customer.test\r\n\
                 Authentication-Results: {PROVIDER}; dmarc=pass header.from=customer.test\r\n"
            ),
            "forged below",
        ))
        .await
        .unwrap();
    // Another party's header on top of the provider's.
    dovecot
        .deliver(&message(
            "m3",
            &format!(
                "Authentication-Results: relay.evil.test; dmarc=pass header.from=customer.test\r\n{genuine}"
            ),
            "foreign on top",
        ))
        .await
        .unwrap();
    dovecot
        .deliver(&message("m4", "", "no results at all"))
        .await
        .unwrap();

    // A connection lost in the middle of the first message: nothing taken or marked.
    let cut = palisade_testkit::proxy::CuttingProxy::start(dovecot.port, 40_000)
        .await
        .unwrap();
    let mut through_cut = mailbox(&dovecot, &dovecot.password, true);
    through_cut.port = cut.port;
    let broken = ImapIntake::new(through_cut, w.reception.clone(), w.threading.clone(), 1_000_000).unwrap();
    assert!(broken.poll_once().await.is_err());
    assert!(w.received().await.is_empty());
    assert!(none_taken(&dovecot).await);

    let round = intake.poll_once().await.unwrap();
    assert_eq!(
        round,
        ImapRound {
            taken: 4,
            refused: 0,
            deferred: 0
        }
    );
    let placements: Vec<String> = w
        .received()
        .await
        .iter()
        .map(|d| d["placement"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        placements,
        ["new_ticket", "quarantine", "quarantine", "quarantine"],
        "{placements:?}"
    );
    let first = &w.received().await[0];
    assert_eq!(first["verdict"]["authenticated"], "provider");
    assert_eq!(first["verdict"]["provider"], PROVIDER);
    let flags = dovecot.flags().await.unwrap();
    assert_eq!(flags.len(), 4);
    assert!(
        flags.iter().all(|(_, f)| f.contains(IMAP_TAKEN_KEYWORD)),
        "{flags:?}"
    );
    // Fetched with PEEK: a person reading the mailbox still sees it unread.
    assert!(flags.iter().all(|(_, f)| !f.contains("\\Seen")), "{flags:?}");

    // Nothing new: nothing taken.
    assert_eq!(intake.poll_once().await.unwrap(), ImapRound::default());

    // The marks are lost (as if the connection dropped after placing): the genuine
    // message comes again and is recognised, not placed twice.
    dovecot.unflag_all(IMAP_TAKEN_KEYWORD).await.unwrap();
    intake.poll_once().await.unwrap();
    let tickets = w
        .received()
        .await
        .iter()
        .filter(|d| d["placement"] == "new_ticket")
        .count();
    assert_eq!(tickets, 1);
    let _ = Arc::clone(&w.reception);
}

async fn an_untrusted_server_or_wrong_password_takes_nothing(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let dovecot = Dovecot::start().await.unwrap();
    dovecot.deliver(&message("u1", "", "hello")).await.unwrap();
    // The server's certificate is not signed by anything the system trusts.
    let untrusted = ImapIntake::new(
        mailbox(&dovecot, &dovecot.password, false),
        w.reception.clone(),
        w.threading.clone(),
        1_000_000,
    )
    .unwrap();
    assert!(untrusted.poll_once().await.is_err());
    let wrong = ImapIntake::new(
        mailbox(&dovecot, "not the password", true),
        w.reception.clone(),
        w.threading.clone(),
        1_000_000,
    )
    .unwrap();
    assert!(wrong.poll_once().await.is_err());
    assert!(w.received().await.is_empty());
    assert!(none_taken(&dovecot).await);
}

async fn new_mail_is_taken_as_the_server_announces_it(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let dovecot = Dovecot::start().await.unwrap();
    // A poll interval far longer than the test: only IDLE can bring the mail in.
    let mut settings = mailbox(&dovecot, &dovecot.password, true);
    settings.poll = Duration::from_secs(3600);
    let intake = ImapIntake::new(settings, w.reception.clone(), w.threading.clone(), 1_000_000).unwrap();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(intake.run(stopping));
    // Let it sign in and start waiting, then deliver.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let genuine = format!("Authentication-Results: {PROVIDER}; dmarc=pass header.from=customer.test\r\n");
    dovecot
        .deliver(&message("idle1", &genuine, "sent while Palisade waits"))
        .await
        .unwrap();
    let mut taken = false;
    for _ in 0..100 {
        if !w.received().await.is_empty() {
            taken = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(taken, "the announced message was not taken within 10 s");
    for _ in 0..50 {
        if all_taken(&dovecot).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(all_taken(&dovecot).await);
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
}

/// Whether no message in the mailbox carries the taken keyword.
async fn none_taken(dovecot: &Dovecot) -> bool {
    dovecot
        .flags()
        .await
        .unwrap()
        .iter()
        .all(|(_, f)| !f.contains(IMAP_TAKEN_KEYWORD))
}

/// Whether every message in the mailbox carries the taken keyword.
async fn all_taken(dovecot: &Dovecot) -> bool {
    dovecot
        .flags()
        .await
        .unwrap()
        .iter()
        .all(|(_, f)| f.contains(IMAP_TAKEN_KEYWORD))
}

async fn forwarded_mail_is_believed_from_named_arc_sealers_only(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let dovecot = Dovecot::start().await.unwrap();
    let trusting = |sealers: &[&str]| {
        let mut mailbox = mailbox(&dovecot, &dovecot.password, true);
        mailbox.trust.arc_sealers = sealers.iter().map(|s| (*s).to_owned()).collect();
        ImapIntake::new(mailbox, w.reception.clone(), w.threading.clone(), 1_000_000).unwrap()
    };
    // Bea's signed mail through the list, which tags the subject (breaking her
    // signature) and seals what it verified; the provider then records the failure.
    let via_list = |id: &'static str| {
        let w = &w;
        async move {
            let signed = dkim_sign(
                &w.signed_key,
                "signed.test",
                &common::message("Bea <bea@signed.test>", None, &format!("{id}@signed.test"), id),
                false,
            );
            arc_forward(w, &signed, "lists.test", &w.lists_key).await
        }
    };
    let provider_saw = |text: &str| {
        format!(
            "Authentication-Results: {PROVIDER}; dkim=fail header.d=signed.test; dmarc=fail header.from=signed.test\r\n{text}"
        )
        .into_bytes()
    };
    let resealed_by_evil = |text: String| {
        let w = &w;
        async move {
            let resolver = common::resolver(w);
            let nothing = mail_auth::AuthenticationResults::new("evil.test");
            arc_seal(&resolver, &text, &nothing, "evil.test", &w.evil_key).await
        }
    };

    // Nobody named: the genuine forward is held like any unauthenticated mail.
    dovecot
        .deliver(&provider_saw(&via_list("f0").await))
        .await
        .unwrap();
    assert_eq!(trusting(&[]).poll_once().await.unwrap().taken, 1);
    assert_eq!(w.received().await[0]["placement"], "quarantine");

    // The list named: believed. An unnamed hop sealing on top of it: held.
    dovecot
        .deliver(&provider_saw(&via_list("f1").await))
        .await
        .unwrap();
    let resealed = resealed_by_evil(via_list("f2").await).await;
    dovecot.deliver(&provider_saw(&resealed)).await.unwrap();
    assert_eq!(trusting(&["lists.test"]).poll_once().await.unwrap().taken, 2);
    let received = w.received().await;
    assert_eq!(received[1]["placement"], "new_ticket", "{}", received[1]);
    assert_eq!(received[1]["verdict"]["authenticated"], "arc");
    assert_eq!(received[1]["verdict"]["forwarder"], "lists.test");
    assert_eq!(received[1]["verdict"]["domain"], "signed.test");
    assert_eq!(received[2]["placement"], "quarantine", "{}", received[2]);

    // When the hop on top is named too (as a provider that seals what it receives
    // is), the list's seal below it still counts.
    let resealed = resealed_by_evil(via_list("f3").await).await;
    dovecot.deliver(&provider_saw(&resealed)).await.unwrap();
    assert_eq!(
        trusting(&["lists.test", "evil.test"])
            .poll_once()
            .await
            .unwrap()
            .taken,
        1
    );
    let received = w.received().await;
    assert_eq!(received[3]["placement"], "new_ticket", "{}", received[3]);
    assert_eq!(received[3]["verdict"]["forwarder"], "lists.test");

    // Changed after the seals: the chain fails, held whoever is named.
    let tampered = via_list("f4").await.replace("f4\r\n", "pay the NEW account\r\n");
    dovecot.deliver(&provider_saw(&tampered)).await.unwrap();
    assert_eq!(trusting(&["lists.test"]).poll_once().await.unwrap().taken, 1);
    assert_eq!(w.received().await[4]["placement"], "quarantine");
}
