use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const STYLE: &str = include_str!("../../static/style.css");
const PASSKEY_SCRIPT: &str = include_str!("../../static/passkey.js");

/// The one script of the UI: WebAuthn needs the browser's JavaScript API. Served from
/// our origin so the CSP's `script-src 'self'` allows it and nothing inline is needed.
pub async fn passkey_script() -> Response {
    let mut r = PASSKEY_SCRIPT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

pub async fn style() -> Response {
    let mut r = STYLE.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r
}
