//! The UI's static files, compiled in and served from our own origin, so the CSP's
//! `script-src 'self'` and `style-src 'self'` allow them and nothing inline is needed.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const STYLE: &str = include_str!("../../static/style.css");
const PASSKEY_SCRIPT: &str = include_str!("../../static/passkey.js");
const NOTIFICATIONS_SCRIPT: &str = include_str!("../../static/notifications.js");
const TIMES_SCRIPT: &str = include_str!("../../static/times.js");
const PRESENCE_SCRIPT: &str = include_str!("../../static/presence.js");
const SHORTCUTS_SCRIPT: &str = include_str!("../../static/shortcuts.js");
const REMOTE_IMAGE: &str = include_str!("../../static/remote-image.svg");

fn file(content: &'static str, content_type: &'static str) -> Response {
    let mut r = content.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn script(source: &'static str) -> Response {
    file(source, "text/javascript; charset=utf-8")
}

/// The live notification counter (server-sent events).
pub async fn notifications_script() -> Response {
    script(NOTIFICATIONS_SCRIPT)
}

/// Shows each list time's exact moment in the reader's own time zone on hover.
pub async fn times_script() -> Response {
    script(TIMES_SCRIPT)
}

/// Who else is on the ticket page, live.
pub async fn presence_script() -> Response {
    script(PRESENCE_SCRIPT)
}

/// Staff's keyboard shortcuts (listed in the page's help).
pub async fn shortcuts_script() -> Response {
    script(SHORTCUTS_SCRIPT)
}

/// WebAuthn needs the browser's JavaScript API.
pub async fn passkey_script() -> Response {
    script(PASSKEY_SCRIPT)
}

/// What a remote image in received mail shows instead (palisade-html puts it there):
/// the agent sees that the sender wanted an image loaded, and nobody learns they read it.
pub async fn remote_image() -> Response {
    let mut r = file(REMOTE_IMAGE, "image/svg+xml");
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    r
}

pub async fn style() -> Response {
    file(STYLE, "text/css; charset=utf-8")
}
