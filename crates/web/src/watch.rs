//! Feeds the anomaly detector from every answer (401/403 and 404 by source address)
//! and from failed identity verifications, refuses sources it flagged for a while, and
//! turns each finding into a security alert — ending the session a flagged request
//! came with, so a stolen or abused session stops with the burst.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use palisade_core::UnixMillis;

use crate::anomaly::{Detector, Finding, Signal};
use crate::caller::{CredentialSource, presented_token};
use crate::limits::subject;
use crate::{AppError, AppState, RequestMeta};

/// The detector shared by a node's requests (its state is per node).
pub type SharedDetector = Arc<Mutex<Detector>>;

fn unwatched(path: &str) -> bool {
    path == "/health" || path.starts_with("/health/") || path.starts_with("/static/")
}

/// Paths with limits of their own, shared by all nodes (sign-in and its throttles, the
/// help centre, the assistant): a flagged address is not refused there, so people
/// behind the same address as an attacker (an office, a carrier's NAT) can still sign
/// in, read help and ask for it.
fn has_own_limits(path: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "/login",
        "/logout",
        "/setup/",
        "/help",
        "/assistant",
        "/api/v1/sessions",
        "/api/v1/password-resets",
        "/api/v1/help/",
        "/api/v1/assistant/",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
}

/// How the request presented credentials: only cookies are sent by a browser without
/// the requesting code choosing to; an `Authorization` header (a session token, an API
/// token, anything) is always the client's own doing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presented {
    Nothing,
    Cookie,
    Header,
}

fn presented(parts: &axum::http::request::Parts) -> Presented {
    if parts.headers.contains_key(axum::http::header::AUTHORIZATION) {
        Presented::Header
    } else if presented_token(parts).is_some() {
        Presented::Cookie
    } else {
        Presented::Nothing
    }
}

/// Whether this may be a request another site's page made a visitor's browser send
/// (an image or form pointing here): cross-site by the browser's word, and something a
/// browser sends on its own — no credentials, or only cookies on a safe method. Such
/// requests are not counted: otherwise any page could get its visitors' address
/// refused by embedding a few dozen broken links. Anything carrying an
/// `Authorization` header is counted whatever its `Sec-Fetch-Site` claims, so a client
/// cannot switch counting off by setting that header itself.
fn browser_made_cross_site(parts: &axum::http::request::Parts, how: Presented) -> bool {
    let cross_site = parts
        .headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() != b"same-origin" && v.as_bytes() != b"none");
    let safe = parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
    cross_site && (how == Presented::Nothing || (how == Presented::Cookie && safe))
}

/// Whether a browser fetched this for a page (an image, a script, a style sheet…)
/// rather than because the person or the page's code asked. A page can make a browser
/// fetch many of those; they never end the session that came with them.
fn subresource(parts: &axum::http::request::Parts) -> bool {
    parts
        .headers
        .get("sec-fetch-dest")
        .is_some_and(|v| !matches!(v.as_bytes(), b"document" | b"empty" | b"iframe" | b"frame"))
}

pub async fn observe(State(s): State<AppState>, request: Request<Body>, next: Next) -> Response {
    if unwatched(request.uri().path()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let meta = RequestMeta::from_parts(&parts);
    let source = subject(None, &meta);
    let now = UnixMillis::now().0;
    let how = presented(&parts);
    // The session a flagged burst came with is ended — unless a page made the browser
    // send it (a cookie on a subresource), which the session's owner did not choose.
    let page_made_it = how == Presented::Cookie && subresource(&parts);
    let session_token = match presented_token(&parts) {
        Some((token, CredentialSource::Cookie | CredentialSource::Bearer))
            if !token.starts_with(palisade_identity::API_TOKEN_PREFIX) && !page_made_it =>
        {
            Some(token)
        }
        _ => None,
    };
    // A flagged address is refused, except for requests whose credentials genuinely
    // authenticate: signed-in people behind the same address (an office, a carrier's
    // NAT) keep working, and a session that carried a burst has been ended already. A
    // made-up `Authorization` header does not get anyone past.
    let (throttled, retry) = {
        let mut d = s.detector();
        (d.is_throttled(&source, now), d.config().throttle_ms / 1000)
    };
    if throttled && !has_own_limits(parts.uri.path()) && !s.authenticates(&parts, &meta).await {
        return AppError::TooManyRequests(u64::try_from(retry).unwrap_or(60)).into_response();
    }
    let counted = !browser_made_cross_site(&parts, how);
    let response = next.run(Request::from_parts(parts, body)).await;
    if !counted {
        return response;
    }
    let signal = match response.status().as_u16() {
        401 | 403 => Signal::Denied,
        404 => Signal::NotFound,
        _ => return response,
    };
    if let Err(e) = s
        .note_signal(signal, &source, &meta, session_token.as_deref())
        .await
    {
        tracing::error!(error = %e, "recording an anomaly failed");
    }
    response
}

impl AppState {
    /// Whether the request's credential (session or API token) is a live one. Asked only
    /// for flagged addresses, so ordinary traffic pays nothing for it.
    async fn authenticates(&self, parts: &axum::http::request::Parts, meta: &RequestMeta) -> bool {
        let Some((token, _)) = presented_token(parts) else {
            return false;
        };
        let found = if token.starts_with(palisade_identity::API_TOKEN_PREFIX) {
            self.identity.authenticate_api_token(&token, &meta.ip).await
        } else if token.starts_with(palisade_identity::OAUTH_ACCESS_PREFIX) {
            self.identity.authenticate_oauth_access(&token).await
        } else {
            self.identity.authenticate_with(&token, true).await
        };
        matches!(found, Ok(Some(_)))
    }

    /// The detector; a panic elsewhere while it was held leaves consistent counters
    /// (every update is a plain increment), so detection carries on rather than stop.
    fn detector(&self) -> std::sync::MutexGuard<'_, Detector> {
        self.anomaly
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one event of `signal` from `source`; alerts on what became anomalous.
    pub(crate) async fn note_signal(
        &self,
        signal: Signal,
        source: &str,
        meta: &RequestMeta,
        session_token: Option<&str>,
    ) -> Result<(), AppError> {
        let findings = self.detector().record(signal, source, UnixMillis::now().0);
        for finding in findings {
            self.report(&finding, meta, session_token).await?;
        }
        Ok(())
    }

    async fn report(
        &self,
        f: &Finding,
        meta: &RequestMeta,
        session_token: Option<&str>,
    ) -> Result<(), AppError> {
        let minutes = self
            .anomaly
            .lock()
            .map(|d| d.config().throttle_ms / 60_000)
            .unwrap_or(0);
        let (source, detail) = match &f.source {
            Some(source) => (
                source.as_str(),
                format!(
                    "{} {} answers in a minute (baseline allows {:.0}); refused for {minutes} min",
                    f.count,
                    f.signal.as_str().replace('_', " "),
                    f.threshold
                ),
            ),
            None => (
                "many sources",
                format!(
                    "{} {} answers across sources in a minute (baseline allows {:.0})",
                    f.count,
                    f.signal.as_str().replace('_', " "),
                    f.threshold
                ),
            ),
        };
        let kind = format!("anomaly.{}", f.signal.as_str());
        let dedupe = format!("{kind}:{source}:{}", f.bucket_start);
        self.raise_alert(&kind, source, &detail, &dedupe, meta).await?;
        if let (Some(_), Some(token)) = (&f.source, session_token) {
            self.end_flagged_session(token, meta).await?;
        }
        Ok(())
    }

    /// Ends the session a flagged request carried (if it is one), audited.
    async fn end_flagged_session(&self, token: &str, meta: &RequestMeta) -> Result<(), AppError> {
        let Some(found) = self.identity.authenticate_with(token, true).await? else {
            return Ok(());
        };
        let Some(session) = found.session else {
            return Ok(());
        };
        self.desk()
            .end_flagged_session(&meta.anonymous_audit(), &session.id, &found.user.id)
            .await?;
        Ok(())
    }
}
