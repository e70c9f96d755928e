//! Reviewing quarantined mail, on SQLite and PostgreSQL: only the team's agents and
//! supervisors see it (others get the same 404 as for a missing item); releasing makes
//! a tagged ticket whose page warns staff; a decision is final and audited.

use crate::common;

use axum::http::StatusCode;
use common::World;
use palisade_core::TicketId;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(the_teams_agents_review_quarantined_mail_and_decisions_are_final);

async fn the_teams_agents_review_quarantined_mail_and_decisions_are_final(backend: Backend) {
    let w = World::new(backend).await;
    let item = format!("/api/v1/quarantine/{}", w.quarantined);
    // Team A's agent sees it, with why it is held; team B's agent and customers do not.
    let list = w.get(&w.agent_a, "/api/v1/quarantine").await.json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["from"], "c3@private.test");
    assert_eq!(list[0]["subject"], "Please change my bank details");
    assert_eq!(list[0]["verdict"]["authenticated"], false);
    assert!(list[0]["raw"].is_null(), "lists carry no message bodies");
    for outsider in [&w.agent_b, &w.customer_3, &w.light_a, &w.auditor] {
        assert_eq!(w.get(outsider, "/api/v1/quarantine").await.json(), json!([]));
        let r = w.get(outsider, &item).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let missing = w
            .get(outsider, "/api/v1/quarantine/qua_000000000000000000000000")
            .await;
        assert_eq!(missing.body, r.body, "refused looks like missing");
        let r = w
            .json(outsider, "POST", &format!("{item}/release"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    let detail = w.get(&w.agent_a, &item).await;
    assert!(detail.json()["raw"].as_str().unwrap().contains("New IBAN below."));

    // Released: a ticket for the address in From, tagged and flagged for staff.
    let r = w
        .json(&w.agent_a, "POST", &format!("{item}/release"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ticket = TicketId::parse(r.json()["ticket_id"].as_str().unwrap()).unwrap();
    let record = w.store.get_ticket(&ticket).await.unwrap();
    assert_eq!(record.requester, w.customer_3.id);
    assert!(
        record
            .tags
            .iter()
            .any(|t| t.as_str() == palisade_mail::RELEASED_TAG)
    );
    let page = w.get(&w.agent_a, &format!("/tickets/{ticket}")).await;
    assert!(
        page.text().contains("could not be authenticated"),
        "staff see the warning"
    );
    // Decided once: releasing again or discarding now conflicts.
    assert_eq!(
        w.json(&w.agent_a, "POST", &format!("{item}/release"), json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        w.json(&w.agent_a, "POST", &format!("{item}/discard"), json!({}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(w.get(&w.agent_a, "/api/v1/quarantine").await.json(), json!([]));
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "mail.quarantine_released"
        && e.actor == w.agent_a.id.to_string()
        && e.object == w.quarantined));
    let denials = entries.iter().filter(|e| e.action == "access.denied").count();
    assert!(denials >= 8, "every refused look is audited ({denials})");
}

palisade_testkit::on_both_backends!(the_review_pages_show_why_mail_was_held_and_decide_like_the_api);

async fn the_review_pages_show_why_mail_was_held_and_decide_like_the_api(backend: Backend) {
    let w = World::new(backend).await;
    // A second held message: a lookalike domain, and markup in the message that must
    // be shown as text.
    let held = json!({
        "client_ip": "192.0.2.8",
        "helo": "mx.examp1e.test",
        "mail_from": "ceo@examp1e.test",
        "from": "ceo@examp1e.test",
        "display_name": "The CEO",
        "verdict": { "authenticated": false, "dkim_not_counted": [["examp1e.test", "not_aligned"]], "dkim_failed": 0, "spf": ["examp1e.test", "softfail"] },
        "lookalike": { "domain": "examp1e.test", "resembles": "example.test", "reason": "confusable_characters" },
        "raw": "From: The CEO <ceo@examp1e.test>\r\nSubject: Urgent <b>wire</b>\r\n\r\n<script>alert(1)</script>\r\n",
    });
    let mut tx = w.store.begin().await.unwrap();
    let lookalike = w
        .store
        .quarantine_mail(&mut tx, &w.team_a, held.to_string().as_bytes())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let list = w.get(&w.agent_a, "/quarantine").await;
    assert_eq!(list.status, StatusCode::OK);
    let text = list.text();
    assert!(
        text.contains("c3@private.test") && text.contains("ceo@examp1e.test"),
        "{text}"
    );
    assert!(text.contains("lookalike domain"));
    assert!(
        text.contains("Urgent &#60;b&#62;wire&#60;"),
        "subjects are escaped: {text}"
    );
    // Another team's agent sees an empty page; customers have no page at all.
    let other = w.get(&w.agent_b, "/quarantine").await.text();
    assert!(!other.contains("c3@private.test") && other.contains("Nothing is waiting"));
    assert_eq!(
        w.get(&w.customer_1, "/quarantine").await.status,
        StatusCode::NOT_FOUND
    );
    // Cedar decided, and its refusal is the entry the page wrote.
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    let refusal = entries.last().unwrap();
    assert_eq!(refusal.action, "access.denied");
    let detail: serde_json::Value = serde_json::from_str(&refusal.detail).unwrap();
    assert_eq!(refusal.actor, w.customer_1.id.to_string());
    assert_eq!(detail["action"], "workspace.enter");
    assert_eq!(
        w.get(&w.agent_b, &format!("/quarantine/{lookalike}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let page = w.get(&w.agent_a, &format!("/quarantine/{lookalike}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    assert!(
        text.contains("examp1e.test resembles example.test (confusable characters)"),
        "{text}"
    );
    assert!(text.contains("verified but does not count: not aligned"));
    assert!(text.contains("SPF for examp1e.test: softfail."));
    assert!(text.contains("&#60;script&#62;alert(1)&#60;"), "{text}");
    assert!(
        !text.contains("<script>alert"),
        "the message is never rendered as HTML"
    );

    // Discard from the page: back to the list, decided, gone from it.
    let r = w
        .form(&w.agent_a, &format!("/quarantine/{lookalike}/discard"), "")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers["location"], "/quarantine");
    assert_eq!(
        w.store.quarantined(&lookalike).await.unwrap().unwrap().status,
        palisade_store::QuarantineStatus::Discarded
    );
    let decided = w
        .get(&w.agent_a, &format!("/quarantine/{lookalike}"))
        .await
        .text();
    assert!(decided.contains("already decided") && !decided.contains("Release into a ticket"));
    // Release from the page: straight to the new ticket, which warns staff.
    let r = w
        .form(&w.agent_a, &format!("/quarantine/{}/release", w.quarantined), "")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let location = r.headers["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/tickets/tkt_"), "{location}");
    assert!(
        w.get(&w.agent_a, &location)
            .await
            .text()
            .contains("could not be authenticated")
    );
    let again = w
        .form(&w.agent_a, &format!("/quarantine/{}/release", w.quarantined), "")
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    // A ticket tagged as from a lookalike sender, to a requester whose mail bounced:
    // staff are warned of both; the customer sees neither.
    let r = w
        .json(
            &w.agent_a,
            "PUT",
            &format!("/api/v1/tickets/{}/tags", w.ticket_1),
            json!({"tags": [palisade_mail::LOOKALIKE_TAG]}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let customer = w.store.get_user(&w.customer_1.id).await.unwrap();
    let mut tx = w.store.begin().await.unwrap();
    let mail = palisade_core::OutgoingMail {
        to: customer.email.as_str().into(),
        subject: "Update".into(),
        text: "x".into(),
        ..Default::default()
    };
    w.store.enqueue_mail(&mut tx, "test", &mail).await.unwrap();
    tx.commit().await.unwrap();
    // The release above queued its own mail (the requester's confirmation) first.
    let claimed = loop {
        let claimed = w.store.claim_mail("test", 60).await.unwrap().unwrap();
        if claimed.kind == "test" {
            break claimed;
        }
    };
    let mut tx = w.store.begin().await.unwrap();
    assert!(w.store.record_bounce(&mut tx, &claimed.bounce_id).await.unwrap());
    tx.commit().await.unwrap();
    let staff_view = w
        .get(&w.agent_a, &format!("/tickets/{}", w.ticket_1))
        .await
        .text();
    assert!(staff_view.contains("looks like a known customer"), "{staff_view}");
    assert!(staff_view.contains("has bounced (1 message)"), "{staff_view}");
    let customer_view = w
        .get(&w.customer_1, &format!("/tickets/{}", w.ticket_1))
        .await
        .text();
    assert!(!customer_view.contains("looks like a known") && !customer_view.contains("bounced"));
    assert!(
        !customer_view.contains("authenticated by DKIM"),
        "verdicts are for staff"
    );
}

palisade_testkit::on_both_backends!(released_mail_is_redacted_like_received_mail);

/// The review found that a released message skipped the operator's redaction of
/// received mail (the release built its own mail service). Released with redaction on,
/// the ticket holds no card number or IBAN.
async fn released_mail_is_redacted_like_received_mail(backend: Backend) {
    let w = World::new(backend).await.with_config(|c| c.redact_mail = true);
    let held = json!({
        "client_ip": "192.0.2.9",
        "helo": "mail.example.test",
        "mail_from": "dana@example.test",
        "from": "dana@example.test",
        "display_name": null,
        "verdict": { "authenticated": false },
        "raw": "From: dana@example.test\r\nSubject: Refund to 4111 1111 1111 1111\r\n\r\nMy card is 4111.1111.1111.1111 and my IBAN GB82-WEST-1234-5698-7654-32.\r\n",
    });
    let mut tx = w.store.begin().await.unwrap();
    let id = w
        .store
        .quarantine_mail(&mut tx, &w.team_a, held.to_string().as_bytes())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = w
        .json(
            &w.agent_a,
            "POST",
            &format!("/api/v1/quarantine/{id}/release"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let ticket = r.json()["ticket_id"].as_str().unwrap().to_owned();
    let view = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{ticket}"))
        .await
        .text();
    let messages = w
        .get(&w.agent_a, &format!("/api/v1/tickets/{ticket}/messages"))
        .await
        .text();
    for text in [&view, &messages] {
        assert!(
            !text.contains("4111 1111") && !text.contains("4111.1111"),
            "{text}"
        );
        assert!(!text.contains("WEST-1234"), "{text}");
    }
    assert!(messages.contains("ending 1111 removed"), "{messages}");
}
