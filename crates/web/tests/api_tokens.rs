//! Personal API tokens, on SQLite and PostgreSQL: a token acts as its owner narrowed to
//! its scopes, needs the password to create, is shown once and stored as a hash, and
//! stops working when revoked, expired or when its owner is disabled.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{PASSWORD, World};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    a_token_acts_as_its_owner_narrowed_to_its_scopes,
    creating_a_token_needs_the_password_and_a_session_and_shows_it_once,
    revoked_expired_or_orphaned_tokens_stop_working,
);

async fn with_token(
    w: &World,
    token: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> StatusCode {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    let body = match body {
        Some(b) => {
            headers.push(("content-type", "application/json"));
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    w.raw(None, method, path, body, &headers).await.status
}

async fn a_token_acts_as_its_owner_narrowed_to_its_scopes(backend: Backend) {
    let w = World::new(backend).await;
    let (_, read_only) = common::api_token(&w.store, &w.customer_1.id, &["tickets:read"]).await;
    let t1 = format!("/api/v1/tickets/{}", w.ticket_1);
    assert_eq!(with_token(&w, &read_only, "GET", &t1, None).await, StatusCode::OK);
    // Never more than the owner: another customer's ticket stays invisible.
    assert_eq!(
        with_token(
            &w,
            &read_only,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_3),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    // Never more than the scopes: the owner may reply, the read-only token may not.
    let reply = json!({"body": "via token", "visibility": "public"});
    assert_eq!(
        with_token(
            &w,
            &read_only,
            "POST",
            &format!("{t1}/messages"),
            Some(reply.clone())
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (_, writer) = common::api_token(&w.store, &w.customer_1.id, &["tickets:read", "tickets:write"]).await;
    assert_eq!(
        with_token(&w, &writer, "POST", &format!("{t1}/messages"), Some(reply)).await,
        StatusCode::CREATED
    );
    // An admin's token limited to tickets cannot touch the directory or the audit trail.
    let (_, admin_tickets) = common::api_token(&w.store, &w.admin.id, &["tickets:read"]).await;
    assert_eq!(
        with_token(&w, &admin_tickets, "GET", "/api/v1/tickets", None).await,
        StatusCode::OK
    );
    assert_eq!(
        with_token(&w, &admin_tickets, "GET", "/api/v1/audit", None).await,
        StatusCode::FORBIDDEN
    );
    let new_agent = json!({"email": "x@desk.test", "name": "X", "role": "admin"});
    assert_eq!(
        with_token(&w, &admin_tickets, "POST", "/api/v1/agents", Some(new_agent)).await,
        StatusCode::FORBIDDEN
    );
    // Tokens are bearer credentials: no cookie, so no cross-site risk, and no CSRF check.
    let tokens = w.store.list_api_tokens(&w.customer_1.id).await.unwrap();
    assert!(
        tokens.iter().any(|t| t.last_used_at.is_some()),
        "last use is recorded"
    );
}

async fn creating_a_token_needs_the_password_and_a_session_and_shows_it_once(backend: Backend) {
    let w = World::new(backend).await;
    let request =
        |password: &str| json!({"name": "zapier", "scopes": ["tickets:read"], "password": password});
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/me/tokens",
            request("not my password"),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "step-up: the password is required"
    );
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/me/tokens",
            json!({"name": "x", "scopes": ["everything"], "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = w
        .json(
            &w.agent_a,
            "POST",
            "/api/v1/me/tokens",
            json!({"name": "x", "scopes": ["tickets:read"], "expires_in_days": 5000, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "expiry is capped");
    let r = w
        .json(&w.agent_a, "POST", "/api/v1/me/tokens", request(PASSWORD))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let secret = r.json()["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pal_"));
    // A token cannot mint another token.
    let minted = with_token(&w, &secret, "POST", "/api/v1/me/tokens", Some(request(PASSWORD))).await;
    assert_eq!(minted, StatusCode::FORBIDDEN);
    // Listed without the secret; stored only as a hash.
    let list = w.get(&w.agent_a, "/api/v1/me/tokens").await;
    assert!(!list.text().contains(&secret[4..]));
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    let dump = w.db.raw_dump().await.unwrap();
    assert!(
        !dump.windows(20).any(|x| x == &secret.as_bytes()[4..24]),
        "token stored in clear"
    );
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.api_token_created" && e.outcome == "success")
    );
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.api_token_created" && e.outcome == "failure")
    );
}

async fn revoked_expired_or_orphaned_tokens_stop_working(backend: Backend) {
    let w = World::new(backend).await;
    let (id, token) = common::api_token(&w.store, &w.agent_a.id, &["tickets:read"]).await;
    assert_eq!(
        with_token(&w, &token, "GET", "/api/v1/tickets", None).await,
        StatusCode::OK
    );
    // Another user cannot revoke it.
    let path = format!("/api/v1/me/tokens/{id}");
    assert_eq!(
        w.raw(Some(&w.agent_b), "DELETE", &path, Body::empty(), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        with_token(&w, &token, "GET", "/api/v1/tickets", None).await,
        StatusCode::OK
    );
    assert_eq!(
        w.raw(Some(&w.agent_a), "DELETE", &path, Body::empty(), &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        with_token(&w, &token, "GET", "/api/v1/tickets", None).await,
        StatusCode::UNAUTHORIZED
    );

    let (expiring_id, expiring) = common::api_token(&w.store, &w.agent_a.id, &["tickets:read"]).await;
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&w.db.url)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE api_tokens SET expires_at = 1 WHERE id = '{expiring_id}'"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        with_token(&w, &expiring, "GET", "/api/v1/tickets", None).await,
        StatusCode::UNAUTHORIZED
    );

    let (_, orphan) = common::api_token(&w.store, &w.customer_1.id, &["tickets:read"]).await;
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
    assert_eq!(
        with_token(&w, &orphan, "GET", "/api/v1/tickets", None).await,
        StatusCode::UNAUTHORIZED
    );
    for garbage in [
        "pal_",
        "pal_x",
        "pal_' OR 1=1 --",
        &format!("pal_{}", "A".repeat(43)),
    ] {
        assert_eq!(
            with_token(&w, garbage, "GET", "/api/v1/tickets", None).await,
            StatusCode::UNAUTHORIZED
        );
    }
}
