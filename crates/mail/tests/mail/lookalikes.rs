//! Lookalike sender domains are flagged for agents, never trusted and never learnt:
//! a domain one edit from the organisation's own, or spelling a known customer's
//! domain with confusable characters, gets its ticket tagged (or its quarantine
//! record marked) with the domain it imitates; genuine customers are not flagged, and
//! the organisation's own authenticated mail is not refused.

use crate::common;

use common::{MailWorld, SUPPORT, message};
use palisade_core::TicketId;
use palisade_mail::LOOKALIKE_TAG;
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(lookalike_senders_are_flagged_and_genuine_ones_are_not);

async fn lookalike_senders_are_flagged_and_genuine_ones_are_not(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let tags_of = |detail: &serde_json::Value| {
        let id = TicketId::parse(detail["ticket"].as_str().unwrap()).unwrap();
        let store = w.store.clone();
        async move {
            store
                .get_ticket(&id)
                .await
                .unwrap()
                .tags
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };

    // Ann, a genuine customer: not flagged, and her domain becomes a known one.
    let r = w
        .send(
            "127.0.0.2",
            "ann@customer.test",
            SUPPORT,
            &message("ann@customer.test", None, "a1@customer.test", "hi"),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    let received = w.received().await;
    assert!(received[0]["lookalike"].is_null());
    assert!(tags_of(&received[0]).await.is_empty());

    // A colleague at the organisation's own domain, authenticated: taken, not refused.
    let r = w
        .send(
            "127.0.0.10",
            "it@desk.test",
            SUPPORT,
            &message("it@desk.test", None, "i1@desk.test", "printer"),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");

    // Authenticated mail from "cust0mer.test" (zero for o): its own ticket, tagged, and
    // the audit record names the domain it imitates.
    let r = w
        .send(
            "127.0.0.66",
            "ann@cust0mer.test",
            SUPPORT,
            &message(
                "Ann <ann@cust0mer.test>",
                None,
                "c1@cust0mer.test",
                "new bank details",
            ),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    let received = w.received().await;
    let flagged = &received[2];
    assert_eq!(flagged["placement"], "new_ticket");
    assert_eq!(flagged["lookalike"]["domain"], "cust0mer.test");
    assert_eq!(flagged["lookalike"]["resembles"], "customer.test");
    assert_eq!(flagged["lookalike"]["reason"], "confusable_characters");
    assert_eq!(tags_of(flagged).await, [LOOKALIKE_TAG]);
    // The message itself carries its verdict and the flag, for agents.
    let ticket = w
        .store
        .get_ticket(&TicketId::parse(flagged["ticket"].as_str().unwrap()).unwrap())
        .await
        .unwrap();
    let first = crate::common::messages(&w.store, &ticket).await[0].id.clone();
    let provenance = w
        .store
        .mail_provenance(std::slice::from_ref(&first))
        .await
        .unwrap();
    let verdict: serde_json::Value = serde_json::from_slice(&provenance[&first]).unwrap();
    assert_eq!(verdict["authenticated"], "spf");
    assert_eq!(verdict["domain"], "cust0mer.test");
    assert_eq!(verdict["lookalike"]["resembles"], "customer.test");

    // One edit from the organisation's own domain, not authenticated: held, and the
    // quarantine record says what it imitates.
    let r = w
        .send(
            "127.0.0.99",
            "payroll@dessk.test",
            SUPPORT,
            &message("payroll@dessk.test", None, "d1@dessk.test", "x"),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    let held = w.held().await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["lookalike"]["resembles"], "desk.test");
    assert_eq!(held[0]["lookalike"]["reason"], "edit_distance");

    // A lookalike never becomes a known domain: the genuine customer's next mail is
    // still unflagged, and the lookalike is flagged again.
    let known = w.store.known_domains(100).await.unwrap();
    assert!(known.contains(&"customer.test".to_owned()));
    assert!(!known.contains(&"cust0mer.test".to_owned()));
    let r = w
        .send(
            "127.0.0.2",
            "ann@customer.test",
            SUPPORT,
            &message("ann@customer.test", None, "a2@customer.test", "again"),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    let r = w
        .send(
            "127.0.0.66",
            "ann@cust0mer.test",
            SUPPORT,
            &message("ann@cust0mer.test", None, "c2@cust0mer.test", "again"),
        )
        .await;
    assert!(r.starts_with("250"), "{r}");
    let received = w.received().await;
    assert!(received[4]["lookalike"].is_null());
    assert_eq!(received[5]["lookalike"]["resembles"], "customer.test");
}
