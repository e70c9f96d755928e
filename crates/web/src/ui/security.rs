//! Pages for the second step of signing in, the account's second factors and step-up
//! re-authentication. They call the same identity functions as the API.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{Role, SecretString};
use palisade_identity::{IdentityError, SecondFactor, SessionStage};
use serde::Deserialize;

use super::{UiError, render};
use crate::api::dto::rfc3339;
use crate::api::mfa::{authorize_factors, enrolling_or_full};
use crate::api::session::set_session_cookies;
use crate::{AppError, AppState, Caller, PendingCaller};

fn with_cookie(mut response: Response, token: &palisade_crypto::RandomToken) -> Response {
    set_session_cookies(response.headers_mut(), token.expose());
    response
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// Where step-up sends the user back to: only pages of this site's account area, so
/// the parameter cannot become an open redirect.
fn safe_next(next: &str) -> &str {
    let ok = (next.starts_with("/account/")
        || next == "/tickets"
        || next == "/admin/staff"
        || next == "/admin/privacy")
        && !next.contains("//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic());
    if ok { next } else { "/account/security" }
}

pub(super) fn step_up_redirect(next: &str) -> Response {
    Redirect::to(&format!("/account/step-up?next={}", safe_next(next))).into_response()
}

/// The form field `code` holds either an app code (digits) or a recovery code.
fn factor_from(code: Option<String>, recovery_code: Option<SecretString>) -> Option<SecondFactor> {
    match (code.filter(|c| !c.trim().is_empty()), recovery_code) {
        (Some(c), _)
            if c.chars()
                .filter(|x| !x.is_whitespace())
                .all(|x| x.is_ascii_digit()) =>
        {
            Some(SecondFactor::Totp(c))
        }
        (Some(c), _) => Some(SecondFactor::RecoveryCode(SecretString::new(c))),
        (None, Some(r)) if !r.expose().trim().is_empty() => Some(SecondFactor::RecoveryCode(r)),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage<'a> {
    error: Option<&'a str>,
    totp: bool,
    passkey: bool,
    /// Where the passkey's script goes once the sign-in is complete.
    next: String,
}

async fn second_factor_page(
    s: &AppState,
    caller: &Caller,
    headers: &axum::http::HeaderMap,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let factors = s
        .identity
        .factors(&caller.principal.user_id)
        .await
        .map_err(AppError::from)?;
    Ok(with_status(
        render(&SecondFactorPage {
            error,
            totp: factors.totp,
            passkey: factors.passkeys > 0,
            next: super::consent::pending_return(headers).unwrap_or_else(|| "/tickets".to_owned()),
        }),
        status,
    ))
}

pub async fn second_factor_form(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
    headers: axum::http::HeaderMap,
) -> Result<Response, UiError> {
    if caller.session()?.stage != SessionStage::SecondFactor {
        return Ok(Redirect::to("/").into_response());
    }
    second_factor_page(&s, &caller, &headers, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: Option<String>,
    recovery_code: Option<SecretString>,
}

pub async fn second_factor_submit(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
    headers: axum::http::HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, UiError> {
    let Some(factor) = factor_from(form.code, form.recovery_code) else {
        return second_factor_page(
            &s,
            &caller,
            &headers,
            Some(crate::locale::word("code-missing")),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    match s
        .identity
        .verify_second_factor(caller.session()?, &caller.user, &factor, &caller.audit())
        .await
    {
        Ok(signed) => Ok(with_cookie(
            super::consent::after_sign_in(&headers, Redirect::to("/tickets").into_response()),
            &signed.token,
        )),
        Err(IdentityError::InvalidSecondFactor) => {
            second_factor_page(
                &s,
                &caller,
                &headers,
                Some(crate::locale::word("code-refused")),
                StatusCode::UNAUTHORIZED,
            )
            .await
        }
        Err(IdentityError::Throttled { retry_after_secs }) => {
            let msg = crate::locale::text_with(
                "too-many-attempts",
                &[(
                    "count",
                    palisade_i18n::Arg::Number(i64::try_from(retry_after_secs).unwrap_or(i64::MAX)),
                )],
            );
            second_factor_page(&s, &caller, &headers, Some(&msg), StatusCode::TOO_MANY_REQUESTS).await
        }
        Err(e) => Err(UiError(e.into())),
    }
}

struct PasskeyRow {
    id: String,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage<'a> {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    full: bool,
    totp: bool,
    any_factor: bool,
    passkeys: Vec<PasskeyRow>,
    recovery_codes_left: i64,
    message: Option<&'a str>,
    error: Option<&'a str>,
}

pub(crate) async fn security_view(
    s: &AppState,
    caller: &Caller,
    message: Option<&str>,
    error: Option<&str>,
) -> Result<Response, UiError> {
    if caller.session()?.stage == SessionStage::SecondFactor {
        return Ok(Redirect::to("/login/second-factor").into_response());
    }
    authorize_factors(s, caller).await?;
    let id = &caller.principal.user_id;
    let factors = s.identity.factors(id).await.map_err(AppError::from)?;
    let passkeys = s
        .store
        .passkeys(id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id.to_string(),
            name: p.name,
            created_at: rfc3339(p.created_at.0),
            last_used_at: p.last_used_at.map(|t| rfc3339(t.0)),
        })
        .collect();
    Ok(render(&SecurityPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        full: caller.session()?.stage == SessionStage::Full,
        totp: factors.totp,
        any_factor: factors.any(),
        passkeys,
        recovery_codes_left: factors.recovery_codes_left,
        message,
        error,
    }))
}

pub async fn security_page(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<Response, UiError> {
    security_view(&s, &caller, None, None).await
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
struct TotpEnrolPage<'a> {
    secret: &'a str,
    error: Option<&'a str>,
}

pub async fn begin_totp(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<Response, UiError> {
    enrolling_or_full(&caller)?;
    authorize_factors(&s, &caller).await?;
    match s.identity.begin_totp(caller.session()?, &caller.user).await {
        Ok(setup) => Ok(render(&TotpEnrolPage {
            secret: &setup.secret_base32,
            error: None,
        })),
        Err(IdentityError::StepUpRequired) => Ok(step_up_redirect("/account/security")),
        Err(e) => Err(UiError(e.into())),
    }
}

/// The pending authenticator key as a QR code (an image, so no script is needed).
pub async fn totp_qr(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<Response, UiError> {
    enrolling_or_full(&caller)?;
    let setup = s
        .identity
        .pending_totp(&caller.user)
        .await
        .map_err(AppError::from)?
        .ok_or(AppError::NotFound)?;
    let code = qrcode::QrCode::new(setup.otpauth_uri.as_bytes())
        .map_err(|e| AppError::Internal(format!("qr code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .build();
    let mut response = svg.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    Ok(response)
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage<'a> {
    codes: Vec<String>,
    next: &'a str,
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    code: String,
}

pub async fn confirm_totp(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, UiError> {
    enrolling_or_full(&caller)?;
    authorize_factors(&s, &caller).await?;
    match s
        .identity
        .confirm_totp(caller.session()?, &caller.user, &form.code, &caller.audit())
        .await
    {
        Ok(enrolled) => {
            let page = match &enrolled.recovery_codes {
                Some(codes) => render(&RecoveryCodesPage {
                    codes: codes.iter().map(|c| c.to_string()).collect(),
                    next: "/account/security",
                }),
                None => Redirect::to("/account/security").into_response(),
            };
            Ok(with_cookie(page, &enrolled.token))
        }
        Err(IdentityError::InvalidSecondFactor) => {
            let setup = s
                .identity
                .pending_totp(&caller.user)
                .await
                .map_err(AppError::from)?
                .ok_or(AppError::NotFound)?;
            Ok(with_status(
                render(&TotpEnrolPage {
                    secret: &setup.secret_base32,
                    error: Some(crate::locale::word("totp-mismatch")),
                }),
                StatusCode::UNAUTHORIZED,
            ))
        }
        Err(IdentityError::StepUpRequired) => Ok(step_up_redirect("/account/security")),
        Err(e) => Err(UiError(e.into())),
    }
}

pub async fn remove_totp(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    authorize_factors(&s, &caller).await?;
    match s
        .identity
        .remove_totp(caller.session()?, &caller.user, &caller.audit())
        .await
    {
        Ok((token, _)) => Ok(with_cookie(
            Redirect::to("/account/security").into_response(),
            &token,
        )),
        Err(IdentityError::StepUpRequired) => Ok(step_up_redirect("/account/security")),
        Err(e @ IdentityError::LastFactor) => {
            let msg = e.to_string();
            Ok(with_status(
                security_view(&s, &caller, None, Some(&msg)).await?,
                StatusCode::CONFLICT,
            ))
        }
        Err(e) => Err(UiError(e.into())),
    }
}

#[derive(Deserialize)]
pub struct ChangePasswordForm {
    new_password: palisade_core::SecretString,
}

pub async fn change_password(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<ChangePasswordForm>,
) -> Result<Response, UiError> {
    authorize_factors(&s, &caller).await?;
    match s
        .identity
        .change_password(
            caller.session.as_ref(),
            &caller.user,
            &form.new_password,
            &caller.audit(),
        )
        .await
    {
        Ok((token, _)) => {
            let page = security_view(
                &s,
                &caller,
                Some(crate::locale::word("notice-password-changed")),
                None,
            )
            .await?;
            Ok(with_cookie(page, &token))
        }
        Err(IdentityError::StepUpRequired) => Ok(step_up_redirect("/account/security")),
        Err(IdentityError::WeakPassword(why)) => {
            let msg =
                crate::locale::text_with("password-rejected", &[("name", palisade_i18n::Arg::Message(why))]);
            Ok(with_status(
                security_view(&s, &caller, None, Some(&msg)).await?,
                StatusCode::BAD_REQUEST,
            ))
        }
        Err(e) => Err(UiError(e.into())),
    }
}

pub async fn regenerate_recovery_codes(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Response, UiError> {
    authorize_factors(&s, &caller).await?;
    match s
        .identity
        .regenerate_recovery_codes(caller.session()?, &caller.user, &caller.audit())
        .await
    {
        Ok(codes) => Ok(render(&RecoveryCodesPage {
            codes: codes.iter().map(|c| c.to_string()).collect(),
            next: "/account/security",
        })),
        Err(IdentityError::StepUpRequired) => Ok(step_up_redirect("/account/security")),
        Err(e) => Err(UiError(e.into())),
    }
}

pub async fn remove_passkey(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, UiError> {
    authorize_factors(&s, &caller).await?;
    let id = palisade_core::PasskeyId::parse(&id).map_err(|_| AppError::NotFound)?;
    match s
        .identity
        .remove_passkey(caller.session()?, &caller.user, &id, &caller.audit())
        .await
    {
        Ok((token, _)) => Ok(with_cookie(
            Redirect::to("/account/security").into_response(),
            &token,
        )),
        Err(IdentityError::StepUpRequired) => Ok(step_up_redirect("/account/security")),
        Err(IdentityError::NotEnrolled) => Err(UiError(AppError::NotFound)),
        Err(e @ IdentityError::LastFactor) => {
            let msg = e.to_string();
            Ok(with_status(
                security_view(&s, &caller, None, Some(&msg)).await?,
                StatusCode::CONFLICT,
            ))
        }
        Err(e) => Err(UiError(e.into())),
    }
}

#[derive(Template)]
#[template(path = "step_up.html")]
struct StepUpPage<'a> {
    next: &'a str,
    needs_factor: bool,
    error: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn step_up_form(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<NextQuery>,
) -> Result<Response, UiError> {
    let factors = s
        .identity
        .factors(&caller.principal.user_id)
        .await
        .map_err(AppError::from)?;
    Ok(render(&StepUpPage {
        next: safe_next(q.next.as_deref().unwrap_or("")),
        needs_factor: factors.any(),
        error: None,
    }))
}

#[derive(Deserialize)]
pub struct StepUpForm {
    password: SecretString,
    code: Option<String>,
    next: Option<String>,
}

pub async fn step_up_submit(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<StepUpForm>,
) -> Result<Response, UiError> {
    let next = safe_next(form.next.as_deref().unwrap_or("")).to_owned();
    let factor = factor_from(form.code, None);
    match s
        .identity
        .step_up(
            caller.session()?,
            &caller.user,
            &form.password,
            factor.as_ref(),
            &caller.audit(),
        )
        .await
    {
        Ok((token, _)) => Ok(with_cookie(Redirect::to(&next).into_response(), &token)),
        Err(e @ (IdentityError::InvalidCredentials | IdentityError::Throttled { .. })) => {
            let factors = s
                .identity
                .factors(&caller.principal.user_id)
                .await
                .map_err(AppError::from)?;
            let msg = match e {
                IdentityError::Throttled { retry_after_secs } => crate::locale::text_with(
                    "too-many-attempts",
                    &[(
                        "count",
                        palisade_i18n::Arg::Number(i64::try_from(retry_after_secs).unwrap_or(i64::MAX)),
                    )],
                ),
                _ => crate::locale::word("stepup-mismatch").to_owned(),
            };
            let status = AppError::from(e).status();
            Ok(with_status(
                render(&StepUpPage {
                    next: &next,
                    needs_factor: factors.any(),
                    error: Some(&msg),
                }),
                status,
            ))
        }
        Err(e) => Err(UiError(e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_up_returns_only_to_account_pages() {
        assert_eq!(safe_next("/account/security"), "/account/security");
        assert_eq!(safe_next("/tickets"), "/tickets");
        assert_eq!(safe_next("/admin/staff"), "/admin/staff");
        for hostile in [
            "/admin/staff/../x",
            "/admin/staffx",
            "https://evil.test/",
            "//evil.test/account/",
            "/account//evil.test",
            "/account/\\evil",
            "/account/x y",
            "",
            "/admin",
        ] {
            assert_eq!(safe_next(hostile), "/account/security", "{hostile}");
        }
    }
}
