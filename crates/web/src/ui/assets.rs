use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const STYLE: &str = include_str!("../../static/style.css");
const PASSKEY_SCRIPT: &str = include_str!("../../static/passkey.js");
const NOTIFICATIONS_SCRIPT: &str = include_str!("../../static/notifications.js");

/// The live notification counter (server-sent events), from our origin like the rest.
pub async fn notifications_script() -> Response {
    let mut r = NOTIFICATIONS_SCRIPT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

const TIMES_SCRIPT: &str = include_str!("../../static/times.js");

/// Shows each list time's exact moment in the reader's own time zone on hover.
pub async fn times_script() -> Response {
    let mut r = TIMES_SCRIPT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

const PRESENCE_SCRIPT: &str = include_str!("../../static/presence.js");

/// Who else is on the ticket page, live.
pub async fn presence_script() -> Response {
    let mut r = PRESENCE_SCRIPT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

const SHORTCUTS_SCRIPT: &str = include_str!("../../static/shortcuts.js");

/// Staff's keyboard shortcuts (listed in the page's help).
pub async fn shortcuts_script() -> Response {
    let mut r = SHORTCUTS_SCRIPT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r
}

const REMOTE_IMAGE: &str = include_str!("../../static/remote-image.svg");

/// What a remote image in received mail shows instead (palisade-html puts it there):
/// the agent sees that the sender wanted an image loaded, and nobody learns they read it.
pub async fn remote_image() -> Response {
    let mut r = REMOTE_IMAGE.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}

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
