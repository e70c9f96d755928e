use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_policy::{Action, Resource};

use super::dto::*;
use super::extract::{ApiJson, ApiQuery};
use crate::caller::{RequestMeta, SESSION_COOKIE, STRICT_COOKIE};
use crate::{AppError, AppState, Caller, PendingCaller, Problem};

/// Hands the browser its session: the `Lax` cookie every page uses, and a `Strict`
/// twin with the same token that only same-site requests carry. The admin area
/// requires both (see `caller`), so a link or form on another site never reaches it
/// with the user's session.
pub fn set_session_cookies(headers: &mut axum::http::HeaderMap, token: &str) {
    for (name, same_site) in [(SESSION_COOKIE, "Lax"), (STRICT_COOKIE, "Strict")] {
        if let Ok(value) = HeaderValue::from_str(&format!(
            "{name}={token}; Path=/; Secure; HttpOnly; SameSite={same_site}"
        )) {
            headers.append(header::SET_COOKIE, value);
        }
    }
}

pub fn clear_session_cookies(headers: &mut axum::http::HeaderMap) {
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-palisade-session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    headers.append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-palisade-strict=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "auth", request_body = SignInRequest,
    responses((status = 201, body = SignInResponse), (status = 401, body = Problem)))]
pub async fn sign_in(
    State(s): State<AppState>,
    meta: RequestMeta,
    ApiJson(req): ApiJson<SignInRequest>,
) -> Result<Response, AppError> {
    let signed = s
        .identity
        .sign_in(&req.email, &req.password, &meta.anonymous_audit())
        .await?;
    signed_in_response(&s, signed).await
}

/// The answer to any step that hands out a session token: the token in the body for
/// API clients and in the cookie for browsers.
pub(crate) async fn signed_in_response(
    s: &AppState,
    signed: palisade_identity::SignedIn,
) -> Result<Response, AppError> {
    let methods = if signed.stage == palisade_identity::SessionStage::SecondFactor {
        s.identity.factors(&signed.user.id).await?.methods()
    } else {
        Vec::new()
    };
    let body = SignInResponse {
        token: signed.token.expose().to_owned(),
        user: UserView::from(&signed.user),
        stage: signed.stage.as_str().to_owned(),
        methods: methods.into_iter().map(str::to_owned).collect(),
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    set_session_cookies(response.headers_mut(), signed.token.expose());
    Ok(response)
}

#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "auth", responses((status = 204)))]
pub async fn sign_out(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<Response, AppError> {
    if let Some(session) = &caller.principal.session {
        s.identity.sign_out(session, &caller.audit()).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_session_cookies(response.headers_mut());
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = UserView), (status = 401, body = Problem)))]
pub async fn me(caller: Caller) -> Json<UserView> {
    Json(UserView::from(&caller.user))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LanguageRequest {
    /// A language Palisade speaks (`en`, `de`); `null`: as the browser asks.
    pub language: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LanguageView {
    /// The language chosen; `null`: the browser's `Accept-Language` decides.
    pub language: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/me/language", tag = "auth", request_body = LanguageRequest,
    responses((status = 200, body = LanguageView), (status = 400, body = Problem), (status = 401, body = Problem)))]
/// The language of the pages for the caller.
pub async fn set_language(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<LanguageRequest>,
) -> Result<Json<LanguageView>, AppError> {
    let chosen = s
        .desk()
        .set_own_language(&caller.actor(), req.language.as_deref())
        .await?;
    Ok(Json(LanguageView {
        language: chosen.map(|l| l.tag().to_owned()),
    }))
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(("after" = Option<i64>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Vec<AuditEntryView>), (status = 403, body = Problem)))]
pub async fn audit_entries(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntryView>>, AppError> {
    s.authorize(&caller, Action::AuditRead, &Resource::AuditTrail)
        .await?;
    let after = q.after.unwrap_or(0);
    let entries = s
        .store
        .audit_entries(
            after,
            super::contract::page_limit(q.limit, 100, super::contract::MAX_AUDIT_PAGE)?,
        )
        .await?;
    s.store
        .audit(
            &caller.audit(),
            &AuditEvent::new(AuditAction::AuditRead, "audit-trail", Outcome::Success)
                .with_detail(serde_json::json!({ "after": after, "count": entries.len() })),
        )
        .await?;
    Ok(Json(entries.iter().map(AuditEntryView::from).collect()))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// Emails a reset link if the address has an account. Always 202 with no body, so the
/// answer says nothing about which addresses have accounts.
#[utoipa::path(post, path = "/api/v1/password-resets", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202)))]
pub async fn request_password_reset(
    State(s): State<AppState>,
    meta: RequestMeta,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> StatusCode {
    s.identity
        .request_password_reset(&req.email, &meta.anonymous_audit());
    StatusCode::ACCEPTED
}
