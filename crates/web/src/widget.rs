//! What the embeddable assistant widget needs from the server: its script, readable by
//! other sites, and CORS on the assistant API for the configured site origins only —
//! without credentials, so a browser never sends Palisade's cookies from another site.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

pub(crate) const SCRIPT_PATH: &str = "/static/assistant-widget.js";
const API_PREFIX: &str = "/api/v1/assistant/";
const SCRIPT: &str = include_str!("../static/assistant-widget.js");

pub async fn script() -> Response {
    let mut r = SCRIPT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

/// The request's `Origin` when it is one of the sites allowed to embed the widget.
fn widget_origin(headers: &HeaderMap, state: &AppState) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state
        .config
        .widget_origins
        .iter()
        .any(|allowed| allowed == text)
        .then(|| origin.clone())
}

/// Whether a cross-site request is the widget's: an allowed origin, on the assistant
/// API, carrying no cookie and no Authorization (no ambient credential to abuse).
pub(crate) fn is_widget_request(headers: &HeaderMap, path: &str, state: &AppState) -> bool {
    path.starts_with(API_PREFIX)
        && !headers.contains_key(header::COOKIE)
        && !headers.contains_key(header::AUTHORIZATION)
        && widget_origin(headers, state).is_some()
}

/// Answers preflights and adds CORS headers on the assistant API for allowed origins.
pub async fn cors(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path();
    if !path.starts_with(API_PREFIX) {
        return next.run(request).await;
    }
    let allowed = widget_origin(request.headers(), &state);
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        h.insert(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = allowed {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, x-palisade-conversation"),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        return response;
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
    }
    response
}
