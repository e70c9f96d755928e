//! An administrator requires a new second factor of a colleague who lost their phone,
//! on SQLite and PostgreSQL: the colleague's app, passkeys and recovery codes go, every
//! session ends, they are told by mail, and their next sign-in asks them to set up a
//! new factor. Beside it, the attacks: a supervisor, an administrator whose sign-in is
//! not fresh (the stolen-session case), resetting oneself or a customer — each refused
//! with the factors still in place.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use common::outbox::mails;
use palisade_testkit::Backend;

palisade_testkit::on_both_backends!(
    an_administrator_requires_a_new_second_factor,
    only_a_freshly_proved_administrator_resets_someone_elses_factors
);

fn reset_path(user: &palisade_core::UserId) -> String {
    format!("/api/v1/users/{user}/second-factor-reset")
}

async fn post(w: &World, who: &common::Actor, path: &str) -> common::Response {
    w.raw(Some(who), "POST", path, Body::empty(), &[]).await
}

async fn has_app(w: &World, who: &common::Actor) -> bool {
    let r = w.get(who, "/api/v1/me/mfa").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["totp"] == true
}

async fn an_administrator_requires_a_new_second_factor(backend: Backend) {
    let w = World::new(backend).await;
    assert!(has_app(&w, &w.agent_a).await);
    let r = post(&w, &w.admin, &reset_path(&w.agent_a.id)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());

    // Every session ended; the password leads to enrolment, not to the old factor.
    assert_eq!(
        w.get(&w.agent_a, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let signed = w.password_step("agent.a@desk.test").await;
    assert_eq!(signed["stage"], "enrol", "{signed}");

    let notices = mails(&w, palisade_identity::MAIL_NOTICE, 1).await;
    assert!(
        notices
            .iter()
            .any(|(_, m)| m.to == "agent.a@desk.test" && m.subject == "Set up a new second factor"),
        "{notices:?}"
    );
    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "auth.mfa_removed"
        && e.object == w.agent_a.id.as_str()
        && e.detail.contains("reset_by_administrator")));

    // The staff page offers it, and says what happened.
    let page = w.get(&w.admin, "/admin/staff").await.text();
    assert!(page.contains(&format!("/admin/staff/{}/reset-second-factor", w.agent_b.id)));
    let r = post(
        &w,
        &w.admin,
        &format!("/admin/staff/{}/reset-second-factor", w.agent_b.id),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/admin/staff?done=factors");
    assert_eq!(
        w.get(&w.agent_b, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn only_a_freshly_proved_administrator_resets_someone_elses_factors(backend: Backend) {
    let w = World::new(backend).await;
    let r = post(&w, &w.supervisor, &reset_path(&w.agent_a.id)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    // An administrator's session that has not proved who it is lately: a stolen
    // cookie would be no more.
    let stale = common::session_signed_in_at(
        &w.store,
        w.admin.id.clone(),
        w.admin.role,
        palisade_core::UnixMillis::now().plus_secs(-11 * 60),
    )
    .await;
    let r = post(&w, &stale, &reset_path(&w.agent_a.id)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.json()["type"].as_str().unwrap().ends_with("/step-up-required"));
    let r = post(
        &w,
        &stale,
        &format!("/admin/staff/{}/reset-second-factor", w.agent_a.id),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/account/step-up?next=/admin/staff");

    // Not oneself (the security page does that, with the old factor), not a customer.
    let r = post(&w, &w.admin, &reset_path(&w.admin.id)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = post(&w, &w.admin, &reset_path(&w.customer_1.id)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    assert!(has_app(&w, &w.agent_a).await, "nothing was removed");
    assert!(has_app(&w, &w.admin).await);
    let trail = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        !trail
            .iter()
            .any(|e| e.action == "auth.mfa_removed" && e.outcome == "success")
    );
}
