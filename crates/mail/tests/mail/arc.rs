//! ARC from trusted forwarders only: a forwarding service the operator trusts breaks
//! Bea's DKIM signature (it tags the subject) but seals what it verified; her mail
//! threads as authenticated. The same seal from an untrusted domain, a trusted seal
//! vouching for another domain than `From`, a message changed after the seal, and an
//! untrusted hop sealing on top of a trusted one all leave the message unauthenticated.

use crate::common;

use common::{MailWorld, SUPPORT, arc_forward as forward, arc_seal as seal, dkim_sign, message};
use mail_auth::AuthenticationResults;
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(only_trusted_forwarders_arc_seals_authenticate);

async fn only_trusted_forwarders_arc_seals_authenticate(backend: Backend) {
    let w = MailWorld::start_trusting(backend, &["lists.test"]).await;
    let last = |w: &MailWorld| {
        let store = w.store.clone();
        async move {
            let entries = store.audit_entries(0, 10_000).await.unwrap();
            let detail = entries
                .iter()
                .rev()
                .find(|e| e.action == "mail.received")
                .unwrap()
                .detail
                .clone();
            serde_json::from_str::<serde_json::Value>(&detail).unwrap()
        }
    };
    // Relayed by the forwarder from its own address; its envelope is its own.
    let relay = |data: String| {
        let port = w.port;
        async move { common::send(port, "127.0.0.77", "bounces@lists.test", SUPPORT, &data).await }
    };

    // Genuine: Bea's signed mail through the trusted list; the list broke the signature.
    let bea = dkim_sign(
        &w.signed_key,
        "signed.test",
        &message("Bea <bea@signed.test>", None, "b1@signed.test", "Invoice 77"),
        false,
    );
    let via_list = forward(&w, &bea, "lists.test", &w.lists_key).await;
    let r = relay(via_list.clone()).await;
    assert!(r.starts_with("250"), "{r}");
    let d = last(&w).await;
    assert_eq!(d["placement"], "new_ticket", "{d}");
    assert_eq!(d["verdict"]["authenticated"], "arc");
    assert_eq!(d["verdict"]["forwarder"], "lists.test");
    assert_eq!(d["verdict"]["domain"], "signed.test");

    // The same seal made by a domain nobody trusts: held.
    let bea2 = dkim_sign(
        &w.signed_key,
        "signed.test",
        &message("bea@signed.test", None, "b2@signed.test", "x"),
        false,
    );
    let r = relay(forward(&w, &bea2, "evil.test", &w.evil_key).await).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(last(&w).await["placement"], "quarantine");

    // The trusted list vouching for a signature of another domain than From: held.
    let mismatched = dkim_sign(
        &w.signed_key,
        "signed.test",
        &message("ann@customer.test", None, "m1@signed.test", "x"),
        false,
    );
    let r = relay(forward(&w, &mismatched, "lists.test", &w.lists_key).await).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(last(&w).await["placement"], "quarantine");

    // Changed after the trusted seal (the chain no longer verifies): held.
    let bea3 = dkim_sign(
        &w.signed_key,
        "signed.test",
        &message("bea@signed.test", None, "b3@signed.test", "pay the old account"),
        false,
    );
    let tampered = forward(&w, &bea3, "lists.test", &w.lists_key)
        .await
        .replace("pay the old account", "pay the NEW account");
    let r = relay(tampered).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(last(&w).await["placement"], "quarantine");

    // An untrusted hop sealing on top of the trusted set (it could have changed
    // anything): held, because every set above a trusted one must be trusted too.
    let bea4 = dkim_sign(
        &w.signed_key,
        "signed.test",
        &message("bea@signed.test", None, "b4@signed.test", "x"),
        false,
    );
    let trusted_first = forward(&w, &bea4, "lists.test", &w.lists_key).await;
    let resolver = common::resolver(&w);
    let evil_results = AuthenticationResults::new("evil.test");
    let resealed = seal(&resolver, &trusted_first, &evil_results, "evil.test", &w.evil_key).await;
    let r = relay(resealed).await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(last(&w).await["placement"], "quarantine");

    // Without the forwarder in the trusted list, even the genuine forward is held.
    let strict = MailWorld::start(backend).await;
    let via_list = forward(
        &strict,
        &bea.replace("b1@", "b5@"),
        "lists.test",
        &strict.lists_key,
    )
    .await;
    let r = common::send(
        strict.port,
        "127.0.0.77",
        "bounces@lists.test",
        SUPPORT,
        &via_list,
    )
    .await;
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(last(&strict).await["placement"], "quarantine");
}
