//! The OAuth 2.0 authorisation server driven by an independent client, the `oauth2`
//! crate, on SQLite and PostgreSQL: a person allows an application on the consent page
//! (with a session cookie, as a browser would), the application exchanges the code
//! with PKCE, uses the token within the person's rights and its scopes, refreshes it
//! (rotated), and a server application acts as the account an administrator named.
//! The attacks: a redirect URI not registered (no redirect at all), an unknown client,
//! PKCE missing or downgraded, a code replayed or redeemed by another client or with
//! the wrong verifier, a scope widened at refresh, a refresh token reused (the whole
//! grant ends), one client's token at another, consent posted from another site or with
//! a bearer credential, the tokens of a disabled person, a revoked grant or token.

use crate::common;

use std::convert::Infallible;

use axum::body::Body;
use axum::http::StatusCode;
use common::{APP_REDIRECT, ORIGIN, World};
use http_body_util::BodyExt;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use palisade_testkit::Backend;
use serde_json::{Value, json};
use tower::ServiceExt;

palisade_testkit::on_both_backends!(
    an_application_works_for_a_person_within_their_rights_and_what_they_allowed
);

const NATIVE_REDIRECT: &str = "http://127.0.0.1:8765/cb";

/// The application's HTTP client: requests go to this world's router, as they would
/// over the network to the server.
fn http(
    w: &World,
) -> impl Fn(
    oauth2::HttpRequest,
) -> std::pin::Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Infallible>> + Send>> {
    let app = w.app.clone();
    move |request: oauth2::HttpRequest| {
        let app = app.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut builder = axum::http::Request::builder()
                .method(parts.method)
                .uri(parts.uri.path_and_query().unwrap().as_str());
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let response = app
                .oneshot(builder.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.into_body().collect().await.unwrap().to_bytes().to_vec();
            let mut out = oauth2::http::Response::builder().status(status);
            for (name, value) in &headers {
                out = out.header(name, value);
            }
            Ok(out.body(bytes).unwrap())
        })
    }
}

macro_rules! client {
    ($id:expr, $redirect:expr) => {
        BasicClient::new(ClientId::new($id.to_owned()))
            .set_auth_uri(AuthUrl::new(format!("{ORIGIN}/oauth/authorize")).unwrap())
            .set_token_uri(TokenUrl::new(format!("{ORIGIN}/oauth/token")).unwrap())
            .set_redirect_uri(RedirectUrl::new($redirect.to_owned()).unwrap())
    };
}

fn cookie(who: &common::Actor) -> String {
    format!("__Host-palisade-session={}", who.token)
}

/// What the browser sees at `url` (path and query on this site), signed in as `who`.
async fn browse(w: &World, who: &common::Actor, url: &str) -> common::Response {
    let path = url.strip_prefix(ORIGIN).unwrap_or(url);
    w.raw(None, "GET", path, Body::empty(), &[("cookie", &cookie(who))])
        .await
}

/// The person decides on the consent page (the form this site served, posted from it).
async fn decide(w: &World, who: &common::Actor, url: &str, decision: &str, origin: &str) -> common::Response {
    let query = url.split_once('?').unwrap().1;
    let body = format!("{query}&decision={decision}");
    w.raw(
        None,
        "POST",
        "/oauth/authorize",
        Body::from(body),
        &[
            ("cookie", &cookie(who)),
            ("origin", origin),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
    )
    .await
}

fn location(r: &common::Response) -> String {
    r.headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn query_value(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Allows `client` for `who` with `scopes` and returns the code and its verifier.
async fn authorised_code(
    w: &World,
    who: &common::Actor,
    client_id: &str,
    redirect: &str,
    scopes: &[&str],
) -> (String, PkceCodeVerifier) {
    let client = client!(client_id, redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, state) = request.url();
    let page = browse(w, who, url.as_str()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let answer = decide(w, who, url.as_str(), "allow", ORIGIN).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let back = location(&answer);
    assert!(back.starts_with(redirect), "{back}");
    assert_eq!(
        query_value(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(query_value(&back, "iss").as_deref(), Some(ORIGIN));
    (query_value(&back, "code").unwrap(), verifier)
}

fn refused_with<E: std::error::Error + 'static, T>(
    result: Result<T, RequestTokenError<E, oauth2::StandardErrorResponse<BasicErrorResponseType>>>,
) -> BasicErrorResponseType {
    match result {
        Err(RequestTokenError::ServerResponse(e)) => e.error().clone(),
        Err(other) => panic!("not an OAuth refusal: {other:?}"),
        Ok(_) => panic!("accepted"),
    }
}

async fn api_status(w: &World, token: &str, method: &str, path: &str, body: Option<Value>) -> StatusCode {
    let (body, headers): (Body, Vec<(&str, &str)>) = match body {
        Some(v) => (
            Body::from(v.to_string()),
            vec![("content-type", "application/json")],
        ),
        None => (Body::empty(), vec![]),
    };
    let auth = format!("Bearer {token}");
    let mut all = headers;
    all.push(("authorization", &auth));
    w.raw(None, method, path, body, &all).await.status
}

async fn an_application_works_for_a_person_within_their_rights_and_what_they_allowed(backend: Backend) {
    let w = World::new(backend).await;
    let http = http(&w);
    let secret = w.oauth_client_secret.clone();
    let crm = client!(w.oauth_client, APP_REDIRECT).set_client_secret(ClientSecret::new(secret.clone()));

    // A public (native) application: PKCE only, no secret.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/oauth/clients",
            json!({"name": "Phone app", "redirect_uris": [NATIVE_REDIRECT], "scopes": ["tickets:read"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.json()["client_secret"].is_null());
    let phone_id = r.json()["client"]["id"].as_str().unwrap().to_owned();

    // The server publishes what it offers (RFC 8414).
    let meta = w
        .raw(
            None,
            "GET",
            "/.well-known/oauth-authorization-server",
            Body::empty(),
            &[],
        )
        .await
        .json();
    assert_eq!(meta["issuer"], ORIGIN);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["token_endpoint"], format!("{ORIGIN}/oauth/token"));

    // Genuine: agent A allows the CRM to read tickets; the consent page says so in words
    // and may send the browser only to the application's origin.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = crm
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("tickets:read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let page = browse(&w, &w.agent_a, url.as_str()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("CRM app") && page.text().contains("read tickets you can read"));
    let policy = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        policy.contains("form-action 'self' https://app.example.test;"),
        "{policy}"
    );
    // Attack: consent posted from another site, or with a bearer credential, is refused.
    let forged = decide(&w, &w.agent_a, url.as_str(), "allow", "https://evil.example").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let query = url.as_str().split_once('?').unwrap().1;
    let bearer = w
        .form(&w.agent_a, "/oauth/authorize", &format!("{query}&decision=allow"))
        .await;
    assert!(
        location(&bearer).is_empty() && bearer.status == StatusCode::FORBIDDEN,
        "{}",
        bearer.status
    );
    let answer = decide(&w, &w.agent_a, url.as_str(), "allow", ORIGIN).await;
    let back = location(&answer);
    assert_eq!(
        query_value(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = query_value(&back, "code").unwrap();
    // Attack: the code with the wrong verifier, or at another client, is refused, and
    // burns nothing: the genuine exchange still works.
    let wrong = crm
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(PkceCodeVerifier::new("x".repeat(43)))
        .request_async(&http)
        .await;
    assert_eq!(refused_with(wrong), BasicErrorResponseType::InvalidGrant);
    let genuine = crm
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await;
    assert!(genuine.is_ok(), "a wrong presentation does not spend the code");
    let phone = client!(phone_id, NATIVE_REDIRECT);
    let (code, verifier) =
        authorised_code(&w, &w.agent_a, &w.oauth_client, APP_REDIRECT, &["tickets:read"]).await;
    let injected = phone
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.secret().clone()))
        .request_async(&http)
        .await;
    assert_eq!(refused_with(injected), BasicErrorResponseType::InvalidGrant);
    assert!(
        crm.exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .is_ok(),
        "another client's attempt left the code to its own client"
    );

    // Genuine, start to end.
    let (code, verifier) =
        authorised_code(&w, &w.agent_a, &w.oauth_client, APP_REDIRECT, &["tickets:read"]).await;
    let tokens = crm
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let access = tokens.access_token().secret().clone();
    assert!(access.starts_with("poa_"));
    assert_eq!(tokens.scopes().unwrap()[0].as_str(), "tickets:read");
    // Within the person's rights and the scope: team A's ticket yes, team B's no, and
    // no reply (tickets:write was not allowed).
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_3),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    let reply = json!({"body": "From the CRM", "visibility": "public"});
    assert_eq!(
        api_status(
            &w,
            &access,
            "POST",
            &format!("/api/v1/tickets/{}/messages", w.ticket_1),
            Some(reply)
        )
        .await,
        StatusCode::FORBIDDEN
    );
    // Attack: the code replayed. Refused, and the grant it made ends with its tokens.
    let replay = crm
        .exchange_code(AuthorizationCode::new(code))
        .request_async(&http)
        .await;
    assert_eq!(refused_with(replay), BasicErrorResponseType::InvalidGrant);
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );

    // Refresh: rotated on use; a scope never widens; a reused refresh token ends the grant.
    let (code, verifier) =
        authorised_code(&w, &w.agent_a, &w.oauth_client, APP_REDIRECT, &["tickets:read"]).await;
    let tokens = crm
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let first_refresh = tokens.refresh_token().unwrap().clone();
    let widened = crm
        .exchange_refresh_token(&first_refresh)
        .add_scope(Scope::new("tickets:write".into()))
        .request_async(&http)
        .await;
    assert_eq!(refused_with(widened), BasicErrorResponseType::InvalidScope);
    // Attack: another client presents this client's refresh token.
    let stolen = phone
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await;
    assert_eq!(refused_with(stolen), BasicErrorResponseType::InvalidGrant);
    let renewed = crm
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await
        .unwrap();
    let second_refresh = renewed.refresh_token().unwrap().clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    let renewed_access = renewed.access_token().secret().clone();
    assert_eq!(
        api_status(
            &w,
            &renewed_access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::OK
    );
    // Introspection: the client the token is for learns what it allows; another nothing.
    let introspect = |client: &str, secret: Option<&str>, token: &str| {
        let mut body = format!("token={token}&client_id={client}");
        if let Some(secret) = secret {
            body.push_str(&format!("&client_secret={secret}"));
        }
        let w = &w;
        async move {
            w.raw(
                None,
                "POST",
                "/oauth/introspect",
                Body::from(body),
                &[("content-type", "application/x-www-form-urlencoded")],
            )
            .await
            .json()
        }
    };
    let own = introspect(&w.oauth_client, Some(&secret), &renewed_access).await;
    assert_eq!(own["active"], true, "{own}");
    assert_eq!(own["sub"], w.agent_a.id.to_string());
    assert_eq!(own["scope"], "tickets:read");
    assert_eq!(
        introspect(&phone_id, None, &renewed_access).await,
        json!({"active": false})
    );
    // Attack: the first refresh token used again — someone holds a copy. Everything of
    // the grant ends, the newest tokens included.
    let reused = crm
        .exchange_refresh_token(&first_refresh)
        .request_async(&http)
        .await;
    assert_eq!(refused_with(reused), BasicErrorResponseType::InvalidGrant);
    assert_eq!(
        api_status(
            &w,
            &renewed_access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    let after = crm
        .exchange_refresh_token(&second_refresh)
        .request_async(&http)
        .await;
    assert_eq!(refused_with(after), BasicErrorResponseType::InvalidGrant);
    assert_eq!(
        introspect(&w.oauth_client, Some(&secret), &renewed_access).await["active"],
        false
    );

    // Attack: bad authorization requests. An unregistered redirect URI or client gets a
    // page, never a redirect; missing or downgraded PKCE goes back as an error.
    let client_id = w.oauth_client.clone();
    for (query, status) in [
        (
            format!(
                "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!(
                "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb%2F..%2Fother&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            "response_type=code&client_id=cli_unknown&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb"
                .to_owned(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = browse(&w, &w.agent_a, &format!("/oauth/authorize?{query}")).await;
        assert_eq!(r.status, status, "{query}");
        assert!(location(&r).is_empty(), "never redirected: {query}");
    }
    for (query, error) in [
        (
            format!(
                "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb&state=s1"
            ),
            "invalid_request",
        ),
        (
            format!(
                "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain"
            ),
            "invalid_request",
        ),
        (
            format!(
                "response_type=token&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
            ),
            "unsupported_response_type",
        ),
        (
            format!(
                "response_type=code&client_id={client_id}&redirect_uri=https%3A%2F%2Fapp.example.test%2Fcb&state=s1&scope=audit%3Aread&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
            ),
            "invalid_scope",
        ),
    ] {
        let r = browse(&w, &w.agent_a, &format!("/oauth/authorize?{query}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{query}");
        let back = location(&r);
        assert!(back.starts_with(APP_REDIRECT), "{back}");
        assert_eq!(query_value(&back, "error").as_deref(), Some(error), "{query}");
        assert_eq!(query_value(&back, "state").as_deref(), Some("s1"));
    }
    // Declining sends the browser back with access_denied and no code.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = crm
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let declined = decide(&w, &w.agent_a, url.as_str(), "deny", ORIGIN).await;
    assert_eq!(
        query_value(&location(&declined), "error").as_deref(),
        Some("access_denied")
    );
    assert!(query_value(&location(&declined), "code").is_none());

    // The public application: agent A on the phone, proving nothing but PKCE.
    let (code, verifier) =
        authorised_code(&w, &w.agent_a, &phone_id, NATIVE_REDIRECT, &["tickets:read"]).await;
    let phone_tokens = phone
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let phone_access = phone_tokens.access_token().secret().clone();
    assert_eq!(
        api_status(
            &w,
            &phone_access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::OK
    );
    // The person sees it among their applications and revokes it: its token stops.
    let grants = w.get(&w.agent_a, "/api/v1/me/oauth/grants").await.json();
    let phone_grant = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["client_id"] == phone_id.as_str() && g["revoked_at"].is_null())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = w.get(&w.agent_a, "/account/apps").await;
    assert!(page.text().contains("Phone app"));
    // Attack: someone else revokes it.
    let r = w
        .raw(
            Some(&w.agent_b),
            "DELETE",
            &format!("/api/v1/me/oauth/grants/{phone_grant}"),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = w
        .raw(
            Some(&w.agent_a),
            "DELETE",
            &format!("/api/v1/me/oauth/grants/{phone_grant}"),
            Body::empty(),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api_status(
            &w,
            &phone_access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );

    // Revocation by the application (RFC 7009) ends one access token.
    let (code, verifier) =
        authorised_code(&w, &w.agent_a, &w.oauth_client, APP_REDIRECT, &["tickets:read"]).await;
    let tokens = crm
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let access = tokens.access_token().secret().clone();
    let revoke = w
        .raw(
            None,
            "POST",
            "/oauth/revoke",
            Body::from(format!(
                "token={access}&client_id={}&client_secret={secret}",
                w.oauth_client
            )),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(revoke.status, StatusCode::OK);
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    // Its refresh token still works (only the access token was revoked)...
    let renewed = crm
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http)
        .await
        .unwrap();
    let access = renewed.access_token().secret().clone();
    // ...until the person is disabled: then nothing of theirs works.
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/users/{}/disable", w.agent_a.id),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text());
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    let after = crm
        .exchange_refresh_token(renewed.refresh_token().unwrap())
        .request_async(&http)
        .await;
    assert_eq!(refused_with(after), BasicErrorResponseType::InvalidGrant);

    // The audit trail has the consent, the replays and the revocations.
    let trail = w.get(&w.auditor, "/api/v1/audit").await.text();
    for action in [
        "integrations.oauth_authorized",
        "integrations.oauth_grant_revoked",
        "integrations.oauth_client_registered",
    ] {
        assert!(trail.contains(action), "{action}");
    }
    assert!(trail.contains("refresh_reused") && trail.contains("code_replayed"));
}

#[tokio::test]
async fn a_server_application_acts_as_the_account_an_administrator_named() {
    let w = World::new(Backend::Sqlite).await;
    let http = http(&w);
    // Attack: a public client may not act as an account; nor may an account be a customer.
    let r = w
        .json(
            &w.admin,
            "POST",
            "/api/v1/oauth/clients",
            json!({"name": "Sync", "scopes": ["tickets:read"], "act_as_id": w.agent_b.id.to_string()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = w
        .json(&w.admin, "POST", "/api/v1/oauth/clients",
              json!({"name": "Sync", "confidential": true, "scopes": ["tickets:read"], "act_as_id": w.customer_1.id.to_string()}))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = w
        .json(&w.admin, "POST", "/api/v1/oauth/clients",
              json!({"name": "Sync", "confidential": true, "scopes": ["tickets:read"], "act_as_id": w.agent_b.id.to_string()}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["client"]["id"].as_str().unwrap().to_owned();
    let secret = r.json()["client_secret"].as_str().unwrap().to_owned();
    let sync = BasicClient::new(ClientId::new(id.clone()))
        .set_client_secret(ClientSecret::new(secret.clone()))
        .set_token_uri(TokenUrl::new(format!("{ORIGIN}/oauth/token")).unwrap());
    let tokens = sync
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_none(), "no person, no refresh");
    let access = tokens.access_token().secret().clone();
    // Agent B's rights: team B's ticket, not team A's.
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_3),
            None
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_1),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    // Attack: a wrong secret, a scope beyond the application's, the fixture's client
    // (which acts as nobody).
    let wrong = BasicClient::new(ClientId::new(id.clone()))
        .set_client_secret(ClientSecret::new(format!("pcs_{}", "A".repeat(43))))
        .set_token_uri(TokenUrl::new(format!("{ORIGIN}/oauth/token")).unwrap());
    assert_eq!(
        refused_with(wrong.exchange_client_credentials().request_async(&http).await),
        BasicErrorResponseType::InvalidClient
    );
    let wider = sync
        .exchange_client_credentials()
        .add_scope(Scope::new("tickets:write".into()))
        .request_async(&http)
        .await;
    assert_eq!(refused_with(wider), BasicErrorResponseType::InvalidScope);
    let crm = BasicClient::new(ClientId::new(w.oauth_client.clone()))
        .set_client_secret(ClientSecret::new(w.oauth_client_secret.clone()))
        .set_token_uri(TokenUrl::new(format!("{ORIGIN}/oauth/token")).unwrap());
    assert_eq!(
        refused_with(crm.exchange_client_credentials().request_async(&http).await),
        BasicErrorResponseType::UnauthorizedClient
    );
    // A new secret: the old one stops at once.
    let r = w
        .json(
            &w.admin,
            "POST",
            &format!("/api/v1/oauth/clients/{id}/secret"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        refused_with(sync.exchange_client_credentials().request_async(&http).await),
        BasicErrorResponseType::InvalidClient
    );
    // Disabling the application ends its tokens.
    let body = json!({"name": "Sync", "scopes": ["tickets:read"], "act_as_id": w.agent_b.id.to_string(), "enabled": false});
    let r = w
        .json(&w.admin, "PUT", &format!("/api/v1/oauth/clients/{id}"), body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        api_status(
            &w,
            &access,
            "GET",
            &format!("/api/v1/tickets/{}", w.ticket_3),
            None
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_administrator_registers_applications_in_the_pages() {
    let w = World::new(Backend::Sqlite).await;
    let page = w.get(&w.admin, "/admin/apps").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("CRM app"));
    let r = w
        .form(&w.admin, "/admin/apps",
              "name=Billing&kind=confidential&redirect_uris=http%3A%2F%2Fbilling.example.test%2Fcb&scope=tickets%3Aread&enabled=on")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "plain http to a public host");
    assert!(r.text().contains("billing.example.test"));
    let r = w
        .form(&w.admin, "/admin/apps",
              "name=Billing&kind=confidential&redirect_uris=https%3A%2F%2Fbilling.example.test%2Fcb%0D%0Ahttp%3A%2F%2F127.0.0.1%3A9000%2Fcb&scope=tickets%3Aread&scope=people%3Aread&enabled=on")
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.text().contains("id=\"app-secret\"") && r.text().contains("pcs_"));
    let listed = w.get(&w.admin, "/api/v1/oauth/clients").await.json();
    let billing = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Billing")
        .unwrap()
        .clone();
    assert_eq!(
        billing["redirect_uris"],
        json!(["https://billing.example.test/cb", "http://127.0.0.1:9000/cb"])
    );
    assert_eq!(billing["scopes"], json!(["tickets:read", "people:read"]));
    let id = billing["id"].as_str().unwrap();
    let page = w.get(&w.admin, &format!("/admin/apps/{id}")).await;
    assert!(!page.text().contains("pcs_"), "the secret is shown once");
    let r = w.form(&w.admin, &format!("/admin/apps/{id}/secret"), "").await;
    assert!(r.text().contains("pcs_"));
    let r = w.form(&w.admin, &format!("/admin/apps/{id}/delete"), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        w.get(&w.admin, &format!("/api/v1/oauth/clients/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // A visitor at the consent page is asked to sign in first, and comes back to it.
    let authorize = format!(
        "/oauth/authorize?response_type=code&client_id={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
        w.oauth_client
    );
    let r = w.raw(None, "GET", &authorize, Body::empty(), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("/login"));
    let remembered = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-palisade-return="))
        .expect("the request is remembered");
    let signed_in = w
        .raw(
            None,
            "POST",
            "/login",
            Body::from(format!(
                "email=c1%40sharing.test&password={}",
                common::PASSWORD.replace(' ', "+")
            )),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &remembered),
            ],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.text());
    assert_eq!(location(&signed_in), authorize);
    // Attack: a return cookie naming anywhere else is ignored.
    let forged = format!(
        "__Host-palisade-return={}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            "//evil.example/oauth/authorize?x"
        )
    );
    let signed_in = w
        .raw(
            None,
            "POST",
            "/login",
            Body::from(format!(
                "email=c1%40sharing.test&password={}",
                common::PASSWORD.replace(' ', "+")
            )),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &forged),
            ],
        )
        .await;
    assert_eq!(location(&signed_in), "/tickets");
    // Customer 1's grant (the fixture's) is theirs to see and revoke in the pages.
    let page = w.get(&w.customer_1, "/account/apps").await;
    assert!(page.text().contains("CRM app"));
    let r = w
        .form(
            &w.customer_1,
            &format!("/account/apps/{}/revoke", w.oauth_grant),
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        !w.get(&w.customer_1, "/account/apps")
            .await
            .text()
            .contains("CRM app")
    );
}
