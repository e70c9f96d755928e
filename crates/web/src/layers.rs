//! Response headers every page and API answer carries, and the cross-site request
//! check applied to cookie-authenticated state changes.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::caller::{CredentialSource, presented_token};
use crate::{AppError, AppState};

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    // Other sites load the widget's script; everything else stays same-origin.
    let embeddable = request.uri().path() == crate::widget::SCRIPT_PATH;
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=63072000; includeSubDomains"),
    );
    // A handler may tighten the policy (attachment downloads add `sandbox`); never loosen,
    // except the OAuth consent page, whose form may lead to the application's registered
    // redirect URI's origin (`ui::consent`).
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static(if embeddable { "cross-origin" } else { "same-origin" }),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if is_static {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
    } else {
        // Authenticated answers must not linger in shared or browser caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Refuses state-changing requests that a browser sent on another site's behalf.
/// Bearer-token requests are exempt: a browser never attaches those by itself.
pub async fn cross_site_guard(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return next.run(request).await;
    }
    // The OAuth endpoints applications call read no cookie: the client authenticates
    // itself, so a request from another site carries no authority of the browser's.
    if crate::oauth::CLIENT_ENDPOINTS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let uses_cookie = matches!(
        presented_token(&parts),
        Some((_, CredentialSource::Cookie)) | None
    );
    if uses_cookie
        && !same_origin(&parts.headers, &state.config.public_origin)
        && !crate::widget::is_widget_request(&parts.headers, parts.uri.path(), &state)
    {
        return AppError::CrossSite.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site {
        return site == "same-origin" || site == "none";
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin == public_origin,
        // No browser signal at all: not a browser form post (browsers send Origin on
        // every POST), e.g. a script using the API with a cookie jar.
        None => headers.get(header::REFERER).is_none(),
    }
}
