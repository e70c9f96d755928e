//! Transport-level hardening seen from a client: security headers (snapshot), bad
//! input refused with a clear 4xx and no change, cross-site form posts refused.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{ORIGIN, World};
use palisade_testkit::Backend;
use serde_json::json;

const HEADER_SNAPSHOT: &[(&str, &str)] = &[
    ("cache-control", "no-store"),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
    ("referrer-policy", "no-referrer"),
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
];

#[tokio::test]
async fn security_headers_match_the_snapshot_on_pages_api_and_errors() {
    let w = World::new(Backend::Sqlite).await;
    let responses = [
        w.raw(None, "GET", "/login", Body::empty(), &[]).await,
        w.get(&w.agent_a, "/api/v1/me").await,
        w.get(&w.agent_a, &format!("/tickets/{}", w.ticket_1)).await,
        w.raw(None, "GET", "/api/v1/tickets", Body::empty(), &[]).await,
        w.raw(None, "GET", "/no/such/page", Body::empty(), &[]).await,
    ];
    for r in &responses {
        for (name, value) in HEADER_SNAPSHOT {
            assert_eq!(
                r.headers.get(*name).and_then(|v| v.to_str().ok()),
                Some(*value),
                "header {name} (status {})",
                r.status
            );
        }
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    }
    assert_eq!(responses[3].headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn pages_contain_no_inline_script_or_style() {
    let w = World::new(Backend::Sqlite).await;
    for page in [
        w.raw(None, "GET", "/login", Body::empty(), &[]).await.text(),
        w.get(&w.agent_a, "/tickets").await.text(),
        w.get(&w.agent_a, &format!("/tickets/{}", w.ticket_1))
            .await
            .text(),
        w.get(&w.customer_1, "/tickets").await.text(),
    ] {
        // Scripts only from our origin's static files, with nothing inline.
        for (at, _) in page.match_indices("<script") {
            let tag = &page[at..page[at..].find("</script>").map_or(page.len(), |end| at + end)];
            assert!(
                tag.starts_with("<script src=\"/static/") && tag.ends_with('>'),
                "inline script in page: {tag}"
            );
        }
        assert!(
            !page.contains("style=") && !page.contains("<style"),
            "inline style in page"
        );
        assert!(
            !page.contains(" on") || !page.contains("onclick="),
            "event handler attribute"
        );
    }
}

#[tokio::test]
async fn user_text_is_escaped_in_pages() {
    let w = World::new(Backend::Sqlite).await;
    let body = json!({"subject": "<script>alert(1)</script>", "body": "<img src=x onerror=alert(2)>"});
    let r = w.json(&w.customer_1, "POST", "/api/v1/tickets", body).await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let page = w.get(&w.agent_a, &format!("/tickets/{id}")).await.text();
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)") || page.contains("&#60;script&#62;alert(1)"),
        "{page}"
    );
    assert!(!page.contains("<img src=x"));
}

palisade_testkit::on_both_backends!(bad_input_gets_a_clear_4xx_and_changes_nothing);

/// (what is wrong, path, body, headers, expected status)
type BadCase<'a> = (&'a str, String, Body, Vec<(&'a str, &'a str)>, StatusCode);

async fn bad_input_gets_a_clear_4xx_and_changes_nothing(backend: Backend) {
    let w = World::new(backend).await;
    let tickets = w.count("tickets").await;
    let messages = w.count("messages").await;
    let attachments = w.count("attachments").await;
    let json_ct = [("content-type", "application/json")];
    let t = w.ticket_1.clone();
    let cases: Vec<BadCase<'_>> = vec![
        (
            "invalid JSON",
            "/api/v1/tickets".into(),
            Body::from("{\"subject\": "),
            json_ct.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown field",
            "/api/v1/tickets".into(),
            Body::from(json!({"subject": "a", "body": "b", "priority": "urgent"}).to_string()),
            json_ct.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "invalid UTF-8",
            "/api/v1/tickets".into(),
            Body::from(vec![b'{', b'"', 0xff, 0xfe, b'"', b'}']),
            json_ct.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong content type",
            "/api/v1/tickets".into(),
            Body::from("subject=a"),
            vec![("content-type", "text/plain")],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "oversized JSON",
            "/api/v1/tickets".into(),
            Body::from(json!({"subject": "a", "body": "x".repeat(100_000)}).to_string()),
            json_ct.to_vec(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "control characters",
            format!("/api/v1/tickets/{t}/messages"),
            Body::from(json!({"body": "hi\u{0}there", "visibility": "public"}).to_string()),
            json_ct.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty body text",
            format!("/api/v1/tickets/{t}/messages"),
            Body::from(json!({"body": "   ", "visibility": "public"}).to_string()),
            json_ct.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown visibility",
            format!("/api/v1/tickets/{t}/messages"),
            Body::from(json!({"body": "x", "visibility": "secret"}).to_string()),
            json_ct.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "path traversal in file name",
            format!("/api/v1/tickets/{t}/attachments?filename=../../etc/passwd"),
            Body::from("x"),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "encoded traversal in file name",
            format!("/api/v1/tickets/{t}/attachments?filename=..%2F..%2Fetc%2Fpasswd"),
            Body::from("x"),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "oversized attachment",
            format!("/api/v1/tickets/{t}/attachments?filename=big.bin"),
            Body::from(vec![0u8; 300 * 1024]),
            vec![],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "empty attachment",
            format!("/api/v1/tickets/{t}/attachments?filename=e.txt"),
            Body::empty(),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad cursor",
            "/api/v1/tickets?cursor=%%%".into(),
            Body::empty(),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, path, body, headers, want) in cases {
        let method = if path.contains("cursor") { "GET" } else { "POST" };
        let r = w.raw(Some(&w.agent_a), method, &path, body, &headers).await;
        assert_eq!(r.status, want, "{name}: {}", r.text());
        assert_eq!(r.headers["content-type"], "application/problem+json", "{name}");
        let problem = r.json();
        assert_eq!(problem["status"], want.as_u16(), "{name}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}: a clear reason"
        );
    }
    assert_eq!(w.count("tickets").await, tickets);
    assert_eq!(w.count("messages").await, messages);
    assert_eq!(w.count("attachments").await, attachments);
}

#[tokio::test]
async fn attachments_download_as_files_never_as_pages() {
    let w = World::new(Backend::Sqlite).await;
    let path = format!("/api/v1/tickets/{}/attachments?filename=evil.html", w.ticket_1);
    let r = w
        .raw(
            Some(&w.customer_1),
            "POST",
            &path,
            Body::from("<html><script>alert(1)</script></html>"),
            &[("content-type", "text/html")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let d = w.get(&w.agent_a, &format!("/api/v1/attachments/{id}")).await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(
        d.headers["content-type"], "text/plain; charset=utf-8",
        "client's claimed type ignored"
    );
    assert_eq!(
        d.headers["content-disposition"],
        "attachment; filename*=UTF-8''evil.html"
    );
    assert_eq!(d.headers["x-content-type-options"], "nosniff");
    assert!(
        d.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
}

#[tokio::test]
async fn cross_site_form_posts_are_refused_and_same_site_ones_work() {
    let w = World::new(Backend::Sqlite).await;
    let cookie = format!("{}={}", palisade_web::SESSION_COOKIE, w.customer_1.token);
    let path = format!("/tickets/{}/messages", w.ticket_1);
    let form = ("content-type", "application/x-www-form-urlencoded");
    let before = w.count("messages").await;
    for attack in [
        vec![
            ("cookie", cookie.as_str()),
            form,
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![
            ("cookie", cookie.as_str()),
            form,
            ("origin", "https://evil.example"),
        ],
        vec![("cookie", cookie.as_str()), form, ("sec-fetch-site", "same-site")],
        vec![
            ("cookie", cookie.as_str()),
            form,
            ("referer", "https://evil.example/page"),
        ],
    ] {
        let r = w
            .raw(
                None,
                "POST",
                &path,
                Body::from("body=forged&visibility=public"),
                &attack,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{attack:?}");
    }
    assert_eq!(w.count("messages").await, before);
    let genuine = [
        ("cookie", cookie.as_str()),
        form,
        ("origin", ORIGIN),
        ("sec-fetch-site", "same-origin"),
    ];
    let r = w
        .raw(
            None,
            "POST",
            &path,
            Body::from("body=genuine&visibility=public"),
            &genuine,
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(w.count("messages").await, before + 1);
}

#[tokio::test]
async fn session_cookie_is_host_only_secure_httponly_lax() {
    let w = World::new(Backend::Sqlite).await;
    // A real sign-in through the API sets the cookie.
    let mut tx = w.store.begin().await.unwrap();
    let hash = w
        .state
        .identity
        .hasher()
        .hash(&palisade_core::SecretString::new("a long enough password".into()))
        .await
        .unwrap();
    w.store
        .set_password_hash(&mut tx, &w.customer_1.id, &hash)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({"email": "c1@sharing.test", "password": "a long enough password"}).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let cookie = r.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-palisade-session="));
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attr), "{attr} missing from {cookie}");
    }
    assert!(!cookie.contains("Domain="));
    // Wrong password and unknown account answer identically.
    let wrong = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({"email": "c1@sharing.test", "password": "not the password"}).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    let unknown = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({"email": "nobody@sharing.test", "password": "not the password"}).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    let entries = w.store.audit_entries(0, 10_000).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "auth.sign_in"
        && e.outcome == "failure"
        && e.detail.contains("wrong_password")));
    assert!(entries.iter().any(|e| e.action == "auth.sign_in"
        && e.outcome == "failure"
        && e.detail.contains("unknown_account")));
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.sign_in" && e.outcome == "success")
    );
}

#[tokio::test]
async fn signed_out_or_garbage_tokens_are_unauthenticated() {
    let w = World::new(Backend::Sqlite).await;
    let r = w
        .raw(
            Some(&w.agent_a),
            "DELETE",
            "/api/v1/sessions/current",
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        w.get(&w.agent_a, "/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    for bad in ["x", "' OR 1=1 --", &"A".repeat(43)] {
        let r = w
            .raw(
                None,
                "GET",
                "/api/v1/me",
                Body::empty(),
                &[("authorization", &format!("Bearer {bad}"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = w.raw(None, "GET", "/tickets", Body::empty(), &[]).await;
    assert_eq!(
        (r.status, r.headers["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login")
    );
}

/// The session comes as a `Lax` cookie and a `Strict` twin; the admin area wants both,
/// so a cross-site link or navigation (which carries only the `Lax` one) gets nothing
/// there, while the rest of the app works with the `Lax` cookie alone.
#[tokio::test]
async fn the_admin_area_needs_the_strict_cookie() {
    let w = World::new(Backend::Sqlite).await;
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/sessions",
            Body::from(json!({"email": "c1@sharing.test", "password": common::PASSWORD}).to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let token = r.json()["token"].as_str().unwrap().to_owned();
    assert!(
        cookies[0].starts_with(&format!("__Host-palisade-session={token};"))
            && cookies[0].contains("SameSite=Lax")
    );
    assert!(
        cookies[1].starts_with(&format!("__Host-palisade-strict={token};"))
            && cookies[1].contains("SameSite=Strict")
    );

    let admin = &w.admin.token;
    let lax_only = format!("__Host-palisade-session={admin}");
    let both = format!("{lax_only}; __Host-palisade-strict={admin}");
    let wrong_twin = format!("{lax_only}; __Host-palisade-strict={}", w.agent_a.token);
    let w = &w;
    let get = |cookie: String, path: &'static str| async move {
        w.raw(None, "GET", path, Body::empty(), &[("cookie", cookie.as_str())])
            .await
            .status
    };
    for path in ["/api/v1/audit", "/api/v1/agents", "/api/v1/teams"] {
        assert_eq!(get(lax_only.clone(), path).await, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            get(wrong_twin.clone(), path).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(get(both.clone(), path).await, StatusCode::OK, "{path}");
        // Bearer credentials are not ambient, so the rule does not apply to them.
        assert_eq!(w.get(&w.admin, path).await.status, StatusCode::OK, "{path}");
    }
    assert_eq!(get(lax_only.clone(), "/api/v1/tickets").await, StatusCode::OK);
    assert_eq!(get(lax_only, "/tickets").await, StatusCode::OK);
}

palisade_testkit::on_both_backends!(ticket_search_is_limited_per_account);

/// Every search reads and decrypts candidate tickets: a script sweeping the desk
/// through it meets the per-account limit (60 a minute), with 429 and Retry-After.
async fn ticket_search_is_limited_per_account(backend: Backend) {
    let w = World::new(backend).await;
    // Limits count in windows of the clock's minutes: start well inside one, so the
    // 61 requests cannot straddle two (a bounded wait of at most 12 s).
    let into_minute = palisade_core::UnixMillis::now().0 % 60_000;
    if into_minute > 48_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            (60_000 - into_minute + 200) as u64,
        ))
        .await;
    }
    let mut statuses = Vec::new();
    for n in 0..61 {
        statuses.push(
            w.get(&w.agent_a, &format!("/api/v1/tickets/search?q=word{n}"))
                .await
                .status,
        );
    }
    assert!(
        statuses[..60].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let last = w.get(&w.agent_a, "/api/v1/tickets/search?q=again").await;
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(last.headers.contains_key("retry-after"));
    // Another account is not slowed by it.
    assert_eq!(
        w.get(&w.supervisor, "/api/v1/tickets/search?q=word").await.status,
        StatusCode::OK
    );
}
