//! Session hardening through the HTTP API, on SQLite and PostgreSQL: one session per
//! staff member, a bounded number per customer, session fixation, the devices API,
//! administrators ending sessions and disabling accounts, and background requests.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{Actor, World};
use palisade_core::SecretString;
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    signing_in_on_a_second_device_ends_a_staff_members_first_session,
    customers_keep_up_to_five_sessions,
    sign_in_never_reuses_a_presented_session_token,
    devices_list_and_end_only_ones_own_sessions,
    admin_ends_sessions_and_disabling_an_account_ends_them_too,
    background_requests_do_not_extend_the_session,
);

const PASSWORD: &str = "velvet tractor lagoon origami";

async fn set_password(w: &World, who: &Actor) {
    let hash = w
        .state
        .identity
        .hasher()
        .hash(&SecretString::new(PASSWORD.into()))
        .await
        .unwrap();
    let mut tx = w.store.begin().await.unwrap();
    w.store.set_password_hash(&mut tx, &who.id, &hash).await.unwrap();
    tx.commit().await.unwrap();
}

async fn sign_in(w: &World, email: &str, extra: &[(&str, &str)]) -> (StatusCode, String, String) {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({"email": email, "password": PASSWORD}).to_string()),
            &headers,
        )
        .await;
    let token = r.json()["token"].as_str().unwrap_or_default().to_owned();
    let cookie = r
        .headers
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status, token, cookie)
}

/// Signs in with the password and then the app code of time step `offset`.
async fn sign_in_with_code(w: &World, email: &str, offset: i64) -> String {
    let (status, pending, _) = sign_in(w, email, &[]).await;
    assert_eq!(status, StatusCode::CREATED);
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions/current/second-factor",
            Body::from(json!({"code": common::totp_code(offset)}).to_string()),
            &[
                ("content-type", "application/json"),
                ("authorization", &format!("Bearer {pending}")),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_owned()
}

async fn me_status(w: &World, token: &str) -> StatusCode {
    w.raw(
        None,
        "GET",
        "/api/v1/me",
        Body::empty(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .status
}

async fn signing_in_on_a_second_device_ends_a_staff_members_first_session(backend: Backend) {
    let w = World::new(backend).await;
    set_password(&w, &w.agent_a).await;
    let first = sign_in_with_code(&w, "agent.a@desk.test", 0).await;
    assert_eq!(me_status(&w, &first).await, StatusCode::OK);
    // The next time step's code: the first one was spent.
    let second = sign_in_with_code(&w, "agent.a@desk.test", 1).await;
    assert_eq!(me_status(&w, &second).await, StatusCode::OK);
    assert_eq!(
        me_status(&w, &first).await,
        StatusCode::UNAUTHORIZED,
        "the first device's session ended"
    );
    assert_eq!(
        me_status(&w, &w.agent_a.token).await,
        StatusCode::UNAUTHORIZED,
        "older sessions ended too"
    );
    let ended = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        ended
            .iter()
            .any(|e| e.action == "auth.session_ended" && e.detail.contains("replaced_by_new_sign_in"))
    );
}

async fn customers_keep_up_to_five_sessions(backend: Backend) {
    let w = World::new(backend).await;
    set_password(&w, &w.customer_1).await;
    let mut tokens = vec![w.customer_1.token.clone()];
    for _ in 0..5 {
        tokens.push(sign_in(&w, "c1@sharing.test", &[]).await.1);
    }
    assert_eq!(
        me_status(&w, &tokens[0]).await,
        StatusCode::UNAUTHORIZED,
        "the oldest of six ended"
    );
    for t in &tokens[1..] {
        assert_eq!(me_status(&w, t).await, StatusCode::OK);
    }
}

async fn sign_in_never_reuses_a_presented_session_token(backend: Backend) {
    let w = World::new(backend).await;
    set_password(&w, &w.customer_1).await;
    // An attacker plants their own session cookie in the victim's browser.
    let planted = format!("{}={}", palisade_web::SESSION_COOKIE, w.customer_3.token);
    let (status, token, cookie) = sign_in(&w, "c1@sharing.test", &[("cookie", &planted)]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(token, w.customer_3.token);
    assert!(
        cookie.contains(&token) && !cookie.contains(&w.customer_3.token),
        "a fresh token replaces the cookie"
    );
    // The planted token still belongs to the attacker's account, never the victim's.
    let me = w.get(&w.customer_3, "/api/v1/me").await.json();
    assert_eq!(me["id"], json!(w.customer_3.id.to_string()));
}

async fn devices_list_and_end_only_ones_own_sessions(backend: Backend) {
    let w = World::new(backend).await;
    let other_device = common::extra_session(&w.store, &w.customer_1.id).await;
    let list = w.get(&w.customer_1, "/api/v1/me/sessions").await.json();
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == json!(true)).count(), 1);
    // Another customer cannot end it, and learns nothing (404).
    let path = format!("/api/v1/me/sessions/{other_device}");
    assert_eq!(
        w.raw(Some(&w.customer_3), "DELETE", &path, Body::empty(), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.get(&w.customer_1, "/api/v1/me/sessions")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        w.raw(Some(&w.customer_1), "DELETE", &path, Body::empty(), &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        w.get(&w.customer_1, "/api/v1/me/sessions")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // "Sign out everywhere else" keeps the current session.
    common::extra_session(&w.store, &w.customer_1.id).await;
    let r = w
        .raw(
            Some(&w.customer_1),
            "POST",
            "/api/v1/me/sessions/end-others",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.json()["ended"], json!(1));
    assert_eq!(w.get(&w.customer_1, "/api/v1/me").await.status, StatusCode::OK);
    let page = w.get(&w.customer_1, "/devices").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("this device"));
}

async fn admin_ends_sessions_and_disabling_an_account_ends_them_too(backend: Backend) {
    let w = World::new(backend).await;
    let path = format!("/api/v1/users/{}/end-sessions", w.agent_a.id);
    assert_eq!(
        w.raw(Some(&w.supervisor), "POST", &path, Body::empty(), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(w.get(&w.agent_a, "/api/v1/me").await.status, StatusCode::OK);
    let r = w.raw(Some(&w.admin), "POST", &path, Body::empty(), &[]).await;
    assert_eq!((r.status, r.json()["ended"].clone()), (StatusCode::OK, json!(1)));
    assert_eq!(
        w.get(&w.agent_a, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    set_password(&w, &w.customer_1).await;
    let (_, fresh, _) = sign_in(&w, "c1@sharing.test", &[]).await;
    let r = w
        .raw(
            Some(&w.admin),
            "POST",
            &format!("/api/v1/users/{}/disable", w.customer_1.id),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for token in [&fresh, &w.customer_1.token] {
        assert_eq!(me_status(&w, token).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in(&w, "c1@sharing.test", &[]).await.0,
        StatusCode::UNAUTHORIZED,
        "disabled accounts cannot sign in"
    );
    let r = w
        .raw(
            Some(&w.admin),
            "POST",
            &format!("/api/v1/users/{}/disable", w.admin.id),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "an admin cannot lock themself out"
    );
}

async fn background_requests_do_not_extend_the_session(backend: Backend) {
    let w = World::new(backend).await;
    let idle_deadline = || async {
        w.store.live_sessions(&w.agent_a.id).await.unwrap()[0]
            .idle_expires_at
            .0
    };
    // Pretend the last activity was two minutes ago, with ten minutes of idle time left.
    // Setting `auth_at` to itself moves the identity-change number, as any change to a
    // session's standing made behind the node's back does, so the node reloads it.
    let now = palisade_core::UnixMillis::now().0;
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&w.db.url)
        .await
        .unwrap();
    let sql = format!(
        "UPDATE sessions SET last_seen_at = {}, idle_expires_at = {}, auth_at = auth_at WHERE id = '{}'",
        now - 120_000,
        now + 600_000,
        w.agent_a.session
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
    let before = idle_deadline().await;
    let r = w
        .raw(
            Some(&w.agent_a),
            "GET",
            "/api/v1/tickets",
            Body::empty(),
            &[("x-palisade-background", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        idle_deadline().await,
        before,
        "a background request must not keep the session alive"
    );
    w.get(&w.agent_a, "/api/v1/tickets").await;
    assert!(
        idle_deadline().await > before,
        "a real request extends the idle deadline"
    );
}
