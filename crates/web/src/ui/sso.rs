//! Single sign-on pages: sending the browser to the provider and taking its answer.
//! The decisions (state, nonce, PKCE, token checks, which account) are all in
//! `palisade-identity`; this module only moves cookies and redirects.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_identity::{IdentityError, OidcCallback, SessionStage};

use super::pages::LoginPage;
use super::{UiError, render};
use crate::api::session::set_session_cookies;
use crate::caller::cookie_value;
use crate::{AppError, AppState, RequestMeta};

/// Binds a provider's answer to the browser that asked: without it, an attacker could
/// finish a sign-in they started in the victim's browser (login CSRF). `Lax`, because
/// the answer arrives as a top-level navigation from the provider's site.
const FLOW_COOKIE: &str = "__Host-palisade-sso";

fn flow_cookie(value: &str, max_age: u32) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub async fn start(State(s): State<AppState>, Path(provider): Path<String>) -> Result<Response, UiError> {
    let started = s.identity.oidc_begin(&provider).await.map_err(AppError::from)?;
    let mut response = Redirect::to(&started.authorize_url).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        flow_cookie(started.browser_secret.expose(), 600),
    );
    Ok(response)
}

pub async fn callback(
    State(s): State<AppState>,
    Path(provider): Path<String>,
    meta: RequestMeta,
    headers: HeaderMap,
    Query(answer): Query<OidcCallback>,
) -> Result<Response, UiError> {
    let browser = cookie_value(&headers, FLOW_COOKIE);
    let result = s
        .identity
        .oidc_finish(&provider, &answer, browser.as_deref(), &meta.anonymous_audit())
        .await;
    let mut response = match result {
        Ok(signed) => {
            let next = match signed.stage {
                SessionStage::Full => "/tickets",
                SessionStage::SecondFactor => "/login/second-factor",
                SessionStage::Enrol => "/account/security",
            };
            let mut r = Redirect::to(next).into_response();
            if signed.stage == SessionStage::Full {
                r = super::consent::after_sign_in(&headers, r);
            }
            set_session_cookies(r.headers_mut(), signed.token.expose());
            r
        }
        Err(IdentityError::SsoFailed) => {
            let mut r = render(&LoginPage {
                error: Some(crate::locale::word("sso-failed")),
                email: "",
                providers: s.identity.oidc_providers(),
                organisation: s.organisation_name().await,
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(e) => return Err(UiError(e.into())),
    };
    // The flow is over either way; its cookie goes.
    response
        .headers_mut()
        .append(header::SET_COOKIE, flow_cookie("", 0));
    Ok(response)
}
