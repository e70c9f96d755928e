//! Customer satisfaction, on SQLite and PostgreSQL: once a ticket is solved its
//! requester is mailed a single-use link (when the team asks); the page behind it
//! shows nothing of the ticket, opening it decides nothing, and it answers once. The
//! requester can change the answer in the portal until the ticket closes; staff see
//! it on the ticket. Beside it the attacks: rating before solving or after closing,
//! anyone but the requester rating (administrators included), a used, forged or
//! foreign link, and the comment surviving the requester's account being merged.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_core::{EmailAddress, OutgoingMail};
use palisade_mail::{MAIL_TICKET_SURVEY, ReplyKeys, ReplyNotifier, Threading};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(a_solved_ticket_is_rated_by_its_requester_once_per_link_until_it_closes);

async fn surveys(w: &World) -> Vec<OutgoingMail> {
    w.dispatch().await;
    let mut out = Vec::new();
    while let Some(claimed) = w.store.claim_mail("test-reader", 60).await.unwrap() {
        if claimed.kind == MAIL_TICKET_SURVEY {
            out.push(serde_json::from_slice(&claimed.envelope).unwrap());
        }
    }
    out
}

async fn set_status(w: &World, id: &str, status: &str) {
    let r = w
        .json(
            &w.agent_a,
            "PATCH",
            &format!("/api/v1/tickets/{id}"),
            json!({"status": status}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn anonymous(w: &World, method: &str, path: &str, form: &str) -> common::Response {
    w.raw(
        None,
        method,
        path,
        Body::from(form.to_owned()),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
}

async fn a_solved_ticket_is_rated_by_its_requester_once_per_link_until_it_closes(backend: Backend) {
    let w = World::new(backend).await;
    let support = EmailAddress::parse("support@desk.test").unwrap();
    let threading = Arc::new(Threading::new(
        w.store.clone(),
        ReplyKeys::default(),
        vec![support.clone()],
    ));
    let notifier = ReplyNotifier::new(
        w.store.clone(),
        threading,
        HashMap::from([(w.team_a.clone(), support)]),
        "https://desk.test",
    );
    let w = w.with_notifier(Arc::new(notifier)).await;
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &format!("/api/v1/teams/{}", w.team_a),
            json!({"satisfaction_survey": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["satisfaction_survey"], true);
    // The team's own words, which must carry the link.
    let team = format!("/api/v1/teams/{}", w.team_a);
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &team,
            json!({"survey_texts": {"en": "Rate us, {requester_first_name}"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = w
        .json(
            &w.admin,
            "PATCH",
            &team,
            json!({"survey_texts": {"en": "Tell us, {requester_first_name}: {link}"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let r = w
        .json(
            &w.customer_1,
            "POST",
            "/api/v1/tickets",
            json!({"subject": "Refund for order 7731", "body": "Please"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let number = r.json()["number"].as_i64().unwrap();
    let rating = format!("/api/v1/tickets/{id}/satisfaction");
    // Not before it is solved.
    let r = w
        .json(&w.customer_1, "PUT", &rating, json!({"rating": "good"}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(surveys(&w).await.is_empty());

    set_status(&w, &id, "solved").await;
    let mails = surveys(&w).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "c1@sharing.test");
    assert!(
        mails[0]
            .text
            .starts_with("Tell us, customer: https://desk.test/rate/"),
        "{}",
        mails[0].text
    );
    let link = mails[0]
        .text
        .split_whitespace()
        .find(|word| word.starts_with("https://desk.test/rate/"))
        .unwrap()
        .trim_start_matches("https://desk.test")
        .to_owned();
    // The page behind the link tells whoever holds it nothing about the ticket, and
    // opening it (as a mail scanner would) decides nothing.
    for _ in 0..2 {
        let page = anonymous(&w, "GET", &link, "").await;
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(
            !text.contains("7731") && !text.contains(&format!("#{number}")) && !text.contains(&id),
            "{text}"
        );
    }
    assert!(w.get(&w.agent_a, &rating).await.json()["rating"].is_null());
    // A forged link, and a malformed answer, are refused alike.
    let forged = anonymous(&w, "GET", "/rate/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "").await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let r = anonymous(&w, "POST", &link, "rating=great").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Answered once.
    let r = anonymous(&w, "POST", &link, "rating=bad&comment=Took+three+days").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for (method, form) in [("POST", "rating=good"), ("GET", "")] {
        let r = anonymous(&w, method, &link, form).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method}");
    }
    let seen = w.get(&w.agent_a, &rating).await.json();
    assert_eq!(seen["rating"], "bad");
    assert_eq!(seen["comment"], "Took three days");

    // Only the requester rates: not staff, not administrators, not a colleague.
    for who in [&w.agent_a, &w.supervisor, &w.admin, &w.customer_2] {
        let r = w.json(who, "PUT", &rating, json!({"rating": "good"})).await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{:?}: {}",
            who.role,
            r.status
        );
    }
    // The requester changes it on the ticket's page; staff see it there.
    let page = w.get(&w.customer_1, &format!("/tickets/{id}")).await.text();
    assert!(
        page.contains("action=\"/tickets/") && page.contains("/rating\""),
        "{page}"
    );
    let r = w
        .form(
            &w.customer_1,
            &format!("/tickets/{id}/rating"),
            "rating=good&comment=Fine+after+all",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = w.get(&w.agent_a, &format!("/tickets/{id}")).await.text();
    assert!(
        page.contains("Rated good") && page.contains("Fine after all"),
        "{page}"
    );
    assert!(!page.contains("name=\"rating\""), "staff get no form");

    // The comment stays readable when the requester's account is merged into another.
    let r = w
        .json(
            &w.supervisor,
            "POST",
            &format!("/api/v1/customers/{}/merge", w.customer_1.id),
            json!({"into": w.customer_3.id.to_string()}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    let seen = w.get(&w.agent_a, &rating).await.json();
    assert_eq!(seen["comment"], "Fine after all");

    // Closed: the answer stands and no longer changes.
    set_status(&w, &id, "closed").await;
    let r = w
        .json(&w.customer_3, "PUT", &rating, json!({"rating": "bad"}))
        .await;
    assert!(
        matches!(
            r.status,
            StatusCode::CONFLICT | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        ),
        "{}",
        r.status
    );
    assert_eq!(w.get(&w.agent_a, &rating).await.json()["rating"], "good");
    let rated = w
        .store
        .audit_entries(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "ticket.rated")
        .count();
    assert_eq!(rated, 2);
}
