//! Everything a customer sends arrives, on SQLite and PostgreSQL, through the real
//! listener: attachments and inline images of many kinds are kept with the message
//! that carried them, sealed, named plainly and typed by their bytes (an HTML file or
//! an SVG with script is stored as text, a part whose declared type lies is typed by
//! what it is); a reply's files join the reply; a message over the limits is refused
//! whole with 552 and nothing of it is kept; a held message's files wait with it and
//! arrive on release.

use crate::common;

use std::collections::HashMap;

use base64::Engine as _;
use common::{FILE_LIMITS, MailWorld, SUPPORT, address};
use palisade_core::{Principal, Role, TicketId, UserId};
use palisade_policy::{Action, PolicyEngine, Resource};
use palisade_store::{AttachmentContent, Including, Store, TicketRecord};
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(
    every_file_a_customer_mails_is_kept_with_its_message,
    a_message_over_the_limits_is_refused_whole,
    a_held_messages_files_arrive_on_release
);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const ZIP: &[u8] = b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
const HTML: &[u8] = b"<html><body><script>fetch('/api/v1/me')</script>Invoice</body></html>";
const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(document.cookie)</script></svg>";

fn b64(bytes: &[u8]) -> String {
    let text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.as_bytes()
        .chunks(76)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn part(headers: &str, content: &[u8]) -> String {
    format!(
        "{headers}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        b64(content)
    )
}

/// An Outlook-style message: text and HTML alternatives with an inline image in a
/// `multipart/related`, then the attachments in `multipart/mixed`.
fn with_files(from: &str, message_id: &str, files: &[String]) -> String {
    let mut raw = format!(
        "From: {from}\r\nTo: {SUPPORT}\r\nSubject: The documents\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mixed\"\r\n\r\n\
         --mixed\r\nContent-Type: multipart/related; boundary=\"related\"\r\n\r\n\
         --related\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere are the documents.\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Here are the documents.<img src=\"cid:logo@customer.test\"></p>\r\n\
         --alt--\r\n\
         --related\r\n{}--related--\r\n",
        part(
            "Content-Type: image/png\r\nContent-ID: <logo@customer.test>\r\nContent-Disposition: inline",
            PNG
        ),
    );
    for file in files {
        raw.push_str(&format!("--mixed\r\n{file}"));
    }
    raw.push_str("--mixed--\r\n");
    raw
}

fn documents() -> Vec<String> {
    vec![
        part(
            "Content-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf\"",
            PDF,
        ),
        part(
            "Content-Type: application/zip\r\nContent-Disposition: attachment; filename=\"statements.zip\"",
            ZIP,
        ),
        part(
            "Content-Type: text/html\r\nContent-Disposition: attachment; filename=\"invoice.html\"",
            HTML,
        ),
        // Declared as a PNG; it is an SVG with script.
        part(
            "Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"photo.png\"",
            SVG,
        ),
        // A name with a path and a control character (RFC 2231 encoded).
        part(
            "Content-Type: text/plain\r\nContent-Disposition: attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd%07.txt",
            b"not really",
        ),
    ]
}

fn admin() -> Principal {
    Principal {
        user_id: UserId::generate(),
        role: Role::Admin,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    }
}

/// Every file of the ticket with its content, read as an administrator would.
async fn files(store: &Store, ticket: &TicketRecord) -> Vec<AttachmentContent> {
    let policy = PolicyEngine::load().unwrap();
    let facts = Resource::Ticket(ticket.facts());
    let read = policy.authorize(&admin(), Action::TicketRead, &facts).unwrap();
    let internal = policy
        .authorize(&admin(), Action::TicketReadInternal, &facts)
        .unwrap();
    let mut out = Vec::new();
    for record in store
        .list_attachments(ticket, Including::Internal(&internal))
        .await
        .unwrap()
    {
        out.push(
            store
                .read_attachment(&read, Including::Internal(&internal), ticket, &record.id)
                .await
                .unwrap(),
        );
    }
    out
}

async fn only_ticket(w: &MailWorld) -> TicketRecord {
    let ids: Vec<String> = w
        .received()
        .await
        .iter()
        .filter_map(|d| d["ticket"].as_str().map(str::to_owned))
        .collect();
    w.store
        .get_ticket(&TicketId::parse(ids.last().unwrap()).unwrap())
        .await
        .unwrap()
}

async fn every_file_a_customer_mails_is_kept_with_its_message(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let first = with_files("Ann <ann@customer.test>", "f1@customer.test", &documents());
    let r = w.send("127.0.0.2", "ann@customer.test", SUPPORT, &first).await;
    assert!(r.starts_with("250"), "{r}");
    let ticket = only_ticket(&w).await;
    let messages = common::messages(&w.store, &ticket).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body.trim(), "Here are the documents.");
    let kept = files(&w.store, &ticket).await;
    let seen: Vec<(&str, &str)> = kept
        .iter()
        .map(|f| (f.record.filename.as_str(), f.record.content_type.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("attachment-1", "image/png"),
            ("invoice.pdf", "application/pdf"),
            ("statements.zip", "application/zip"),
            // Pages and scripts are never served as what they claim to be.
            ("invoice.html", "text/plain; charset=utf-8"),
            ("photo.png", "text/plain; charset=utf-8"),
            ("passwd.txt", "text/plain; charset=utf-8"),
        ]
    );
    // Byte for byte, each with the message that carried it.
    let contents: Vec<&[u8]> = kept.iter().map(|f| f.content.as_slice()).collect();
    assert_eq!(contents, [PNG, PDF, ZIP, HTML, SVG, b"not really".as_slice()]);
    assert!(
        kept.iter()
            .all(|f| f.record.message.as_ref() == Some(&messages[0].id))
    );
    // The message itself is kept as it arrived, for staff.
    let policy = PolicyEngine::load().unwrap();
    let internal = policy
        .authorize(
            &admin(),
            Action::TicketReadInternal,
            &Resource::Ticket(ticket.facts()),
        )
        .unwrap();
    let original = w
        .store
        .original(&internal, &ticket, &messages[0].id)
        .await
        .unwrap();
    assert_eq!(original, first.as_bytes());
    // The receipt's audit entry says what was kept.
    let created = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.action == "ticket.created")
        .unwrap();
    let detail: serde_json::Value = serde_json::from_str(&created.detail).unwrap();
    assert_eq!(detail["files"].as_array().unwrap().len(), 6);

    // Her reply through the reply address brings its own file onto her reply.
    let notifier = palisade_mail::ReplyNotifier::new(
        w.store.clone(),
        w.threading.clone(),
        HashMap::from([(w.team.clone(), address(SUPPORT))]),
        "https://desk.test",
    );
    let mut tx = w.store.begin().await.unwrap();
    notifier
        .public_reply(
            &mut tx,
            &ticket,
            &UserId::generate(),
            "Which month?",
            palisade_mail::Delivery::Content,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let queued = w.store.claim_mail("test", 60).await.unwrap().unwrap();
    let mail: palisade_core::OutgoingMail = serde_json::from_slice(&queued.envelope).unwrap();
    let reply_to = mail.reply_to.unwrap();
    let answer = with_files(
        "ann@customer.test",
        "f2@customer.test",
        &[part(
            "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"march.pdf\"",
            PDF,
        )],
    )
    .replace(&format!("To: {SUPPORT}"), &format!("To: {reply_to}"));
    let r = w.send("127.0.0.2", "ann@customer.test", &reply_to, &answer).await;
    assert!(r.starts_with("250"), "{r}");
    let messages = common::messages(&w.store, &ticket).await;
    let reply = messages.last().unwrap();
    let kept = files(&w.store, &ticket).await;
    let on_reply: Vec<&str> = kept
        .iter()
        .filter(|f| f.record.message.as_ref() == Some(&reply.id))
        .map(|f| f.record.filename.as_str())
        .collect();
    assert_eq!(on_reply, ["attachment-1", "march.pdf"]);
}

async fn a_message_over_the_limits_is_refused_whole(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let tickets = w.store.count_rows("tickets").await.unwrap();
    let attachments = w.store.count_rows("attachments").await.unwrap();
    // One file too many (the inline image counts).
    let many: Vec<String> = (0..FILE_LIMITS.max_files)
        .map(|n| {
            part(
                &format!("Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"{n}.txt\""),
                b"x",
            )
        })
        .collect();
    let r = w
        .send(
            "127.0.0.2",
            "ann@customer.test",
            SUPPORT,
            &with_files("ann@customer.test", "l1@customer.test", &many),
        )
        .await;
    assert!(r.starts_with("552 5.3.4"), "{r}");
    // One file too large.
    let large = vec![part(
        "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"big.pdf\"",
        &vec![b'%'; FILE_LIMITS.max_file_bytes + 1],
    )];
    let r = w
        .send(
            "127.0.0.2",
            "ann@customer.test",
            SUPPORT,
            &with_files("ann@customer.test", "l2@customer.test", &large),
        )
        .await;
    assert!(r.starts_with("552 5.3.4"), "{r}");
    assert_eq!(w.store.count_rows("tickets").await.unwrap(), tickets);
    assert_eq!(w.store.count_rows("attachments").await.unwrap(), attachments);
    // Exactly at the limits, it is taken.
    let fits: Vec<String> = many.into_iter().take(FILE_LIMITS.max_files - 1).collect();
    let r = w
        .send(
            "127.0.0.2",
            "ann@customer.test",
            SUPPORT,
            &with_files("ann@customer.test", "l3@customer.test", &fits),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(
        w.store.count_rows("attachments").await.unwrap(),
        attachments + i64::try_from(FILE_LIMITS.max_files).unwrap()
    );
}

async fn a_held_messages_files_arrive_on_release(backend: Backend) {
    let w = MailWorld::start(backend).await;
    // Not authenticated for customer.test: held, and nothing of it on any ticket.
    let forged = with_files("Ann <ann@customer.test>", "h1@evil.test", &documents()[..1]);
    let r = w.send("127.0.0.66", "mallory@evil.test", SUPPORT, &forged).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(w.store.count_rows("attachments").await.unwrap(), 0);
    let held = w.store.held_mail(None, 10).await.unwrap();
    assert_eq!(held.len(), 1);

    let actor = w.reviewer().await;
    let policy = std::sync::Arc::new(PolicyEngine::load().unwrap());
    let inbound = palisade_mail::Inbound::new(w.store.clone(), policy.clone(), HashMap::new())
        .with_file_limits(FILE_LIMITS);
    let released = inbound.released_mail(&held[0].sealed).unwrap();
    assert_eq!(released.files.len(), 2, "the inline image and the PDF");
    let desk = palisade_service::Desk::new(w.store.clone(), policy);
    let done = desk
        .release_quarantined(&actor, &held[0].id, released)
        .await
        .unwrap();
    assert!(!done.ticket.requester_confirmed);
    let kept = files(&w.store, &done.ticket).await;
    let names: Vec<&str> = kept.iter().map(|f| f.record.filename.as_str()).collect();
    assert_eq!(names, ["attachment-1", "invoice.pdf"]);
    assert!(kept.iter().all(|f| f.record.uploader == done.requester.id));
}
