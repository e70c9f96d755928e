//! Agents' public replies reach the ticket's customers by mail, each with their own
//! capability reply address, on SQLite and PostgreSQL; internal notes and customers'
//! own messages send nothing, and the reply address leads back to the right ticket
//! and participant only.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use common::World;
use palisade_core::{EmailAddress, OutgoingMail, TicketId};
use palisade_mail::{MAIL_TICKET_REPLY, Recipient, ReplyKeys, ReplyNotifier, Threading};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    agents_public_replies_are_mailed_with_each_participants_reply_address,
    secure_delivery_mails_a_sign_in_link_and_never_the_reply,
    a_replys_clean_files_go_with_its_mail_and_nothing_else_does
);

/// The ticket mail queued so far: the dispatcher hands the recorded events to the
/// notifier first, as `serve`'s loop would.
async fn queued(w: &World) -> Vec<OutgoingMail> {
    w.dispatch().await;
    let mut out = Vec::new();
    while let Some(claimed) = w.store.claim_mail("test-reader", 60).await.unwrap() {
        if claimed.kind == MAIL_TICKET_REPLY {
            out.push(serde_json::from_slice(&claimed.envelope).unwrap());
        }
    }
    out
}

/// `w` with ticket mail for team A turned on (as `serve` does with a mailbox), and
/// the threading that resolves its reply addresses.
async fn with_ticket_mail_on(w: World) -> (World, Arc<Threading>) {
    let support = EmailAddress::parse("support@desk.test").unwrap();
    let threading = Arc::new(Threading::new(
        w.store.clone(),
        ReplyKeys::default(),
        vec![support.clone()],
    ));
    let notifier = ReplyNotifier::new(
        w.store.clone(),
        threading.clone(),
        HashMap::from([(w.team_a.clone(), support)]),
        "https://desk.test",
    )
    .with_scanning(w.state.config.scanner.is_some());
    (w.with_notifier(Arc::new(notifier)).await, threading)
}

async fn with_ticket_mail(backend: Backend) -> World {
    with_ticket_mail_on(World::new(backend).await).await.0
}

async fn a_replys_clean_files_go_with_its_mail_and_nothing_else_does(backend: Backend) {
    use palisade_testkit::clamd::{Clamd, EICAR};
    let clamd = Clamd::start().await.unwrap();
    let scanner = palisade_scan::Scanner::new(
        palisade_scan::Endpoint::parse(&clamd.endpoint).unwrap(),
        std::time::Duration::from_secs(30),
    );
    let w = World::new(backend)
        .await
        .with_config(|c| c.scanner = Some(scanner));
    let (w, _) = with_ticket_mail_on(w).await;
    let ticket = w.ticket_1.clone();
    let upload = |who: &common::Actor, name: &str, content: &[u8]| {
        let (who, name, content) = (who.clone(), name.to_owned(), content.to_vec());
        let w = &w;
        let ticket = ticket.clone();
        async move {
            let r = w
                .raw(
                    Some(&who),
                    "POST",
                    &format!("/api/v1/tickets/{ticket}/attachments?filename={name}"),
                    axum::body::Body::from(content),
                    &[("content-type", "application/octet-stream")],
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let statement = upload(&w.agent_a, "statement.pdf", b"%PDF-1.4 the statement").await;
    let infected = upload(&w.agent_a, "tool.txt", EICAR).await;
    let customers = upload(&w.customer_1, "mine.txt", b"customer's own").await;
    // The page offers the agent's own unsent files, not the customer's.
    let page = w.get(&w.agent_a, &format!("/tickets/{ticket}")).await.text();
    assert!(
        page.contains(&format!("value=\"{statement}\"")) && !page.contains(&format!("value=\"{customers}\""))
    );

    let messages = format!("/api/v1/tickets/{ticket}/messages");
    // Someone else's file, or one that does not exist, cannot go with a reply.
    for other in [customers.clone(), "att_AAAAAAAAAAAAAAAAAAAAAA".to_owned()] {
        let r = w
            .json(
                &w.agent_a,
                "POST",
                &messages,
                json!({ "body": "x", "visibility": "public", "attachment_ids": [other] }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    }
    assert!(queued(&w).await.is_empty(), "a refused reply sends nothing");

    let r = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            json!({ "body": "Your statement", "visibility": "public", "attachment_ids": [statement, infected] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let mail = queued(&w).await;
    assert_eq!(mail.len(), 1);
    let names: Vec<&str> = mail[0].files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["statement.pdf"]);
    assert_eq!(mail[0].files[0].content, b"%PDF-1.4 the statement");
    assert!(
        mail[0]
            .text
            .contains("1 file sent with this reply is not attached"),
        "{}",
        mail[0].text
    );
    assert!(!mail[0].files.iter().any(|f| f.content == EICAR));
    // Sent once: the same file cannot go with another message.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            json!({ "body": "again", "visibility": "public", "attachment_ids": [statement] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

async fn secure_delivery_mails_a_sign_in_link_and_never_the_reply(backend: Backend) {
    let w = with_ticket_mail(backend).await;
    let messages = format!("/api/v1/tickets/{}/messages", w.ticket_1);
    let link = format!("https://desk.test/tickets/{}", w.ticket_1);
    let reply =
        |body: &str, secure: bool| json!({ "body": body, "visibility": "public", "secure_delivery": secure });

    // An ordinary reply: text, and the same text as escaped HTML (multipart/alternative).
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            reply("Use <b>this</b> & that", false),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let mail = queued(&w).await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].text.contains("Use <b>this</b> & that"));
    let html = mail[0].html.as_deref().unwrap();
    assert!(html.contains("Use &lt;b&gt;this&lt;/b&gt; &amp; that"), "{html}");

    // One reply delivered securely at the agent's choice: a link, nothing of the reply.
    let secret = "Your new IBAN on file ends 4242";
    let r = w.json(&w.agent_a, "POST", &messages, reply(secret, true)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let mail = queued(&w).await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].text.contains(&link), "{}", mail[0].text);
    assert!(!mail[0].text.contains("4242") && mail[0].html.is_none());
    // The ticket's subject is the customer's words too: not in a secure notice.
    let subject = w
        .store
        .get_ticket(&TicketId::parse(&w.ticket_1).unwrap())
        .await
        .unwrap()
        .subject;
    assert!(!mail[0].subject.contains(&subject), "{}", mail[0].subject);
    // The reply itself is on the ticket, for the customer once signed in.
    let thread = w.get(&w.customer_1, &messages).await.text();
    assert!(thread.contains(secret));

    // An internal note is never mailed, so it cannot ask for secure delivery.
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            json!({ "body": "n", "visibility": "internal", "secure_delivery": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // The team's setting: administrators only, and then every reply is secure, whatever
    // the agent asks.
    let team = format!("/api/v1/teams/{}", w.team_a);
    let r = w
        .json(&w.agent_a, "PATCH", &team, json!({ "secure_delivery": true }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .json(&w.admin, "PATCH", &team, json!({ "secure_delivery": true }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["secure_delivery"], true);
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            reply("Account closed on Monday", false),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mail = queued(&w).await;
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].text.contains(&link) && !mail[0].text.contains("Monday"),
        "{}",
        mail[0].text
    );
    // The page tells the agent, instead of offering a choice.
    let page = w
        .get(&w.agent_a, &format!("/tickets/{}", w.ticket_1))
        .await
        .text();
    assert!(page.contains("always delivered securely"));
    assert!(!page.contains("name=\"secure_delivery\""));
    // The change is audited.
    let audited = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        audited
            .iter()
            .any(|e| e.action == "directory.team_updated" && e.detail.contains("\"secure_delivery\":true"))
    );
}

async fn agents_public_replies_are_mailed_with_each_participants_reply_address(backend: Backend) {
    let (w, threading) = with_ticket_mail_on(World::new(backend).await).await;
    let ticket = TicketId::parse(&w.ticket_1).unwrap();
    let path = format!("/api/v1/tickets/{}/collaborators", w.ticket_1);
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &path,
            json!({ "user_id": w.customer_2.id.to_string() }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let messages = format!("/api/v1/tickets/{}/messages", w.ticket_1);
    let note = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            json!({ "body": "internal only", "visibility": "internal" }),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    let own = w
        .json(
            &w.customer_1,
            "POST",
            &messages,
            json!({ "body": "any news?", "visibility": "public" }),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED);
    assert!(
        queued(&w).await.is_empty(),
        "notes and customers' own messages send nothing"
    );

    let reply = w
        .json(
            &w.agent_a,
            "POST",
            &messages,
            json!({ "body": "It ships today.", "visibility": "public" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let mails = queued(&w).await;
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        ["c1@sharing.test", "c2@sharing.test"],
        "requester and collaborator"
    );
    for mail in &mails {
        assert!(mail.text.starts_with("It ships today."));
        let reply_to = EmailAddress::parse(mail.reply_to.as_deref().unwrap()).unwrap();
        assert!(mail.message_id.as_deref().unwrap().starts_with('r'));
        let Recipient::Reply { capability, .. } = threading.recipient(&reply_to).await.unwrap() else {
            panic!("{reply_to:?} does not lead back");
        };
        assert_eq!(capability.ticket, ticket);
        let participant = w.store.get_user(&capability.participant).await.unwrap();
        assert_eq!(participant.email.as_str(), mail.to, "each gets their own address");
    }
    assert_ne!(mails[0].reply_to, mails[1].reply_to);
}
