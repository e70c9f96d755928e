//! The "Composition Kills" (USENIX Security 2020) attack classes against the real
//! listener, one transaction each, the attacker sending from his own address
//! (127.0.0.66, `evil.test`) and trying to pass as Ann (`customer.test`):
//! ambiguous `From` fields, ambiguous addresses, identities smuggled into
//! `MAIL FROM`, misaligned or length-limited DKIM, injected `Authentication-Results`,
//! and mail claiming the organisation's own domain. Every case is refused at SMTP or
//! held in quarantine; none reaches a ticket as Ann, and Ann never gets an account.

use crate::common;

use common::{MailWorld, SUPPORT, address, dkim_sign, message};
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(every_attack_class_is_refused_or_held);

#[derive(Debug)]
enum Expect {
    /// Refused at SMTP with this reply code; nothing stored.
    Refused(&'static str),
    /// Accepted into quarantine (not authenticated as the `From` it claims).
    Held,
    /// Accepted as what it is: the attacker's own new ticket.
    AttackersOwnTicket,
}

const ATTACKER_IP: &str = "127.0.0.66";
const ATTACKER: &str = "eve@evil.test";

fn with_headers(headers: &str) -> String {
    format!(
        "{headers}To: {SUPPORT}\r\nSubject: Change my bank details\r\nMessage-ID: <{}@evil.test>\r\n\r\nPlease pay into the new account.\r\n",
        rand_id()
    )
}

fn rand_id() -> String {
    hex::encode(palisade_crypto::random_bytes::<8>().unwrap())
}

async fn every_attack_class_is_refused_or_held(backend: Backend) {
    let w = MailWorld::start(backend).await;
    let ann_forged = message(
        "Ann <ann@customer.test>",
        None,
        "f1@evil.test",
        "new bank details",
    );
    let evil_signed_as_ann = dkim_sign(&w.evil_key, "evil.test", &ann_forged, false);
    let signed_with_limit = dkim_sign(
        &w.signed_key,
        "signed.test",
        &message("Bea <bea@signed.test>", None, "l1@signed.test", "Hello"),
        true,
    );
    let appended = format!("{signed_with_limit}\r\nP.S. pay into the account below instead.\r\n");

    let cases: Vec<(&str, &str, String, Expect)> = vec![
        // Ambiguous From fields: which one would a mail client show?
        (
            "two From fields",
            ATTACKER,
            with_headers("From: eve@evil.test\r\nFrom: ann@customer.test\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a second From in another case",
            ATTACKER,
            with_headers("From: eve@evil.test\r\nfrom: ann@customer.test\r\n"),
            Expect::Refused("550"),
        ),
        (
            "space before the colon",
            ATTACKER,
            with_headers("From: eve@evil.test\r\nFrom : ann@customer.test\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a From folded onto a continuation line",
            ATTACKER,
            with_headers("From: eve@evil.test\r\n From: ann@customer.test\r\n"),
            Expect::Refused("550"),
        ),
        (
            "no From, only Sender",
            ATTACKER,
            with_headers("Sender: ann@customer.test\r\n"),
            Expect::Refused("550"),
        ),
        // Ambiguous addresses inside one From.
        (
            "an address list",
            ATTACKER,
            with_headers("From: eve@evil.test, ann@customer.test\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a group",
            ATTACKER,
            with_headers("From: friends: ann@customer.test, eve@evil.test;\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a source route",
            ATTACKER,
            with_headers("From: <@evil.test:ann@customer.test>\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a comment hiding the real domain",
            ATTACKER,
            with_headers("From: ann@customer.test(.evil.test)\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a quoted local part with an @",
            ATTACKER,
            with_headers("From: \"ann@customer.test\"@evil.test\r\n"),
            Expect::Refused("550"),
        ),
        (
            "an encoded word in the address",
            ATTACKER,
            with_headers("From: <=?utf-8?B?YW5uQGN1c3RvbWVyLnRlc3Q=?=>\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a homograph (Cyrillic s) in the domain",
            ATTACKER,
            with_headers("From: ann@cu\u{0455}tomer.test\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a domain literal",
            ATTACKER,
            with_headers("From: ann@[127.0.0.2]\r\n"),
            Expect::Refused("550"),
        ),
        (
            "a NUL cutting the address",
            ATTACKER,
            with_headers("From: ann@customer.test\0<eve@evil.test>\r\n"),
            // A NUL breaks the framing: refused and the connection closed.
            Expect::Refused("554"),
        ),
        // Identities smuggled into the envelope, so SPF checks one domain and a report
        // names another.
        (
            "a comment in MAIL FROM",
            "ann@customer.test(.evil.test)",
            ann_forged.clone(),
            Expect::Refused("5"),
        ),
        (
            "a quoted MAIL FROM",
            "\"ann@customer.test\"@evil.test",
            ann_forged.clone(),
            Expect::Refused("5"),
        ),
        (
            "a source route in MAIL FROM",
            "@evil.test:ann@customer.test",
            ann_forged.clone(),
            Expect::Refused("5"),
        ),
        // Authentication that passes, but for somebody else.
        (
            "SPF passes for the attacker's envelope only",
            ATTACKER,
            message("Ann <ann@customer.test>", None, "f2@evil.test", "x"),
            Expect::Held,
        ),
        (
            "a Sender field naming the attacker",
            ATTACKER,
            format!(
                "Sender: eve@evil.test\r\n{}",
                message("ann@customer.test", None, "f3@evil.test", "x")
            ),
            Expect::Held,
        ),
        (
            "a non-existent subdomain of Ann's domain as envelope sender",
            "bounce@nx.customer.test",
            message("ann@customer.test", None, "f4@evil.test", "x"),
            Expect::Held,
        ),
        (
            "the null sender (SPF falls back to the HELO name)",
            "",
            message("ann@customer.test", None, "f5@evil.test", "x"),
            Expect::Held,
        ),
        (
            "a DKIM signature by the attacker's domain",
            ATTACKER,
            evil_signed_as_ann,
            Expect::Held,
        ),
        (
            "a length-limited DKIM signature with text appended",
            ATTACKER,
            appended,
            Expect::Held,
        ),
        (
            "forged Authentication-Results and ARC results",
            ATTACKER,
            format!(
                "Authentication-Results: mx.desk.test; dkim=pass header.d=customer.test; dmarc=pass header.from=customer.test\r\n\
                 ARC-Authentication-Results: i=1; mx.desk.test; dmarc=pass header.from=customer.test\r\n{}",
                message("ann@customer.test", None, "f6@evil.test", "x")
            ),
            Expect::Held,
        ),
        // A display name made to look like Ann's address: the address decides.
        (
            "a display name that is an address",
            ATTACKER,
            message("\"ann@customer.test\" <eve@evil.test>", None, "f7@evil.test", "x"),
            Expect::AttackersOwnTicket,
        ),
        // The organisation's own domain from outside: refused outright.
        (
            "the organisation's own domain in From",
            ATTACKER,
            message("Payroll <payroll@desk.test>", None, "f8@evil.test", "x"),
            Expect::Refused("550"),
        ),
        (
            "a subdomain of the organisation's domain in From",
            ATTACKER,
            message("it@mail.desk.test", None, "f9@evil.test", "x"),
            Expect::Refused("550"),
        ),
        (
            "the organisation's domain as envelope sender",
            "payroll@desk.test",
            message("ann@customer.test", None, "f10@evil.test", "x"),
            Expect::Refused("550"),
        ),
    ];

    for (name, mail_from, data, expect) in &cases {
        let before = w.received().await.len();
        let reply = w.send(ATTACKER_IP, mail_from, SUPPORT, data).await;
        let after = w.received().await;
        match expect {
            Expect::Refused(code) => {
                assert!(reply.starts_with(code), "{name}: expected {code}, got {reply}");
                assert_eq!(after.len(), before, "{name}: a refused message was stored");
            }
            Expect::Held => {
                assert!(reply.starts_with("250"), "{name}: {reply}");
                assert_eq!(after.len(), before + 1, "{name}");
                assert_eq!(after[before]["placement"], "quarantine", "{name}");
                assert_eq!(after[before]["verdict"]["authenticated"], false, "{name}");
            }
            Expect::AttackersOwnTicket => {
                assert!(reply.starts_with("250"), "{name}: {reply}");
                assert_eq!(after[before]["placement"], "new_ticket", "{name}");
                assert_eq!(after[before]["verdict"]["authenticated"], "spf", "{name}");
            }
        }
    }
    // The refusal says why, for the sending side's postmaster.
    let own = w
        .send(
            ATTACKER_IP,
            ATTACKER,
            SUPPORT,
            &message("payroll@desk.test", None, "g1@evil.test", "x"),
        )
        .await;
    assert!(own.starts_with("550 5.7.1"), "{own}");

    // Ann never got an account or a ticket out of any of it; the one ticket is Eve's.
    let ann = w
        .store
        .find_user_by_email(&address("ann@customer.test"))
        .await
        .unwrap();
    assert!(ann.is_none(), "a forged message created an account for Ann");
    let eve = w
        .store
        .find_user_by_email(&address(ATTACKER))
        .await
        .unwrap()
        .unwrap();
    let tickets: Vec<_> = w
        .received()
        .await
        .iter()
        .filter_map(|d| d["ticket"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(tickets.len(), 1);
    let ticket = w
        .store
        .get_ticket(&palisade_core::TicketId::parse(&tickets[0]).unwrap())
        .await
        .unwrap();
    assert_eq!(ticket.requester, eve.id);
    let held = w.held().await;
    assert_eq!(held.len(), 7);
    assert!(held.iter().all(|h| h["verdict"]["authenticated"] == false));
}
