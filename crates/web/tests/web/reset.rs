//! Password reset, invitations and security notices through the real router, on
//! SQLite and PostgreSQL: the reset answer says nothing about which addresses exist,
//! a link works once and only for 15 minutes, a newer link replaces an older one, a
//! reset ends every session but never skips the second factor, agents never see a
//! customer's invitation link, and lockouts and password changes are told by email.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::outbox::{link_path, mails};
use common::{PASSWORD, World};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    a_reset_answers_alike_for_every_address_and_its_link_works_once,
    a_reset_ends_every_session_but_never_skips_the_second_factor,
    customers_are_invited_by_email_and_agents_never_see_the_link,
    lockouts_and_password_changes_are_told_by_email,
);

async fn request_reset(w: &World, email: &str) -> (StatusCode, Vec<u8>) {
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/password-resets",
            Body::from(json!({ "email": email }).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    (r.status, r.body)
}

async fn set_password(w: &World, path: &str, password: &str) -> StatusCode {
    let body = format!("password={}", password.replace(' ', "+"));
    w.raw(
        None,
        "POST",
        path,
        Body::from(body),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await
    .status
}

async fn sign_in(w: &World, email: &str, password: &str) -> (StatusCode, serde_json::Value) {
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({ "email": email, "password": password }).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    (r.status, r.json())
}

async fn a_reset_answers_alike_for_every_address_and_its_link_works_once(backend: Backend) {
    let w = World::new(backend).await;
    let known = request_reset(&w, "c1@sharing.test").await;
    let first_mail = mails(&w, palisade_identity::MAIL_PASSWORD_RESET, 1).await;
    let unknown = request_reset(&w, "nobody@sharing.test").await;
    let malformed = request_reset(&w, "not an address").await;
    assert_eq!(known.0, StatusCode::ACCEPTED);
    assert_eq!(known, unknown);
    assert_eq!(known, malformed);
    let page_known = w
        .raw(
            None,
            "POST",
            "/login/reset",
            Body::from("email=c1%40sharing.test"),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    let page_unknown = w
        .raw(
            None,
            "POST",
            "/login/reset",
            Body::from("email=nobody%40sharing.test"),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(
        (page_known.status, &page_known.body),
        (page_unknown.status, &page_unknown.body)
    );

    // Two requests for the known address (one API, one page): two mails, only to it.
    let second_mail = mails(&w, palisade_identity::MAIL_PASSWORD_RESET, 2).await;
    let sent: Vec<_> = first_mail.into_iter().chain(second_mail).collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(_, m)| m.to == "c1@sharing.test"));
    let first = link_path(&sent[0].1);
    let second = link_path(&sent[1].1);
    // The newer link replaced the older one.
    assert_eq!(
        set_password(&w, &first, "a fresh passphrase for c1").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        set_password(&w, &second, "a fresh passphrase for c1").await,
        StatusCode::OK
    );
    assert_eq!(
        set_password(&w, &second, "another passphrase for c1").await,
        StatusCode::NOT_FOUND,
        "once"
    );
    assert_eq!(
        sign_in(&w, "c1@sharing.test", "a fresh passphrase for c1")
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        sign_in(&w, "c1@sharing.test", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );

    // An expired link is refused.
    request_reset(&w, "c2@sharing.test").await;
    let sent = mails(&w, palisade_identity::MAIL_PASSWORD_RESET, 3).await;
    let link = link_path(&sent.last().unwrap().1);
    {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&w.db.url).await.unwrap();
        sqlx::query("UPDATE setup_tokens SET expires_at = 1 WHERE purpose = 'reset'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(
        set_password(&w, &link, "a fresh passphrase for c2").await,
        StatusCode::NOT_FOUND
    );
    // The refused requests are in the audit trail with their reason.
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    let requested: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "auth.password_reset_requested")
        .collect();
    assert!(
        requested
            .iter()
            .any(|e| e.outcome == "denied" && e.detail.contains("unknown_account"))
    );
    assert!(
        requested
            .iter()
            .any(|e| e.outcome == "denied" && e.detail.contains("malformed_address"))
    );
}

async fn a_reset_ends_every_session_but_never_skips_the_second_factor(backend: Backend) {
    let w = World::new(backend).await;
    request_reset(&w, "agent.a@desk.test").await;
    let sent = mails(&w, palisade_identity::MAIL_PASSWORD_RESET, 1).await;
    let link = link_path(&sent[0].1);
    assert_eq!(w.get(&w.agent_a, "/api/v1/me").await.status, StatusCode::OK);
    assert_eq!(
        set_password(&w, &link, "the agent's new passphrase").await,
        StatusCode::OK
    );
    assert_eq!(
        w.get(&w.agent_a, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "sessions ended"
    );
    let (status, body) = sign_in(&w, "agent.a@desk.test", "the agent's new passphrase").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        body["stage"], "second_factor",
        "the reset proves the mailbox, not the person"
    );
    let notices = mails(&w, palisade_identity::MAIL_NOTICE, 1).await;
    assert!(
        notices
            .iter()
            .any(|(_, m)| m.to == "agent.a@desk.test" && m.subject == "Your password was reset")
    );
    // Notices carry no links a forger could imitate.
    assert!(notices.iter().all(|(_, m)| !m.text.contains("https://")));
    // The notice follows the recorded account event exactly once: handing the events
    // over again queues nothing more.
    let events = w.store.events_after(0, 10_000).await.unwrap();
    let resets: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "account.password_reset")
        .collect();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].subject, w.agent_a.id.to_string());
    assert_eq!(w.dispatch().await, 0);
    assert!(mails(&w, palisade_identity::MAIL_NOTICE, 0).await.is_empty());
}

async fn customers_are_invited_by_email_and_agents_never_see_the_link(backend: Backend) {
    let w = World::new(backend).await;
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/customers",
            json!({ "email": "new@customer.test", "name": "New Customer" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let body = r.json();
    assert!(body.get("setup_path").is_none(), "the agent gets no link: {body}");
    assert_eq!(body["invitation_emailed"], true);
    assert!(!r.text().contains("/setup/"));
    let sent = mails(&w, palisade_identity::MAIL_INVITATION, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.to, "new@customer.test");
    // Until the customer uses the link there is no password to sign in with.
    assert_eq!(
        sign_in(&w, "new@customer.test", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let link = link_path(&sent[0].1);
    assert_eq!(
        set_password(&w, &link, "the customer's own passphrase").await,
        StatusCode::OK
    );
    assert_eq!(
        sign_in(&w, "new@customer.test", "the customer's own passphrase")
            .await
            .0,
        StatusCode::CREATED
    );
}

async fn lockouts_and_password_changes_are_told_by_email(backend: Backend) {
    let w = World::new(backend).await;
    for _ in 0..12 {
        sign_in(&w, "c3@private.test", "wrong password, guessed").await;
    }
    let notices = mails(&w, palisade_identity::MAIL_NOTICE, 1).await;
    let lockouts: Vec<_> = notices
        .iter()
        .filter(|(_, m)| m.subject.contains("paused"))
        .collect();
    assert_eq!(lockouts.len(), 1, "one notice per lockout, not per guess");
    assert_eq!(lockouts[0].1.to, "c3@private.test");
    // Unknown accounts lock too (no enumeration), but nobody is mailed.
    for _ in 0..12 {
        sign_in(&w, "ghost@private.test", "wrong password, guessed").await;
    }
    assert!(mails(&w, palisade_identity::MAIL_NOTICE, 0).await.is_empty());

    let r = w
        .post_bearer(
            &w.customer_1.token,
            "/api/v1/me/password",
            json!({ "new_password": "a completely new passphrase" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let notices = mails(&w, palisade_identity::MAIL_NOTICE, 1).await;
    assert!(
        notices
            .iter()
            .any(|(_, m)| m.to == "c1@sharing.test" && m.subject == "Your password was changed")
    );
}
