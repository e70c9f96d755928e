//! Authentication as an extractor: a handler that takes a [`Caller`] cannot run for an
//! unauthenticated request. Public handlers take [`RequestMeta`] only.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use palisade_audit::AuditContext;
use palisade_core::Principal;
use palisade_identity::{SessionStage, SessionState};
use palisade_store::UserRecord;

use crate::{AppError, AppState};

pub const SESSION_COOKIE: &str = "__Host-palisade-session";
/// The `SameSite=Strict` twin of the session cookie, required in the admin area.
pub const STRICT_COOKIE: &str = "__Host-palisade-strict";

/// Paths where a cookie-borne session must also present the `Strict` cookie: account
/// administration and the audit trail. A cross-site link, form or navigation arrives
/// without it and is refused, whatever the browser's `Lax` rules let through.
fn in_admin_area(path: &str) -> bool {
    const PREFIXES: [&str; 7] = [
        "/admin",
        "/api/v1/privacy",
        "/api/v1/agents",
        "/api/v1/teams",
        "/api/v1/users/",
        "/api/v1/audit",
        "/api/v1/security-alerts",
    ];
    PREFIXES
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{}/", p.trim_end_matches('/'))))
}

/// Where a request came from, for the audit trail.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub ip: String,
    pub user_agent: String,
}

impl RequestMeta {
    pub fn from_parts(parts: &Parts) -> Self {
        // Resolved once per request by `client_ip` (headers only from trusted proxies).
        let ip = parts
            .extensions
            .get::<crate::ClientIp>()
            .map(|crate::ClientIp(ip)| ip.to_string())
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(256)
            .collect();
        Self { ip, user_agent }
    }

    pub fn anonymous_audit(&self) -> AuditContext {
        AuditContext {
            actor: "anonymous".into(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            session: String::new(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

/// How the caller presented its credentials; cookie-borne requests get CSRF checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    Cookie,
    /// A session token sent as `Authorization: Bearer`.
    Bearer,
    /// A personal API token (`pal_…`), narrowed to its scopes.
    ApiToken,
    /// The organisation's site vouched for the customer with a single-use token; acts
    /// only inside the assistant conversation that token started.
    SiteToken,
}

#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub user: UserRecord,
    pub meta: RequestMeta,
    pub source: CredentialSource,
    /// The session behind the request; `None` for API tokens.
    pub session: Option<SessionState>,
}

/// A session that may still be signing in (second factor owed, or enrolment
/// required). Only the handlers that finish signing in take this; every other handler
/// takes [`Caller`], which refuses such sessions.
#[derive(Clone, Debug)]
pub struct PendingCaller(pub Caller);

impl PendingCaller {
    pub fn session(&self) -> Result<&SessionState, AppError> {
        self.0.session.as_ref().ok_or(AppError::Unauthenticated)
    }
}

impl Caller {
    pub fn session(&self) -> Result<&SessionState, AppError> {
        self.session.as_ref().ok_or(AppError::Forbidden)
    }

    pub fn audit(&self) -> AuditContext {
        AuditContext {
            actor: self.principal.user_id.to_string(),
            ip: self.meta.ip.clone(),
            user_agent: self.meta.user_agent.clone(),
            session: self
                .principal
                .session
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        }
    }
}

/// Requests a page or widget makes on its own (polling, prefetch) mark themselves so
/// they do not keep an unattended session alive.
pub const BACKGROUND_HEADER: &str = "x-palisade-background";

fn is_background(parts: &Parts) -> bool {
    parts
        .headers
        .get(BACKGROUND_HEADER)
        .is_some_and(|v| v.as_bytes() == b"1")
        || parts
            .headers
            .get("sec-purpose")
            .is_some_and(|v| v.as_bytes().starts_with(b"prefetch"))
}

/// The presented bearer token: `Authorization: Bearer …`, else the session cookie.
pub fn presented_token(parts: &Parts) -> Option<(String, CredentialSource)> {
    if let Some(auth) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return auth
            .strip_prefix("Bearer ")
            .map(|t| (t.trim().to_owned(), CredentialSource::Bearer));
    }
    cookie_value(&parts.headers, SESSION_COOKIE).map(|value| (value, CredentialSource::Cookie))
}

/// The value of the first cookie called `wanted`.
pub fn cookie_value(headers: &http::HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_owned())
}

/// API requests get problem+json; pages redirect to the step the user must take.
fn rejection(parts: &Parts, e: AppError) -> axum::response::Response {
    use axum::response::{IntoResponse, Redirect};
    if parts.uri.path().starts_with("/api/") {
        return e.into_response();
    }
    match e {
        AppError::Unauthenticated => Redirect::to("/login").into_response(),
        AppError::SecondFactorRequired => Redirect::to("/login/second-factor").into_response(),
        AppError::EnrolmentRequired => Redirect::to("/account/security").into_response(),
        other => other.into_response(),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = axum::response::Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = PendingCaller::from_request_parts(parts, state).await?.0;
        match caller.session.as_ref().map(|s| s.stage) {
            None | Some(SessionStage::Full) => Ok(caller),
            Some(SessionStage::SecondFactor) => Err(rejection(parts, AppError::SecondFactorRequired)),
            Some(SessionStage::Enrol) => Err(rejection(parts, AppError::EnrolmentRequired)),
        }
    }
}

impl FromRequestParts<AppState> for PendingCaller {
    type Rejection = axum::response::Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let reject = |e: AppError| rejection(parts, e);
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(PendingCaller(caller.clone()));
        }
        let (token, source) = presented_token(parts).ok_or_else(|| reject(AppError::Unauthenticated))?;
        if source == CredentialSource::Cookie && in_admin_area(parts.uri.path()) {
            let strict = cookie_value(&parts.headers, STRICT_COOKIE).unwrap_or_default();
            let same: bool = subtle::ConstantTimeEq::ct_eq(strict.as_bytes(), token.as_bytes()).into();
            if !same {
                return Err(reject(AppError::CrossSite));
            }
        }
        let meta = RequestMeta::from_parts(parts);
        let (source, authenticated) = if token.starts_with(palisade_identity::API_TOKEN_PREFIX) {
            (
                CredentialSource::ApiToken,
                state.identity.authenticate_api_token(&token, &meta.ip).await,
            )
        } else if token.starts_with(palisade_identity::OAUTH_ACCESS_PREFIX) {
            (
                CredentialSource::ApiToken,
                state.identity.authenticate_oauth_access(&token).await,
            )
        } else {
            (
                source,
                state
                    .identity
                    .authenticate_with(&token, is_background(parts))
                    .await,
            )
        };
        let authenticated = authenticated
            .map_err(|e| reject(e.into()))?
            .ok_or_else(|| reject(AppError::Unauthenticated))?;
        let caller = Caller {
            principal: authenticated.principal,
            user: authenticated.user,
            meta: RequestMeta::from_parts(parts),
            source,
            session: authenticated.session,
        };
        crate::locale::prefer(caller.user.locale.as_deref());
        parts.extensions.insert(caller.clone());
        Ok(PendingCaller(caller))
    }
}

/// The caller if signed in, `None` for a visitor: for pages open to everyone that show
/// more to those who sign in (the help centre). A session still owing its second factor
/// counts as a visitor; so does an expired cookie on a page. A bearer credential that
/// does not authenticate is refused on the API, so a client notices its token failed.
#[derive(Clone, Debug)]
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = axum::response::Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some((_, source)) = presented_token(parts) else {
            return Ok(Self(None));
        };
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Self(Some(caller))),
            Err(rejection) if source != CredentialSource::Cookie && parts.uri.path().starts_with("/api/") => {
                Err(rejection)
            }
            Err(_) => Ok(Self(None)),
        }
    }
}
