//! HTML mail is shown sanitised, on SQLite and PostgreSQL: a message with only an HTML
//! body keeps it (sealed) beside its text, and the desk hands it out through the one
//! allow-list — no script, style or form, remote images replaced by the placeholder,
//! the message's own inline image pointing at its file, links to this server removed.
//! A message that also has a plain-text part is shown as that text.

use crate::common;

use base64::Engine as _;
use common::{MailWorld, SUPPORT};
use palisade_service::Desk;
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(html_only_mail_is_shown_sanitised);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

const HTML: &str = "<html><head><style>p{display:none}</style><script>steal()</script></head><body>\
    <p onclick=\"x()\">Your <b>refund</b> is ready.</p>\
    <p><a href=\"https://bank.test.evil.test/login\">https://bank.test/login</a></p>\
    <p><a href=\"/tickets/close-all\">close</a></p>\
    <img src=\"https://tracker.evil.test/open.gif?who=agent\" alt=\"pixel\">\
    <img src=\"cid:logo@customer.test\" alt=\"logo\">\
    <form action=\"https://evil.test/\"><input name=\"password\"></form></body></html>";

fn html_mail(message_id: &str, with_text: bool) -> String {
    let text = if with_text {
        "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour refund is ready (text).\r\n"
    } else {
        ""
    };
    format!(
        "From: Ann <ann@customer.test>\r\nTo: {SUPPORT}\r\nSubject: Refund\r\nMessage-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n{text}\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{HTML}\r\n--alt--\r\n\
         --rel\r\nContent-Type: image/png\r\nContent-ID: <logo@customer.test>\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --rel--\r\n",
        base64::engine::general_purpose::STANDARD.encode(PNG)
    )
}

async fn html_only_mail_is_shown_sanitised(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let reviewer = w.reviewer().await;
    let desk = Desk::new(
        w.store.clone(),
        std::sync::Arc::new(palisade_policy::PolicyEngine::load().unwrap()),
    );
    for (n, with_text) in [(1, false), (2, true)] {
        let r = w
            .send(
                "127.0.0.2",
                "ann@customer.test",
                SUPPORT,
                &html_mail(&format!("h{n}@customer.test"), with_text),
            )
            .await;
        assert!(r.starts_with("250"), "{r}");
    }
    let tickets: Vec<String> = w
        .received()
        .await
        .iter()
        .filter_map(|d| d["ticket"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(tickets.len(), 2);

    let detail = desk.ticket_detail(&reviewer, &tickets[0]).await.unwrap();
    let message = &detail.messages[0];
    let html = detail
        .html
        .get(&message.id)
        .expect("the HTML is kept for an HTML-only message");
    // The text stays the text (search, mail, the API's `body`).
    assert!(message.body.contains("refund is ready"), "{}", message.body);
    for banned in [
        "<script",
        "steal()",
        "<style",
        "display:none",
        "onclick",
        "<form",
        "<input",
        "tracker.evil.test",
        "/tickets/close-all",
        "cid:",
    ] {
        assert!(!html.contains(banned), "{banned} survived: {html}");
    }
    assert!(html.contains("<b>refund</b>"), "{html}");
    assert!(
        html.contains(r#"href="https://bank.test.evil.test/login""#),
        "{html}"
    );
    assert!(html.contains(palisade_html::REMOTE_IMAGE_PLACEHOLDER));
    let logo = detail
        .attachments
        .iter()
        .find(|a| a.content_id.is_some())
        .unwrap();
    assert!(
        html.contains(&format!(r#"src="/api/v1/attachments/{}""#, logo.id)),
        "{html}"
    );
    // Kept sealed, like the rest of the message.
    let dump = w.db.raw_dump().await.unwrap();
    assert!(
        !dump
            .windows(b"bank.test.evil.test".len())
            .any(|x| x == b"bank.test.evil.test")
    );

    // With a plain-text alternative, the text is what is shown.
    let detail = desk.ticket_detail(&reviewer, &tickets[1]).await.unwrap();
    assert!(detail.html.is_empty());
    assert_eq!(detail.messages[0].body.trim(), "Your refund is ready (text).");
}
