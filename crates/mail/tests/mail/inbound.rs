//! The Zendesk attack end to end, on SQLite and PostgreSQL: the real listener, the
//! sender verdict against dnsmasq, capability threading and durable placement. A
//! customer's first mail opens her ticket and her reply threads into it; the attacker —
//! authenticated for his own domain, holding her reply address, copying himself in —
//! gets a ticket of his own and nothing of hers; the attacker forging her address lands
//! in quarantine; a retransmission is stored once. A DKIM-signed message threads from
//! any relay, and the same signed message replayed by the attacker with an extra `Cc`
//! gains him nothing.

use crate::common;

use std::collections::HashMap;

use common::{MailWorld, SUPPORT, address, dkim_sign, message, send};
use palisade_core::{EmailAddress, TicketId, UserId};
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(
    the_zendesk_attack_fails_and_genuine_mail_threads,
    mail_from_a_disabled_accounts_address_is_refused_for_good,
    a_released_forgery_is_nobodys_until_the_address_answers_authenticated,
    new_mail_follows_the_team_an_administrator_routed_its_address_to
);

fn support() -> EmailAddress {
    address(SUPPORT)
}

/// The ticket the latest received message was placed in.
async fn last_received_ticket(store: &palisade_store::Store) -> TicketId {
    let entries = store.audit_entries(0, 10_000).await.unwrap();
    let id = entries
        .iter()
        .rev()
        .filter(|e| e.action == "mail.received")
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok())
        .find_map(|d| d["ticket"].as_str().map(str::to_owned))
        .expect("a received message");
    TicketId::parse(&id).unwrap()
}

/// The file routes the support address to its team; an administrator's route (stored,
/// read per message) sends new mail elsewhere without a restart, and removing it hands
/// the address back to the file's team.
async fn new_mail_follows_the_team_an_administrator_routed_its_address_to(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let mut tx = w.store.begin().await.unwrap();
    let billing = w.store.create_team(&mut tx, "Billing").await.unwrap();
    tx.commit().await.unwrap();
    let admin = UserId::parse("usr_AAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let route = |team: Option<palisade_core::TeamId>| {
        let store = w.store.clone();
        let admin = admin.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            store
                .put_mailbox_route(&mut tx, SUPPORT, team.as_ref(), &admin)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };

    route(Some(billing.clone())).await;
    let first = message("Ann <ann@customer.test>", None, "r1@customer.test", "My invoice");
    let r = w.send("127.0.0.2", "ann@customer.test", SUPPORT, &first).await;
    assert!(r.starts_with("250"), "{r}");
    let ticket = w
        .store
        .get_ticket(&last_received_ticket(&w.store).await)
        .await
        .unwrap();
    assert_eq!(ticket.team, billing, "the administrator's route");

    route(None).await;
    let second = message("Bob <bob@customer.test>", None, "r2@customer.test", "My order");
    let r = w.send("127.0.0.2", "bob@customer.test", SUPPORT, &second).await;
    assert!(r.starts_with("250"), "{r}");
    let ticket = w
        .store
        .get_ticket(&last_received_ticket(&w.store).await)
        .await
        .unwrap();
    assert_eq!(ticket.team, w.team, "back to the file's team");
}

async fn the_zendesk_attack_fails_and_genuine_mail_threads(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let (store, team, port, threading) = (w.store.clone(), w.team.clone(), w.port, w.threading.clone());
    let bea_key = w.signed_key.clone();

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
        "https://desk.test",
    );
    let mut tx = store.begin().await.unwrap();
    let agent = UserId::generate();
    assert_eq!(
        notifier
            .public_reply(
                &mut tx,
                &store.get_ticket(&ticket_id).await.unwrap(),
                &agent,
                "On its way",
                palisade_mail::Delivery::Content,
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
    let messages = crate::common::messages(&store, &store.get_ticket(&ticket_id).await.unwrap()).await;
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
        crate::common::messages(&store, &ticket).await.len(),
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
    let held = store.held_mail(None, 10).await.unwrap();
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
    let signed = dkim_sign(&bea_key, "signed.test", &unsigned, false);
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
    assert_eq!(crate::common::messages(&store, &bea_ticket).await.len(), 1);

    // The agent answers Bea; her DKIM-signed reply, relayed again from an address no
    // SPF record names, threads into her ticket as her public reply.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        notifier
            .public_reply(
                &mut tx,
                &bea_ticket,
                &agent,
                "Corrected invoice attached",
                palisade_mail::Delivery::Content
            )
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let queued = store.claim_mail("test", 60).await.unwrap().unwrap();
    let mail: palisade_core::OutgoingMail = serde_json::from_slice(&queued.envelope).unwrap();
    assert_eq!(mail.to, "bea@signed.test");
    let bea_reply_to = mail.reply_to.unwrap();
    let answer = format!(
        "From: Bea <bea@signed.test>\r\nTo: {bea_reply_to}\r\nSubject: Re: Order 1234\r\n\
         Message-ID: <b2@signed.test>\r\n\r\nThank you, that is right now.\r\n"
    );
    let signed_answer = dkim_sign(&bea_key, "signed.test", &answer, false);
    let r = send(
        port,
        "127.0.0.50",
        "bounces@relay.test",
        &bea_reply_to,
        &signed_answer,
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    let last: serde_json::Value = store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .rev()
        .find(|e| e.action == "mail.received")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .unwrap();
    assert_eq!(last["placement"], "reply");
    assert_eq!(last["verdict"]["authenticated"], "dkim");
    let messages = crate::common::messages(&store, &bea_ticket).await;
    assert_eq!(messages.len(), 2, "Bea's first mail and her signed reply");
    assert_eq!(messages[1].author, bea_ticket.requester);

    // Quarantined mail and message bodies are not readable in the database.
    let dump = String::from_utf8_lossy(&w.db.raw_dump().await.unwrap()).into_owned();
    assert!(!dump.contains("send the invoice to me") && !dump.contains("Thanks, order 1234 please"));
}

/// A permanent failure is answered as one: mail authenticated for a disabled account's
/// address can neither write as that account nor open a new one, so it gets a 5xx and
/// the sender stops, instead of 451 and retries until its queue gives up.
async fn mail_from_a_disabled_accounts_address_is_refused_for_good(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let first = message("Ann <ann@customer.test>", None, "d1@customer.test", "Hello");
    let r = w.send("127.0.0.2", "ann@customer.test", SUPPORT, &first).await;
    assert!(r.starts_with("250"), "{r}");
    let ann = w
        .store
        .find_user_by_email(&address("ann@customer.test"))
        .await
        .unwrap()
        .unwrap();
    let mut tx = w.store.begin().await.unwrap();
    w.store.set_user_disabled(&mut tx, &ann.id, true).await.unwrap();
    tx.commit().await.unwrap();
    let messages_before = w.store.count_rows("messages").await.unwrap();
    let again = message("Ann <ann@customer.test>", None, "d2@customer.test", "Hello again");
    let r = w.send("127.0.0.2", "ann@customer.test", SUPPORT, &again).await;
    assert!(r.starts_with("550"), "refused for good, not deferred: {r}");
    assert_eq!(w.store.count_rows("messages").await.unwrap(), messages_before);
}

/// A forgery an agent releases names Ann only because Mallory typed her address: the
/// ticket is not hers (not in her portal) until she proves the address is hers. A reply
/// Mallory forges to the reply address proves nothing (quarantined); Ann's own
/// authenticated answer through the reply address mailed to her confirms it.
async fn a_released_forgery_is_nobodys_until_the_address_answers_authenticated(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let first = message("Ann <ann@customer.test>", None, "r0@customer.test", "Hello");
    assert!(
        w.send("127.0.0.2", "ann@customer.test", SUPPORT, &first)
            .await
            .starts_with("250")
    );
    let forged = message(
        "Ann <ann@customer.test>",
        None,
        "r1@evil.test",
        "Please send my statements to this new address",
    );
    let r = w.send("127.0.0.66", "mallory@evil.test", SUPPORT, &forged).await;
    assert!(r.starts_with("250"), "{r}");
    let held = w.store.held_mail(None, 10).await.unwrap();
    assert_eq!(held.len(), 1);

    let reviewer = w.reviewer().await;
    let policy = std::sync::Arc::new(palisade_policy::PolicyEngine::load().unwrap());
    let inbound = palisade_mail::Inbound::new(w.store.clone(), policy.clone(), HashMap::new());
    let desk = palisade_service::Desk::new(w.store.clone(), policy);
    let released = desk
        .release_quarantined(
            &reviewer,
            &held[0].id,
            inbound.released_mail(&held[0].sealed).unwrap(),
        )
        .await
        .unwrap();
    let released_id = released.ticket.id.clone();
    let ann = w
        .store
        .find_user_by_email(&address("ann@customer.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(released.requester.id, ann.id);
    let ticket = w.store.get_ticket(&released_id).await.unwrap();
    assert!(!ticket.requester_confirmed, "a released forgery is not Ann's");
    let ann_scope = palisade_store::TicketScope::Customer {
        user: ann.id.clone(),
        shared_company: None,
    };
    let listed = |page: palisade_store::Page<palisade_store::TicketRecord>| {
        page.items.iter().any(|t| t.id == released_id)
    };
    assert!(!listed(
        w.store.list_tickets(&ann_scope, None, None, 100).await.unwrap()
    ));

    // The agent answers by mail: only the address's owner receives the reply address.
    let notifier = palisade_mail::ReplyNotifier::new(
        w.store.clone(),
        w.threading.clone(),
        HashMap::from([(w.team.clone(), support())]),
        "https://desk.test",
    );
    let mut tx = w.store.begin().await.unwrap();
    notifier
        .public_reply(
            &mut tx,
            &ticket,
            &reviewer.principal.user_id,
            "Can you confirm this was you?",
            palisade_mail::Delivery::Content,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let queued = w.store.claim_mail("test", 60).await.unwrap().unwrap();
    let mail: palisade_core::OutgoingMail = serde_json::from_slice(&queued.envelope).unwrap();
    assert_eq!(mail.to, "ann@customer.test");
    let reply_to = mail.reply_to.unwrap();

    // Mallory, who saw none of that, forges Ann's answer to the same reply address (say
    // he guessed it): unauthenticated, so it is held and confirms nothing.
    let forged_answer = message("ann@customer.test", None, "r2@evil.test", "Yes it was me");
    let r = w
        .send("127.0.0.66", "mallory@evil.test", &reply_to, &forged_answer)
        .await;
    assert!(r.starts_with("250"), "{r}");
    assert!(
        !w.store
            .get_ticket(&released_id)
            .await
            .unwrap()
            .requester_confirmed
    );

    // Ann answers, authenticated: her reply threads and the ticket becomes hers.
    let answer = message("ann@customer.test", None, "r3@customer.test", "Yes, that was me");
    let r = w.send("127.0.0.2", "ann@customer.test", &reply_to, &answer).await;
    assert!(r.starts_with("250"), "{r}");
    let ticket = w.store.get_ticket(&released_id).await.unwrap();
    assert!(ticket.requester_confirmed);
    assert!(listed(
        w.store.list_tickets(&ann_scope, None, None, 100).await.unwrap()
    ));
    let messages = crate::common::messages(&w.store, &ticket).await;
    assert_eq!(messages.last().unwrap().author, ann.id);
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "ticket.requester_confirmed" && e.object == released_id.to_string())
    );
}
