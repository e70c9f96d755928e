//! Personal API tokens, on SQLite and PostgreSQL: a token acts as its owner narrowed to
//! its scopes, needs a recent step-up to create, is shown once and stored as a hash, and
//! stops working when revoked, expired or when its owner is disabled.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{PASSWORD, World};
use palisade_testkit::Backend;
use serde_json::json;

palisade_testkit::on_both_backends!(
    a_token_acts_as_its_owner_narrowed_to_its_scopes,
    creating_a_token_needs_a_recent_step_up_and_a_session_and_shows_it_once,
    revoked_expired_or_orphaned_tokens_stop_working,
    each_token_is_rate_limited_and_the_limit_is_audited_once,
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

async fn creating_a_token_needs_a_recent_step_up_and_a_session_and_shows_it_once(backend: Backend) {
    let w = World::new(backend).await;
    let request = || json!({"name": "zapier", "scopes": ["tickets:read"]});
    // Signed in eleven minutes ago: outside the ten-minute step-up window.
    let stale = common::session_signed_in_at(
        &w.store,
        w.agent_a.id.clone(),
        w.agent_a.role,
        palisade_core::UnixMillis::now().plus_secs(-11 * 60),
    )
    .await;
    let r = w.json(&stale, "POST", "/api/v1/me/tokens", request()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.json()["type"].as_str().unwrap().ends_with("/step-up-required"));

    let step_up = |body: serde_json::Value| w.json(&stale, "POST", "/api/v1/sessions/current/step-up", body);
    let wrong = step_up(json!({"password": "not my password", "code": common::totp_code(0)})).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "wrong password");
    let no_code = step_up(json!({"password": PASSWORD})).await;
    assert_eq!(
        no_code.status,
        StatusCode::UNAUTHORIZED,
        "staff step-up needs the second factor too"
    );
    let code = common::totp_code(0);
    let ok = step_up(json!({"password": PASSWORD, "code": code})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let fresh = common::Actor {
        token: ok.json()["token"].as_str().unwrap().to_owned(),
        ..stale.clone()
    };
    assert_ne!(fresh.token, stale.token, "step-up rotates the session token");
    assert_eq!(w.get(&stale, "/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    // The same code again is a replay, even for a step-up.
    let replay = w
        .json(
            &fresh,
            "POST",
            "/api/v1/sessions/current/step-up",
            json!({"password": PASSWORD, "code": code}),
        )
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "replayed code");

    let r = w
        .json(
            &fresh,
            "POST",
            "/api/v1/me/tokens",
            json!({"name": "x", "scopes": ["everything"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = w
        .json(
            &fresh,
            "POST",
            "/api/v1/me/tokens",
            json!({"name": "x", "scopes": ["tickets:read"], "expires_in_days": 5000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "expiry is capped");
    let r = w.json(&fresh, "POST", "/api/v1/me/tokens", request()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let secret = r.json()["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pal_"));
    // A token cannot mint another token.
    let minted = with_token(&w, &secret, "POST", "/api/v1/me/tokens", Some(request())).await;
    assert_eq!(minted, StatusCode::FORBIDDEN);
    // Listed without the secret; stored only as a hash.
    let list = w.get(&fresh, "/api/v1/me/tokens").await;
    assert!(!list.text().contains(&secret[4..]));
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    let dump = w.db.raw_dump().await.unwrap();
    assert!(
        !dump.windows(20).any(|x| x == &secret.as_bytes()[4..24]),
        "token stored in clear"
    );
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    for (action, outcome) in [
        ("auth.api_token_created", "success"),
        ("auth.api_token_created", "denied"),
        ("auth.step_up", "success"),
        ("auth.mfa_failed", "failure"),
    ] {
        assert!(
            entries.iter().any(|e| e.action == action && e.outcome == outcome),
            "{action} {outcome} not audited"
        );
    }
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

async fn each_token_is_rate_limited_and_the_limit_is_audited_once(backend: Backend) {
    // 60 a minute: bursts of 10, then one a second.
    let w = World::new_with(backend, |identity| {
        identity.with_token_rate_limits(palisade_identity::TokenRateLimits::per_minute(60))
    })
    .await;
    let (id, token) = common::api_token(&w.store, &w.agent_a.id, &["tickets:read"]).await;
    let (_, other) = common::api_token(&w.store, &w.agent_a.id, &["tickets:read"]).await;
    // Requests until the first refusal (bounded). The burst of ten always passes; a
    // loaded machine may take long enough for a token or two to come back (one a
    // second), so the count is checked against the time it took, not exactly.
    let auth = format!("Bearer {token}");
    let started = std::time::Instant::now();
    let mut passed = 0u64;
    let mut refused = None;
    for _ in 0..60 {
        let r = w
            .raw(
                None,
                "GET",
                "/api/v1/tickets",
                Body::empty(),
                &[("authorization", &auth)],
            )
            .await;
        match r.status {
            StatusCode::OK => passed += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                refused = Some(r);
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let refused = refused.expect("the limit is reached within 60 requests");
    let elapsed = started.elapsed().as_secs();
    assert!(passed >= 10, "the burst of ten passes ({passed})");
    assert!(passed <= 11 + elapsed, "{passed} requests passed in {elapsed} s");
    let retry: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "retry after {retry}");
    let mut refusals = 1;
    for _ in 0..5 {
        if with_token(&w, &token, "GET", "/api/v1/tickets", None).await == StatusCode::TOO_MANY_REQUESTS {
            refusals += 1;
        }
    }
    assert!(refusals >= 4, "hammering stays refused ({refusals} of 6)");
    // Another token of the same owner, and the owner's session, are not slowed down.
    assert_eq!(
        with_token(&w, &other, "GET", "/api/v1/tickets", None).await,
        StatusCode::OK
    );
    assert_eq!(w.get(&w.agent_a, "/api/v1/tickets").await.status, StatusCode::OK);
    let throttled: Vec<_> = w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "auth.api_token_throttled")
        .collect();
    assert_eq!(throttled.len(), 1, "{refusals} refusals, one audit entry");
    assert_eq!(throttled[0].object, id);
    assert_eq!(throttled[0].outcome, "denied");
}
