//! Single sign-on against a real OpenID provider (npm `oidc-provider` on loopback), on
//! SQLite and PostgreSQL: the genuine flows for customers and staff, and the attacks —
//! forged or broken ID tokens (wrong audience, expired, replayed or missing nonce, bad
//! signature, `alg: none`, a shared-secret signature, another issuer), answers replayed
//! or delivered to another browser, mix-up of two providers, accounts the provider
//! cannot claim, and roles the provider cannot grant.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{ORIGIN, Response, World};
use palisade_core::{Role, SecretString};
use palisade_identity::{OidcProviders, OidcSettings};
use palisade_testkit::Backend;
use palisade_testkit::oidc::{CLIENT_ID, CLIENT_SECRET, OidcPeer};
use serde_json::{Value, json};

palisade_testkit::on_both_backends!(
    a_customer_signs_in_by_verified_email_and_then_by_subject,
    staff_still_owe_a_local_second_factor_unless_provider_mfa_is_trusted,
    the_provider_cannot_claim_accounts_or_grant_roles,
    forged_and_broken_id_tokens_are_refused,
    an_answer_works_once_and_only_in_the_browser_that_asked,
    mixing_up_two_providers_is_refused,
    a_discovery_document_cannot_send_requests_or_the_client_secret_elsewhere,
);

struct Sso {
    w: World,
    peer: OidcPeer,
}

async fn setup(backend: Backend, configure: impl FnOnce(&mut OidcSettings)) -> Sso {
    let redirects = vec![
        format!("{ORIGIN}/login/sso/corp/callback"),
        format!("{ORIGIN}/login/sso/other/callback"),
    ];
    let peer = OidcPeer::start(&redirects).await.unwrap();
    let secret = || SecretString::new(CLIENT_SECRET.into());
    let mut corp = OidcSettings::new("corp", &peer.issuers[0], CLIENT_ID, secret());
    configure(&mut corp);
    let other = OidcSettings::new("other", &peer.issuers[1], CLIENT_ID, secret());
    let providers = OidcProviders::new(vec![corp, other], ORIGIN).unwrap();
    let w = World::new_with(backend, |identity| identity.with_oidc(providers)).await;
    Sso { w, peer }
}

fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|p| p.split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

fn location(r: &Response) -> String {
    r.headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl Sso {
    async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let header;
        let headers: Vec<(&str, &str)> = match cookie {
            Some(c) => {
                header = c.to_owned();
                vec![("cookie", header.as_str())]
            }
            None => vec![],
        };
        self.w.raw(None, "GET", path, Body::empty(), &headers).await
    }

    /// Starts at Palisade: the provider's authorisation URL and the browser-binding cookie.
    async fn start(&self, provider: &str) -> (String, String) {
        let r = self.get(&format!("/login/sso/{provider}"), None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let flow = set_cookie(&r, "__Host-palisade-sso").expect("flow cookie");
        (location(&r), format!("__Host-palisade-sso={flow}"))
    }

    /// The user signs in at the provider; the callback path (on Palisade) it sends back.
    async fn at_provider(&self, authorize_url: &str, user: Value) -> String {
        let back = self.peer.sign_in(authorize_url, &user.to_string()).await.unwrap();
        back.strip_prefix(ORIGIN)
            .expect("redirect back to Palisade")
            .to_owned()
    }

    async fn full_flow(&self, user: Value) -> Response {
        let (authorize, cookie) = self.start("corp").await;
        let callback = self.at_provider(&authorize, user).await;
        self.get(&callback, Some(&cookie)).await
    }

    async fn sessions(&self) -> i64 {
        self.w.count("sessions").await
    }

    /// The reasons of failed SSO sign-ins in the audit trail, oldest first.
    async fn failure_reasons(&self) -> Vec<String> {
        self.w
            .store
            .audit_entries(0, 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "auth.sign_in" && e.outcome == "failure")
            .filter_map(|e| serde_json::from_str::<Value>(&e.detail).ok())
            .filter(|d| d["method"] == "oidc")
            .map(|d| d["reason"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn customer_1(extra: Value) -> Value {
    let mut user = json!({
        "sub": "idp-user-c1",
        "email": "c1@sharing.test",
        "email_verified": true,
        "name": "Customer One",
        "amr": ["pwd"],
    });
    if let (Some(u), Some(e)) = (user.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            u.insert(k.clone(), v.clone());
        }
    }
    user
}

async fn a_customer_signs_in_by_verified_email_and_then_by_subject(backend: Backend) {
    let sso = setup(backend, |_| {}).await;
    let r = sso.full_flow(customer_1(json!({}))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), "/tickets");
    let token = set_cookie(&r, "__Host-palisade-session").expect("session cookie");
    // The flow cookie is cleared once the answer is in.
    assert!(
        r.headers
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("__Host-palisade-sso=;"))
    );
    let me = sso
        .get("/api/v1/me", Some(&format!("__Host-palisade-session={token}")))
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["id"], sso.w.customer_1.id.to_string());

    // Later sign-ins find the account by the provider's subject, even when the email
    // at the provider changed.
    let r = sso
        .full_flow(customer_1(json!({ "email": "renamed@elsewhere.test" })))
        .await;
    let token = set_cookie(&r, "__Host-palisade-session").expect("session cookie");
    let me = sso
        .get("/api/v1/me", Some(&format!("__Host-palisade-session={token}")))
        .await;
    assert_eq!(me.json()["id"], sso.w.customer_1.id.to_string());
    let links: Vec<_> = sso
        .w
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "auth.sso_linked")
        .collect();
    assert_eq!(links.len(), 1, "linked once, by verified email");
    assert_eq!(links[0].object, sso.w.customer_1.id.to_string());
    // The provider's subject is not stored in clear.
    let dump = String::from_utf8_lossy(&sso.w.db.raw_dump().await.unwrap()).into_owned();
    assert!(!dump.contains("idp-user-c1"));
}

async fn staff_still_owe_a_local_second_factor_unless_provider_mfa_is_trusted(backend: Backend) {
    let agent = json!({
        "sub": "idp-agent-a", "email": "agent.a@desk.test", "email_verified": true, "amr": ["pwd", "mfa"],
    });
    // Not trusted (the default): the provider's "mfa" claim changes nothing.
    let sso = setup(backend, |_| {}).await;
    let r = sso.full_flow(agent.clone()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(location(&r), "/login/second-factor");
    let token = set_cookie(&r, "__Host-palisade-session").unwrap();
    let tickets = sso
        .get(
            "/api/v1/tickets",
            Some(&format!("__Host-palisade-session={token}")),
        )
        .await;
    assert_eq!(
        tickets.status,
        StatusCode::UNAUTHORIZED,
        "a pending session reads nothing"
    );
    assert_eq!(
        tickets.json()["type"],
        "https://palisade.invalid/problems/second-factor-required"
    );
    drop(sso);

    // Trusted: an asserted MFA signs staff in; a password-only assertion still does not.
    let sso = setup(backend, |s| s.trust_provider_mfa = true).await;
    let r = sso.full_flow(agent.clone()).await;
    assert_eq!(location(&r), "/tickets", "{}", r.text());
    let mut password_only = agent.clone();
    password_only["amr"] = json!(["pwd"]);
    let r = sso.full_flow(password_only).await;
    assert_eq!(location(&r), "/login/second-factor");
}

async fn the_provider_cannot_claim_accounts_or_grant_roles(backend: Backend) {
    let sso = setup(backend, |_| {}).await;
    let before = sso.sessions().await;
    // An unverified email at the provider does not reach the account with that email.
    let r = sso
        .full_flow(customer_1(json!({ "email_verified": false })))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    // No account and creation off: nothing.
    let stranger = json!({ "sub": "s-1", "email": "new@outside.test", "email_verified": true });
    let r = sso.full_flow(stranger.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sso.sessions().await, before);
    assert_eq!(
        sso.failure_reasons().await,
        ["no_matching_account", "no_matching_account"]
    );

    // Disabled accounts stay out.
    sso.w
        .state
        .identity
        .disable_account(&sso.w.customer_2.id, &palisade_audit::AuditContext::system())
        .await
        .unwrap();
    let r = sso
        .full_flow(json!({ "sub": "c2", "email": "c2@sharing.test", "email_verified": true }))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    drop(sso);

    // Creation on: a customer, whatever the token says about roles.
    let sso = setup(backend, |s| s.create_accounts = true).await;
    let r = sso
        .full_flow(json!({
            "sub": "s-2", "email": "new@outside.test", "email_verified": true,
            "name": "New Person", "role": "admin", "roles": ["admin"], "groups": ["admins"],
        }))
        .await;
    assert_eq!(location(&r), "/tickets", "{}", r.text());
    let user = sso
        .w
        .store
        .find_user_by_email(&palisade_core::EmailAddress::parse("new@outside.test").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Customer);
    assert_eq!(user.name, "New Person");
}

async fn forged_and_broken_id_tokens_are_refused(backend: Backend) {
    let sso = setup(backend, |_| {}).await;
    let before = sso.sessions().await;
    let cases = [
        ("aud", "id_token_wrong_audience"),
        ("expired", "id_token_expired"),
        ("nonce", "id_token_bad_nonce"),
        ("no-nonce", "id_token_bad_nonce"),
        ("iss", "id_token_wrong_issuer"),
        ("sig", "id_token_bad_signature"),
        // Algorithms outside the allowlist fail signature checking outright.
        ("none", "id_token_bad_signature"),
        ("hs256", "id_token_bad_signature"),
    ];
    for (tamper, _) in cases {
        let r = sso.full_flow(customer_1(json!({ "tamper": tamper }))).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "tamper={tamper}: {}",
            r.text()
        );
        assert!(set_cookie(&r, "__Host-palisade-session").is_none());
    }
    assert_eq!(sso.sessions().await, before, "no session from any forged token");
    let reasons = sso.failure_reasons().await;
    assert_eq!(reasons.len(), cases.len());
    let expected: Vec<&str> = cases.iter().map(|(_, reason)| *reason).collect();
    assert_eq!(reasons, expected);
    // The genuine token still works afterwards.
    let r = sso.full_flow(customer_1(json!({}))).await;
    assert_eq!(location(&r), "/tickets", "{}", r.text());
}

async fn an_answer_works_once_and_only_in_the_browser_that_asked(backend: Backend) {
    let sso = setup(backend, |_| {}).await;
    // Login CSRF: the attacker's own answer delivered into a browser without the flow
    // cookie, or with the cookie of a different flow, opens nothing (and is used up).
    let (authorize, _attacker_cookie) = sso.start("corp").await;
    let callback = sso.at_provider(&authorize, customer_1(json!({}))).await;
    let (_, victim_cookie) = sso.start("corp").await;
    assert_eq!(sso.get(&callback, None).await.status, StatusCode::UNAUTHORIZED);
    let (authorize, _) = sso.start("corp").await;
    let callback = sso.at_provider(&authorize, customer_1(json!({}))).await;
    assert_eq!(
        sso.get(&callback, Some(&victim_cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Replay: the genuine answer works once.
    let (authorize, cookie) = sso.start("corp").await;
    let callback = sso.at_provider(&authorize, customer_1(json!({}))).await;
    assert_eq!(location(&sso.get(&callback, Some(&cookie)).await), "/tickets");
    assert_eq!(
        sso.get(&callback, Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // An answer without state, or with an error from the provider, opens nothing.
    assert_eq!(
        sso.get("/login/sso/corp/callback?code=abc", Some(&cookie))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sso.get("/login/sso/nobody/callback?code=abc&state=x", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sso.failure_reasons().await,
        [
            "browser_mismatch",
            "browser_mismatch",
            "unknown_expired_or_used_state",
            "missing_state"
        ]
    );
}

async fn mixing_up_two_providers_is_refused(backend: Backend) {
    let sso = setup(backend, |_| {}).await;
    let before = sso.sessions().await;
    // An answer from the flow started with "corp" delivered to "other"'s endpoint.
    let (authorize, cookie) = sso.start("corp").await;
    let callback = sso.at_provider(&authorize, customer_1(json!({}))).await;
    let swapped = callback.replace("/login/sso/corp/", "/login/sso/other/");
    assert_eq!(
        sso.get(&swapped, Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // An answer naming another issuer (RFC 9207) is refused before the code is redeemed.
    let (authorize, cookie) = sso.start("corp").await;
    let callback = sso.at_provider(&authorize, customer_1(json!({}))).await;
    let issuer_a = percent(&sso.peer.issuers[0]);
    let issuer_b = percent(&sso.peer.issuers[1]);
    assert!(callback.contains(&issuer_a), "{callback}");
    let forged = callback.replace(&issuer_a, &issuer_b);
    assert_eq!(
        sso.get(&forged, Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // A code issued by the other provider, delivered with this flow's state: the code
    // means nothing to this provider's token endpoint.
    let (authorize_other, _) = sso.start("other").await;
    let from_other = sso.at_provider(&authorize_other, customer_1(json!({}))).await;
    let (authorize, cookie) = sso.start("corp").await;
    let own = sso.at_provider(&authorize, customer_1(json!({}))).await;
    let code_of = |url: &str| query_param(url, "code");
    let spliced = own.replace(&code_of(&own), &code_of(&from_other));
    assert_eq!(
        sso.get(&spliced, Some(&cookie)).await.status,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(sso.sessions().await, before);
    assert_eq!(
        sso.failure_reasons().await,
        ["provider_mismatch", "issuer_mismatch", "token_exchange_failed"]
    );
}

fn percent(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

fn query_param(url: &str, name: &str) -> String {
    url.split(['?', '&'])
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

/// A loopback listener that counts connections and answers each with `answer(path)`.
struct Peer {
    origin: String,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

async fn serve_json(answer: impl Fn(&str, &str) -> String + Send + Sync + 'static) -> Peer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (counted, own_origin) = (connections.clone(), origin.clone());
    let task = tokio::spawn(async move {
        // Bounded: a test makes a handful of requests at most.
        for _ in 0..100 {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = vec![0u8; 8192];
            let n = stream.read(&mut request).await.unwrap_or(0);
            let text = String::from_utf8_lossy(&request[..n]).to_string();
            let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
            let body = answer(&own_origin, &path);
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    Peer {
        origin,
        connections,
        _task: task,
    }
}

/// SSRF and theft of the client secret through the discovery document: a provider's
/// document names a token endpoint or a key set on another host or port (here: another
/// loopback port, standing for an internal service). Palisade sends those nothing: no
/// key request, no token request, so never the client secret.
async fn a_discovery_document_cannot_send_requests_or_the_client_secret_elsewhere(backend: Backend) {
    use std::sync::atomic::Ordering;
    let internal = serve_json(|_, _| "{}".to_owned()).await;
    let internal_origin = internal.origin.clone();
    let discovery = move |elsewhere: &'static str| {
        let internal_origin = internal_origin.clone();
        move |own: &str, path: &str| {
            let (token, jwks) = match elsewhere {
                "token" => (format!("{internal_origin}/token"), format!("{own}/jwks")),
                _ => (format!("{own}/token"), format!("{internal_origin}/jwks")),
            };
            if path == "/jwks" {
                return json!({"keys": []}).to_string();
            }
            json!({
                "issuer": own,
                "authorization_endpoint": format!("{own}/auth"),
                "token_endpoint": token,
                "jwks_uri": jwks,
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            })
            .to_string()
        }
    };
    let token_elsewhere = serve_json(discovery("token")).await;
    let keys_elsewhere = serve_json(discovery("jwks")).await;
    let secret = || SecretString::new(CLIENT_SECRET.into());
    let providers = OidcProviders::new(
        vec![
            OidcSettings::new("tokens", &token_elsewhere.origin, CLIENT_ID, secret()),
            OidcSettings::new("keys", &keys_elsewhere.origin, CLIENT_ID, secret()),
        ],
        ORIGIN,
    )
    .unwrap();
    let w = World::new_with(backend, |identity| identity.with_oidc(providers)).await;
    let sessions_before = w.count("sessions").await;
    let get = |path: String, cookie: Option<String>| {
        let w = &w;
        async move {
            let headers: Vec<(&str, String)> = cookie.into_iter().map(|c| ("cookie", c)).collect();
            let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            w.raw(None, "GET", &path, Body::empty(), &headers).await
        }
    };

    // Keys on another origin: discovery is refused before any key request.
    let r = get("/login/sso/keys".into(), None).await;
    assert_ne!(
        r.status,
        StatusCode::SEE_OTHER,
        "no sign-in starts with foreign keys"
    );
    assert!(
        keys_elsewhere.connections.load(Ordering::SeqCst) >= 1,
        "the issuer was asked"
    );

    // Token endpoint on another origin: the flow starts (authorisation is a browser
    // redirect), but redeeming the code sends nothing there.
    let r = get("/login/sso/tokens".into(), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let flow = set_cookie(&r, "__Host-palisade-sso").expect("flow cookie");
    let state = query_param(&location(&r), "state");
    let r = get(
        format!("/login/sso/tokens/callback?code=stolen-secret-bait&state={state}"),
        Some(format!("__Host-palisade-sso={flow}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        internal.connections.load(Ordering::SeqCst),
        0,
        "nothing, and so no client secret, reached the other origin"
    );
    assert_eq!(
        w.count("sessions").await,
        sessions_before,
        "no session was opened"
    );
}
