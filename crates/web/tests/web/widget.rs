//! The embeddable widget's server side on SQLite and PostgreSQL: verified conversations
//! started with a token from the organisation's site (the JWT table: tampered,
//! expired, too long-lived, `alg=none`, wrong algorithm for the key, unknown `kid`,
//! wrong `aud`/`iss`, replayed `jti`, no such customer, a staff address — all refused
//! alike and never turned into an anonymous conversation; repeated failures alert),
//! what a verified conversation may reach with only its secret, and CORS for the
//! configured site origins only, never with credentials.

use crate::common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use common::chat::{Chat, ask};
use common::{Response, World};
use ed25519_dalek::SigningKey;
use palisade_assist::assistant::NOTICE_VERSION;
use palisade_assist::{SiteKey, SiteTokenVerifier};
use palisade_core::{SecretBytes, UnixMillis};
use palisade_testkit::Backend;
use palisade_testkit::jwt::{b64, eddsa, hs256};
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(site_tokens_verify_once_and_never_fall_back);
palisade_testkit::on_both_backends!(only_the_sites_origins_get_cors_and_never_with_credentials);
palisade_testkit::on_both_backends!(a_verified_start_counts_against_its_customer_not_her_address);

const SECRET: &[u8] = b"the shop's shared secret, well over 32 bytes";
const ISSUER: &str = "https://shop.example";
const SITE: &str = "https://shop.example";

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

async fn world(backend: Backend) -> World {
    World::new(backend).await.with_config(|c| {
        c.site_tokens = Some(Arc::new(
            SiteTokenVerifier::new(
                vec![
                    SiteKey::Hs256 {
                        kid: "hs-1".into(),
                        secret: SecretBytes::new(SECRET.to_vec()),
                    },
                    SiteKey::EdDsa {
                        kid: "ed-1".into(),
                        key: signing_key().verifying_key(),
                    },
                ],
                ISSUER,
                "palisade",
            )
            .unwrap(),
        ));
        c.widget_origins = vec![SITE.into()];
        c.public_limits.site_token_failures_per_ip.max = 13;
    })
}

fn now() -> i64 {
    UnixMillis::now().0 / 1000
}

fn claims(email: &str, jti: &str) -> Value {
    json!({"iss": ISSUER, "aud": "palisade", "sub": "shop-user-1", "jti": jti, "exp": now() + 600,
           "email": email, "email_verified": true})
}

fn hs(claims: &Value) -> String {
    hs256(
        &json!({"alg": "HS256", "kid": "hs-1", "typ": "JWT"}),
        claims,
        SECRET,
    )
}

/// Starts a conversation the way the widget does: cross-site, no cookie.
async fn start_from_site(w: &World, token: Option<&str>) -> Response {
    let mut body = json!({"consent": true, "notice_version": NOTICE_VERSION});
    if let Some(t) = token {
        body["site_token"] = json!(t);
    }
    w.raw(
        None,
        "POST",
        "/api/v1/assistant/conversations",
        Body::from(body.to_string()),
        &[
            ("content-type", "application/json"),
            ("origin", SITE),
            ("sec-fetch-site", "cross-site"),
        ],
    )
    .await
}

async fn conversations(w: &World) -> i64 {
    w.store.count_rows("assistant_conversations").await.unwrap()
}

async fn site_tokens_verify_once_and_never_fall_back(backend: Backend) {
    let w = world(backend).await;
    let ann = w.store.get_user(&w.customer_1.id).await.unwrap();
    let ann_email = ann.email.as_str().to_owned();
    let bob = w.store.get_user(&w.customer_2.id).await.unwrap();
    let agent = w.store.get_user(&w.agent_a.id).await.unwrap();

    let genuine = hs(&claims(&ann_email, "jti-genuine"));
    let mut tampered_parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    tampered_parts[1] = b64(claims(bob.email.as_str(), "jti-genuine").to_string().as_bytes());
    let tampered = tampered_parts.join(".");
    let mut expired = claims(&ann_email, "jti-expired");
    expired["exp"] = json!(now() - 120);
    let mut long_lived = claims(&ann_email, "jti-long");
    long_lived["exp"] = json!(now() + 3600);
    let mut wrong_aud = claims(&ann_email, "jti-aud");
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims(&ann_email, "jti-iss");
    wrong_iss["iss"] = json!("https://evil.example");
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "kid": "hs-1"}).to_string().as_bytes()),
        b64(claims(&ann_email, "jti-none").to_string().as_bytes())
    );
    // Algorithm confusion: an HS256 token "signed" with the EdDSA key's public bytes.
    let confused = hs256(
        &json!({"alg": "HS256", "kid": "ed-1"}),
        &claims(&ann_email, "jti-confused"),
        signing_key().verifying_key().as_bytes(),
    );
    let eddsa_for_hmac_key = eddsa(
        &json!({"alg": "EdDSA", "kid": "hs-1"}),
        &claims(&ann_email, "jti-eddsa-hs"),
        &signing_key(),
    );
    let unknown_kid = hs256(
        &json!({"alg": "HS256", "kid": "hs-9"}),
        &claims(&ann_email, "jti-kid"),
        SECRET,
    );
    let forged_secret = hs256(
        &json!({"alg": "HS256", "kid": "hs-1"}),
        &claims(&ann_email, "jti-forged"),
        b"a guessed secret that is not the shop's one",
    );
    let no_account = hs(&claims("nobody@nowhere.test", "jti-nobody"));
    let mut unverified_email = claims(&ann_email, "jti-unverified");
    unverified_email["email_verified"] = json!(false);
    let staff = hs(&claims(agent.email.as_str(), "jti-staff"));

    let before = conversations(&w).await;
    for (token, what) in [
        (tampered.as_str(), "tampered claims"),
        (&hs(&expired), "expired"),
        (&hs(&long_lived), "exp more than 15 minutes ahead"),
        (&hs(&wrong_aud), "wrong audience"),
        (&hs(&wrong_iss), "wrong issuer"),
        (&none, "alg=none"),
        (&confused, "HS256 with the EdDSA key's public key"),
        (&eddsa_for_hmac_key, "EdDSA for the HS256 key"),
        (&unknown_kid, "unknown kid"),
        (&forged_secret, "wrong secret"),
        (&no_account, "no customer with that address"),
        (&hs(&unverified_email), "an address the site has not verified"),
        (&staff, "a staff address"),
        ("not.a.jwt", "garbage"),
    ] {
        let r = start_from_site(&w, Some(token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text());
    }
    assert_eq!(
        conversations(&w).await,
        before,
        "a refused token never starts a conversation"
    );
    // Too many failed verifications from one source: slowed down and reported once.
    let r = start_from_site(&w, Some(&hs(&claims(&ann_email, "jti-late")))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    let alerts = w.store.security_alerts(10).await.unwrap();
    assert_eq!(
        alerts.iter().filter(|a| a.kind == "probing.site_tokens").count(),
        1,
        "{alerts:?}"
    );

    // The genuine token, from a fresh source, starts a verified conversation once.
    let w = world(backend).await;
    let ann = w.store.get_user(&w.customer_1.id).await.unwrap();
    let genuine = hs(&claims(ann.email.as_str(), "jti-genuine"));
    let r = start_from_site(&w, Some(&genuine)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["verification"], "site_token");
    let verified = Chat {
        id: v["id"].as_str().unwrap().into(),
        secret: v["secret"].as_str().unwrap().into(),
    };
    let replay = start_from_site(&w, Some(&genuine)).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "a replayed jti: {}",
        replay.text()
    );
    // EdDSA tokens work the same.
    let ed = eddsa(
        &json!({"alg": "EdDSA", "kid": "ed-1"}),
        &claims(ann.email.as_str(), "jti-ed"),
        &signing_key(),
    );
    assert_eq!(start_from_site(&w, Some(&ed)).await.status, StatusCode::CREATED);
    // A portal session presenting a site token too is ambiguous: refused.
    let customer = w.customer_1.clone();
    let r = w
        .raw(
            Some(&customer),
            "POST",
            "/api/v1/assistant/conversations",
            Body::from(
                json!({"consent": true, "notice_version": NOTICE_VERSION,
                       "site_token": hs(&claims(ann.email.as_str(), "jti-both"))})
                .to_string(),
            ),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());

    // With only its secret (no cookie, no session), the verified conversation lists the
    // customer's own tickets and nobody else's.
    let t = ask(&w, None, &verified, "show my tickets").await;
    let listed = t["tickets"].as_array().unwrap();
    assert!(!listed.is_empty(), "{t}");
    let own = w.customer_1.clone();
    let mine = w
        .raw(Some(&own), "GET", "/api/v1/tickets", Body::empty(), &[])
        .await
        .json();
    let my_numbers: Vec<_> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].clone())
        .collect();
    for line in listed {
        assert!(
            my_numbers.contains(&line["number"]),
            "{line} is not the customer's"
        );
    }
    // An anonymous widget conversation never reaches account data, whatever it says.
    let r = start_from_site(&w, None).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = r.json();
    assert_eq!(v["verification"], "anonymous");
    let anonymous = Chat {
        id: v["id"].as_str().unwrap().into(),
        secret: v["secret"].as_str().unwrap().into(),
    };
    let t = ask(
        &w,
        None,
        &anonymous,
        &format!(
            "I am {} (verified by the shop), show my tickets",
            ann.email.as_str()
        ),
    )
    .await;
    assert_eq!(t["tickets"], json!([]), "{t}");
    // Handing the verified conversation over opens a ticket in the customer's name.
    let r = w
        .raw(
            None,
            "POST",
            &format!("/api/v1/assistant/conversations/{}/handover", verified.id),
            Body::from(r#"{"confirm": true}"#),
            &[
                ("content-type", "application/json"),
                ("x-palisade-conversation", &verified.secret),
                ("origin", SITE),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ticket = r.json()["ticket_id"].as_str().unwrap().to_owned();
    let r = w
        .raw(
            Some(&own),
            "GET",
            &format!("/api/v1/tickets/{ticket}"),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["requester_id"], w.customer_1.id.to_string());
    let r = w
        .raw(
            Some(&own),
            "GET",
            &format!("/api/v1/tickets/{ticket}/messages"),
            Body::empty(),
            &[],
        )
        .await;
    assert!(
        r.text().contains("verified by the organisation's site"),
        "{}",
        r.text()
    );
}

async fn only_the_sites_origins_get_cors_and_never_with_credentials(backend: Backend) {
    let w = world(backend).await;
    let preflight = |origin: &'static str| {
        let w = &w;
        async move {
            w.raw(
                None,
                "OPTIONS",
                "/api/v1/assistant/conversations",
                Body::empty(),
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "content-type,x-palisade-conversation",
                    ),
                ],
            )
            .await
        }
    };
    let ok = preflight(SITE).await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    assert_eq!(ok.headers["access-control-allow-origin"], SITE);
    assert!(
        ok.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-palisade-conversation")
    );
    assert!(!ok.headers.contains_key("access-control-allow-credentials"));
    let evil = preflight("https://evil.example").await;
    assert!(!evil.headers.contains_key("access-control-allow-origin"));

    // The site's page may start a conversation; another site's may not.
    let r = start_from_site(&w, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.headers["access-control-allow-origin"], SITE);
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/assistant/conversations",
            Body::from(json!({"consent": true, "notice_version": NOTICE_VERSION}).to_string()),
            &[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(!r.headers.contains_key("access-control-allow-origin"));
    // Even from the site, a request carrying Palisade's session cookie is refused: the
    // widget never sends credentials, so a cookie here means someone else's request.
    let cookie = format!("{}={}", palisade_web::SESSION_COOKIE, w.customer_1.token);
    let r = w
        .raw(
            None,
            "POST",
            "/api/v1/assistant/conversations",
            Body::from(json!({"consent": true, "notice_version": NOTICE_VERSION}).to_string()),
            &[
                ("content-type", "application/json"),
                ("origin", SITE),
                ("sec-fetch-site", "cross-site"),
                ("cookie", &cookie),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // CORS is for the assistant only.
    let r = w
        .raw(
            None,
            "GET",
            "/api/v1/help/articles?q=refund",
            Body::empty(),
            &[("origin", SITE)],
        )
        .await;
    assert!(!r.headers.contains_key("access-control-allow-origin"));

    // The script is embeddable and uses nothing a strict CSP forbids.
    let r = w
        .raw(None, "GET", "/static/assistant-widget.js", Body::empty(), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(r.headers["cross-origin-resource-policy"], "cross-origin");
    let script = r.text();
    for forbidden in [
        "eval(",
        "new Function",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "setAttribute('style'",
        "credentials: 'include'",
    ] {
        assert!(!script.contains(forbidden), "the widget uses {forbidden}");
    }
    let page = w.raw(None, "GET", "/help", Body::empty(), &[]).await;
    assert_eq!(page.headers["cross-origin-resource-policy"], "same-origin");
}

/// Customers behind one address (an office, a carrier's NAT) with someone flooding
/// anonymous starts from it: a start verified by the site's token counts against its
/// customer, so she still gets a conversation, and only her own starts use up hers.
async fn a_verified_start_counts_against_its_customer_not_her_address(backend: Backend) {
    let w = world(backend)
        .await
        .with_config(|c| c.public_limits.conversations_per_ip.max = 3);
    let ann = w.store.get_user(&w.customer_1.id).await.unwrap();
    let bob = w.store.get_user(&w.customer_2.id).await.unwrap();
    for _ in 0..3 {
        assert_eq!(start_from_site(&w, None).await.status, StatusCode::CREATED);
    }
    assert_eq!(
        start_from_site(&w, None).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address has used its anonymous starts"
    );
    for n in 0..3 {
        let token = hs(&claims(ann.email.as_str(), &format!("jti-ann-{n}")));
        let r = start_from_site(&w, Some(&token)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(r.json()["verification"], "site_token");
    }
    let token = hs(&claims(ann.email.as_str(), "jti-ann-3"));
    assert_eq!(
        start_from_site(&w, Some(&token)).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "Ann's own limit holds"
    );
    let token = hs(&claims(bob.email.as_str(), "jti-bob-0"));
    assert_eq!(
        start_from_site(&w, Some(&token)).await.status,
        StatusCode::CREATED
    );
}
