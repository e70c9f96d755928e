//! The outbox against a real SMTP sink on loopback, on SQLite and PostgreSQL: mail is
//! delivered over verified STARTTLS, a relay that does not offer STARTTLS gets nothing
//! (downgrade), temporary failures are retried, two workers never send one message
//! twice, and what waits in the queue is sealed.

use std::sync::Arc;
use std::time::Duration;

use palisade_core::{EmailAddress, OutboxId, OutgoingMail};
use palisade_crypto::{Keyring, MasterKey};
use palisade_mail::{OutboxWorker, RelaySettings, RelayTls};
use palisade_store::Store;
use palisade_testkit::smtp::{SinkTls, SmtpSink};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(
    mail_is_delivered_over_verified_starttls_and_wiped_from_the_queue,
    a_relay_without_starttls_gets_nothing_and_failures_are_retried,
    two_workers_never_send_one_message_twice,
    outbound_mail_is_dkim_signed_and_verifies_against_the_published_key,
);

/// A CA certificate written to a temp file for the worker to trust.
struct CaFile(std::path::PathBuf);

impl Drop for CaFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ca_file(sink: &SmtpSink) -> CaFile {
    let path = std::env::temp_dir().join(format!(
        "palisade-sink-ca-{}-{}.pem",
        std::process::id(),
        sink.port()
    ));
    std::fs::write(&path, sink.ca_pem().unwrap()).unwrap();
    CaFile(path)
}

async fn fixture(backend: Backend) -> (TestDatabase, Store) {
    let db = TestDatabase::new(backend).await.unwrap();
    let keyring = Arc::new(Keyring::new(&MasterKey::generate().unwrap()));
    let store = Store::connect(&db.url, keyring).await.unwrap();
    (db, store)
}

fn relay(sink: &SmtpSink, tls: RelayTls, ca: Option<std::path::PathBuf>) -> RelaySettings {
    RelaySettings {
        host: if tls == RelayTls::StartTls {
            "localhost".into()
        } else {
            "127.0.0.1".into()
        },
        port: sink.port(),
        tls,
        ca_file: ca,
        helo_name: "desk.example.org".into(),
        from: EmailAddress::parse("support@example.org").unwrap(),
        from_name: "Example Support".into(),
        dkim: None,
    }
}

async fn enqueue(store: &Store, to: &str, subject: &str) -> OutboxId {
    let mail = OutgoingMail {
        to: to.into(),
        subject: subject.into(),
        text: "Line one\n.leading dot\nLast line".into(),
        ..OutgoingMail::default()
    };
    let mut tx = store.begin().await.unwrap();
    let id = store.enqueue_mail(&mut tx, "test", &mail).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn make_due(db: &TestDatabase) {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE outbox SET next_attempt_at = 0")
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn mail_is_delivered_over_verified_starttls_and_wiped_from_the_queue(backend: Backend) {
    let (db, store) = fixture(backend).await;
    let sink = SmtpSink::start(SinkTls::StartTls).await.unwrap();
    let ca = ca_file(&sink);
    let id = enqueue(&store, "ada@example.com", "Reset your password").await;
    // While queued, neither the recipient nor the subject is readable in the database.
    let dump = db.raw_dump().await.unwrap();
    let dump = String::from_utf8_lossy(&dump);
    assert!(!dump.contains("ada@example.com") && !dump.contains("Reset your password"));

    let worker = OutboxWorker::new(
        store.clone(),
        relay(&sink, RelayTls::StartTls, Some(ca.0.clone())),
    )
    .unwrap();
    assert_eq!(worker.drain().await.unwrap(), 1);
    let got = sink.wait_for(1, Duration::from_secs(5)).await.unwrap();
    assert!(got[0].tls, "delivered inside TLS");
    assert_eq!(got[0].helo, "desk.example.org");
    // The envelope sender is the VERP address that names this message for bounces.
    assert!(
        got[0].mail_from.starts_with("support+b") && got[0].mail_from.ends_with("@example.org"),
        "{}",
        got[0].mail_from
    );
    assert_eq!(got[0].rcpt_to, ["ada@example.com"]);
    let text = String::from_utf8(got[0].data.clone()).unwrap();
    assert!(text.contains("Subject: Reset your password\r\n"), "{text}");
    assert!(
        text.contains("\r\n.leading dot\r\n"),
        "dot-stuffing round-trips: {text}"
    );
    let status = store.outbox_status(&id).await.unwrap().unwrap();
    assert_eq!((status.status.as_str(), status.attempts), ("sent", 1));
    assert_eq!(worker.drain().await.unwrap(), 0, "sent once");

    // A relay whose certificate the worker does not trust gets nothing.
    let untrusted = SmtpSink::start(SinkTls::StartTls).await.unwrap();
    let id = enqueue(&store, "bob@example.com", "Hello").await;
    let worker = OutboxWorker::new(store.clone(), relay(&untrusted, RelayTls::StartTls, None)).unwrap();
    assert_eq!(worker.drain().await.unwrap(), 0);
    assert!(untrusted.messages().is_empty());
    let status = store.outbox_status(&id).await.unwrap().unwrap();
    assert_eq!(status.status, "queued");
    assert!(status.last_error.unwrap().contains("TLS"), "deferred for TLS");
}

async fn a_relay_without_starttls_gets_nothing_and_failures_are_retried(backend: Backend) {
    let (db, store) = fixture(backend).await;
    // The relay offers no STARTTLS: a downgrade. The worker refuses to send in clear.
    let plain = SmtpSink::start(SinkTls::None).await.unwrap();
    let id = enqueue(&store, "ada@example.com", "Private").await;
    let mut settings = relay(&plain, RelayTls::StartTls, None);
    settings.host = "127.0.0.1".into();
    let worker = OutboxWorker::new(store.clone(), settings).unwrap();
    assert_eq!(worker.drain().await.unwrap(), 0);
    assert!(plain.messages().is_empty());
    let status = store.outbox_status(&id).await.unwrap().unwrap();
    assert_eq!((status.status.as_str(), status.attempts), ("queued", 1));
    assert!(status.last_error.unwrap().contains("STARTTLS"));
    // Not due again until the back-off has passed.
    assert_eq!(worker.drain().await.unwrap(), 0);

    // A local relay in clear (allowed on loopback) that fails once, then accepts.
    plain.fail_next(1);
    let worker = OutboxWorker::new(store.clone(), relay(&plain, RelayTls::None, None)).unwrap();
    make_due(&db).await;
    assert_eq!(worker.drain().await.unwrap(), 0, "451 defers");
    assert_eq!(store.outbox_status(&id).await.unwrap().unwrap().attempts, 2);
    make_due(&db).await;
    assert_eq!(worker.drain().await.unwrap(), 1);
    assert_eq!(plain.messages().len(), 1);
    assert_eq!(store.outbox_status(&id).await.unwrap().unwrap().status, "sent");
}

async fn two_workers_never_send_one_message_twice(backend: Backend) {
    let (_db, store) = fixture(backend).await;
    let sink = SmtpSink::start(SinkTls::None).await.unwrap();
    for i in 0..20 {
        enqueue(&store, &format!("user{i}@example.com"), "Notice").await;
    }
    let a = OutboxWorker::new(store.clone(), relay(&sink, RelayTls::None, None)).unwrap();
    let b = OutboxWorker::new(store.clone(), relay(&sink, RelayTls::None, None)).unwrap();
    let (sent_a, sent_b) = tokio::join!(a.drain(), b.drain());
    assert_eq!(sent_a.unwrap() + sent_b.unwrap(), 20);
    let got = sink.wait_for(20, Duration::from_secs(10)).await.unwrap();
    let mut recipients: Vec<String> = got.iter().map(|m| m.rcpt_to[0].clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 20, "every message exactly once");
    assert_eq!(got.len(), 20);
}

async fn outbound_mail_is_dkim_signed_and_verifies_against_the_published_key(backend: Backend) {
    use palisade_mail::{
        AuthMethod, DkimSettings, Envelope, SenderVerifier, Verdict, generate_dkim_key, read_message,
    };
    let (_db, store) = fixture(backend).await;
    let sink = SmtpSink::start(SinkTls::None).await.unwrap();
    let (key, record) = generate_dkim_key().unwrap();
    let dns =
        palisade_testkit::dns::DnsServer::start(&[("palisade._domainkey.example.org", record.as_str())])
            .await
            .unwrap();
    let mut settings = relay(&sink, RelayTls::None, None);
    settings.dkim = Some(DkimSettings {
        domain: "example.org".into(),
        selector: "palisade".into(),
        key_pkcs8: key,
    });
    let worker = OutboxWorker::new(store.clone(), settings).unwrap();
    enqueue(&store, "ada@example.com", "Your password was changed").await;
    assert_eq!(worker.drain().await.unwrap(), 1);
    let got = sink.wait_for(1, Duration::from_secs(5)).await.unwrap();
    let raw = got[0].data.clone();
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert!(text.starts_with("DKIM-Signature:"), "{text}");
    assert!(text.contains("a=rsa-sha256"), "{text}");

    // What a receiving Palisade (or any DMARC receiver) concludes.
    let verifier = SenderVerifier::new(&[dns.addr], "mx.example.com", Duration::from_secs(2)).unwrap();
    let mail_from = EmailAddress::parse("support@example.org").unwrap();
    let envelope = Envelope {
        client_ip: "127.0.0.77".parse().unwrap(),
        helo: "desk.example.org",
        mail_from: Some(&mail_from),
    };
    let from = read_message(&raw).unwrap().from;
    assert_eq!(
        verifier.verdict(&envelope, &raw, &from).await,
        Verdict::Authenticated(AuthMethod::Dkim {
            domain: "example.org".into()
        })
    );
    // A second Subject added in transit breaks the (oversigned) signature. (The test
    // DNS server is not authoritative for example.org, so SPF cannot answer and the
    // verdict is "try later"; either way the message is not authenticated.)
    assert!(
        text.contains("h=") && text.matches("Subject").count() >= 3,
        "Subject oversigned"
    );
    // Palisade's own reading refuses such a message before any verdict: a field RFC
    // 5322 allows once appears twice.
    let tampered = text.replacen("Subject: ", "Subject: Urgent: wire money\r\nSubject: ", 1);
    assert_eq!(
        read_message(tampered.as_bytes()).unwrap_err(),
        palisade_mail::MessageRejection::RepeatedHeader
    );
    // A key that is not an RSA key is refused at configuration time.
    let mut bad = relay(&sink, RelayTls::None, None);
    bad.dkim = Some(DkimSettings {
        domain: "example.org".into(),
        selector: "palisade".into(),
        key_pkcs8: palisade_core::SecretBytes::new(vec![1, 2, 3]),
    });
    assert!(OutboxWorker::new(store.clone(), bad).is_err());
}
