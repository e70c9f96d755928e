//! Files mailed by a customer are scanned by a real clamd before anyone may download
//! them (on SQLite and PostgreSQL): the EICAR test file, named and typed as an
//! invoice, is kept sealed but blocked, audited and raised as an alert, while the
//! clean files of the same message are served.

use crate::common;

use base64::Engine as _;
use common::{MailWorld, SUPPORT};
use palisade_service::{Availability, Desk, ServiceError};
use palisade_store::ScanState;
use palisade_testkit::Backend;
use palisade_testkit::clamd::{Clamd, EICAR, EICAR_SIGNATURE};

palisade_testkit::on_both_backends!(an_infected_mail_attachment_is_kept_but_blocked);

fn attachment(name: &str, content_type: &str, content: &[u8]) -> String {
    format!(
        "--mixed\r\nContent-Type: {content_type}; name=\"{name}\"\r\nContent-Disposition: attachment; \
         filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        base64::engine::general_purpose::STANDARD.encode(content)
    )
}

async fn an_infected_mail_attachment_is_kept_but_blocked(backend: Backend) {
    let clamd = Clamd::start().await.unwrap();
    let w = MailWorld::start_scanning(backend, &clamd).await;
    let raw = format!(
        "From: Ann <ann@customer.test>\r\nTo: {SUPPORT}\r\nSubject: My invoice\r\nMessage-ID: <scan1@customer.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mixed\"\r\n\r\n\
         --mixed\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease see the attached invoice.\r\n{}{}--mixed--\r\n",
        attachment("invoice.pdf", "application/pdf", EICAR),
        attachment("notes.txt", "text/plain", b"Nothing to see here.\n"),
    );
    let reply = w.send("127.0.0.2", "ann@customer.test", SUPPORT, &raw).await;
    assert!(reply.starts_with("250"), "{reply}");

    let ticket_id = w
        .received()
        .await
        .iter()
        .find_map(|d| d["ticket"].as_str().map(str::to_owned))
        .unwrap();
    let reviewer = w.reviewer().await;
    let desk = Desk::new(
        w.store.clone(),
        std::sync::Arc::new(palisade_policy::PolicyEngine::load().unwrap()),
    )
    .with_scanner(palisade_scan::Scanner::new(
        palisade_scan::Endpoint::parse(&clamd.endpoint).unwrap(),
        std::time::Duration::from_secs(30),
    ));
    let detail = desk.ticket_detail(&reviewer, &ticket_id).await.unwrap();
    let by_name = |name: &str| {
        detail
            .attachments
            .iter()
            .find(|a| a.filename == name)
            .unwrap()
            .clone()
    };
    let infected = by_name("invoice.pdf");
    let clean = by_name("notes.txt");
    // Judged before the SMTP reply: nothing waits for a sweep.
    assert_eq!(infected.scan, ScanState::Infected(EICAR_SIGNATURE.into()));
    assert_eq!(clean.scan, ScanState::Clean);
    assert_eq!(
        desk.availability(&infected),
        Availability::Blocked(EICAR_SIGNATURE.into())
    );

    // Blocked for everyone, however they ask; the clean file of the same message is served.
    assert!(matches!(
        desk.attachment(&reviewer, infected.id.as_str()).await,
        Err(ServiceError::FileBlocked)
    ));
    let served = desk.attachment(&reviewer, clean.id.as_str()).await.unwrap();
    assert_eq!(served.content, b"Nothing to see here.\n");

    // Kept sealed: the EICAR bytes are nowhere in the database in clear.
    let dump = w.db.raw_dump().await.unwrap();
    assert!(!dump.windows(EICAR.len()).any(|window| window == EICAR));

    // One alert, naming the ticket and the signature; every verdict audited.
    let alerts = w.store.security_alerts(10).await.unwrap();
    let malware: Vec<_> = alerts.iter().filter(|a| a.kind == "malware").collect();
    assert_eq!(malware.len(), 1, "{alerts:?}");
    assert_eq!(malware[0].source, ticket_id);
    assert!(malware[0].detail.contains(EICAR_SIGNATURE));
    let verdicts: Vec<String> = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "ticket.attachment_scanned")
        .map(|e| e.detail.clone())
        .collect();
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert!(
        verdicts
            .iter()
            .any(|d| d.contains("\"infected\"") && d.contains(EICAR_SIGNATURE))
    );
    assert!(verdicts.iter().any(|d| d.contains("\"clean\"")));
}
