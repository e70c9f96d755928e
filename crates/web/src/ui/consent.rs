//! The authorization endpoint's pages (RFC 6749 §3.1): a signed-in person sees which
//! application asks for what, in words, and allows or declines; the browser is then
//! sent back to the application's registered redirect URI only. A request naming an
//! unknown application or an address it did not register is refused on the page and
//! never redirected. Consent is given in a form this site served (the cross-site guard
//! refuses a decision posted from anywhere else), by a person signed in with a cookie,
//! never by a bearer credential.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use palisade_identity::{AuthorizeCheck, AuthorizeParams, PendingAuthorization};

use super::filters;
use super::{Notice, UiError, render};
use crate::caller::{CredentialSource, MaybeCaller};
use crate::{AppError, AppState, Caller};

/// Where a visitor asked to allow an application returns once signed in: the consent
/// request they came with, kept for ten minutes in a cookie only this site can set.
const RETURN_COOKIE: &str = "__Host-palisade-return";
const AUTHORIZE_PREFIX: &str = "/oauth/authorize?";

fn remember_return(response: &mut Response, path_and_query: &str) {
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(path_and_query);
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{RETURN_COOKIE}={encoded}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600"
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The consent request a visitor came with, if any (a path under `/oauth/authorize`).
pub(crate) fn pending_return(headers: &axum::http::HeaderMap) -> Option<String> {
    crate::caller::cookie_value(headers, RETURN_COOKIE)
        .and_then(|v| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|p| p.starts_with(AUTHORIZE_PREFIX) && p.bytes().all(|b| b.is_ascii_graphic()))
}

/// Where a sign-in that just completed leads: back to the consent request the person
/// came with (only ever a path under `/oauth/authorize`), or `default`. The cookie is
/// spent on the way.
pub(crate) fn after_sign_in(headers: &axum::http::HeaderMap, response: Response) -> Response {
    let Some(target) = pending_return(headers) else {
        return response;
    };
    let mut response = response;
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(&target) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-palisade-return=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    response
}

/// The words for what a scope lets an application do.
pub(crate) fn scope_label_key(scope: palisade_core::Scope) -> &'static str {
    use palisade_core::Scope::*;
    match scope {
        TicketsRead => "scope-tickets-read",
        TicketsWrite => "scope-tickets-write",
        PeopleRead => "scope-people-read",
        PeopleWrite => "scope-people-write",
        AuditRead => "scope-audit-read",
        ArticlesRead => "scope-articles-read",
        ArticlesWrite => "scope-articles-write",
    }
}

struct ScopeLine {
    name: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    app: String,
    scopes: Vec<ScopeLine>,
    redirect_origin: String,
    fields: Vec<(&'static str, String)>,
}

fn params_of(fields: &[(String, String)]) -> AuthorizeParams {
    // The first of a repeated parameter: the check that follows refuses anything that
    // is then inconsistent.
    let get = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    AuthorizeParams {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
    }
}

fn refused_page(key: &'static str) -> Response {
    let mut response = render(&Notice {
        title: crate::locale::word("oauth-refused-title"),
        message: crate::locale::word(key),
        link: "/",
        link_text: crate::locale::word("oauth-back-home"),
    });
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

/// The decision form may be sent, and the browser then redirected, to the application's
/// origin: the page's policy names it beside this site (browsers hold redirects after
/// a form to `form-action`).
fn with_form_target(mut response: Response, origin: &str) -> Response {
    let policy = crate::layers::CONTENT_SECURITY_POLICY
        .replace("form-action 'self'", &format!("form-action 'self' {origin}"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn consent_page(caller: &Caller, pending: &PendingAuthorization) -> Response {
    let origin = palisade_outbound::origin_of(&pending.redirect_uri).unwrap_or_default();
    let mut fields = vec![
        ("response_type", "code".to_owned()),
        ("client_id", pending.client.id.clone()),
        ("redirect_uri", pending.redirect_uri.clone()),
        (
            "scope",
            pending
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("code_challenge", pending.code_challenge.clone()),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if let Some(state) = &pending.state {
        fields.push(("state", state.clone()));
    }
    let response = render(&ConsentPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == palisade_core::Role::Customer,
        app: pending.client.name.clone(),
        scopes: pending
            .scopes
            .iter()
            .map(|s| ScopeLine {
                name: s.as_str(),
                label: crate::locale::word(scope_label_key(*s)).to_owned(),
            })
            .collect(),
        redirect_origin: origin.clone(),
        fields,
    });
    with_form_target(response, &origin)
}

/// `GET /oauth/authorize`.
pub async fn show(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    uri: axum::http::Uri,
    Query(fields): Query<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let issuer = &s.config.public_origin;
    let check = s
        .identity
        .check_authorization(&params_of(&fields), issuer)
        .await
        .map_err(AppError::from)?;
    match check {
        AuthorizeCheck::Refuse(key) => Ok(refused_page(key)),
        AuthorizeCheck::RedirectError(location) => Ok(Redirect::to(&location).into_response()),
        AuthorizeCheck::Consent(pending) => match caller {
            Some(caller) if caller.source == CredentialSource::Cookie => Ok(consent_page(&caller, &pending)),
            _ => {
                let mut page = render(&Notice {
                    title: crate::locale::word("oauth-sign-in-title"),
                    message: &crate::locale::text_with(
                        "oauth-sign-in",
                        &[("name", palisade_i18n::Arg::Text(pending.client.name.clone()))],
                    ),
                    link: "/login",
                    link_text: crate::locale::word("oauth-sign-in-link"),
                });
                remember_return(&mut page, &path_and_query);
                Ok(page)
            }
        },
    }
}

/// `POST /oauth/authorize`: the person's decision. Everything is checked again (the
/// form's fields are the browser's to change).
pub async fn decide(
    State(s): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    if caller.source != CredentialSource::Cookie {
        return Err(AppError::Forbidden.into());
    }
    let issuer = &s.config.public_origin;
    let check = s
        .identity
        .check_authorization(&params_of(&fields), issuer)
        .await
        .map_err(AppError::from)?;
    let pending = match check {
        AuthorizeCheck::Refuse(key) => return Ok(refused_page(key)),
        AuthorizeCheck::RedirectError(location) => return Ok(Redirect::to(&location).into_response()),
        AuthorizeCheck::Consent(pending) => pending,
    };
    let approved = fields.iter().any(|(k, v)| k == "decision" && v == "allow");
    let origin = palisade_outbound::origin_of(&pending.redirect_uri).unwrap_or_default();
    let location = if approved {
        s.identity
            .approve_authorization(&caller.user, &pending, issuer, &caller.audit())
            .await
            .map_err(AppError::from)?
    } else {
        s.identity.deny_authorization(&pending, issuer)
    };
    Ok(with_form_target(Redirect::to(&location).into_response(), &origin))
}
