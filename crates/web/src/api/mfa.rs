//! Second factors over the API: finishing a sign-in, step-up, authenticator-app
//! enrolment and removal, recovery codes. Every rule lives in `palisade-identity`;
//! these handlers translate requests and set the rotated session cookie.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use palisade_core::SecretString;
use palisade_crypto::RandomToken;
use palisade_identity::SecondFactor;
use palisade_policy::Action;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::devices::user_resource;
use super::extract::ApiJson;
use super::session::{set_session_cookies, signed_in_response};
use crate::{AppError, AppState, Caller, PendingCaller, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    /// A six-digit code from the authenticator app.
    pub code: Option<String>,
    /// One of the account's recovery codes (each works once).
    #[schema(value_type = Option<String>, format = Password)]
    pub recovery_code: Option<SecretString>,
}

impl SecondFactorRequest {
    fn factor(self) -> Result<Option<SecondFactor>, AppError> {
        match (self.code, self.recovery_code) {
            (Some(code), None) => Ok(Some(SecondFactor::Totp(code))),
            (None, Some(code)) => Ok(Some(SecondFactor::RecoveryCode(code))),
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(AppError::bad_request("refusal-code-or-recovery")),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpRequest {
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub code: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    pub recovery_code: Option<SecretString>,
}

#[derive(Serialize, ToSchema)]
pub struct RotatedSession {
    /// The session's new token; the old one no longer works.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct MfaStatus {
    /// Whether this account must have a second factor (staff roles).
    pub required: bool,
    pub totp: bool,
    pub passkeys: usize,
    pub recovery_codes_left: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret, for typing into an app that cannot scan.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct Enrolment {
    pub token: String,
    /// Shown once, with the first factor; `null` if the account already had codes.
    pub recovery_codes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// A response carrying a rotated session token in the body and the cookie.
pub(crate) fn with_session_cookie<T: Serialize>(
    status: StatusCode,
    token: &RandomToken,
    body: T,
) -> Response {
    let mut response = (status, Json(body)).into_response();
    set_session_cookies(response.headers_mut(), token.expose());
    response
}

/// The answer to anything that replaced the caller's session token.
fn rotated(token: &RandomToken) -> Response {
    let body = RotatedSession {
        token: token.expose().to_owned(),
    };
    with_session_cookie(StatusCode::OK, token, body)
}

pub(crate) async fn authorize_factors(s: &AppState, caller: &Caller) -> Result<(), AppError> {
    let me = user_resource(s, &caller.principal.user_id).await?;
    s.authorize(caller, Action::UserManageFactors, &me).await?;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/sessions/current/second-factor", tag = "auth",
    request_body = SecondFactorRequest,
    responses((status = 201, body = super::dto::SignInResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn second_factor(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
    ApiJson(req): ApiJson<SecondFactorRequest>,
) -> Result<Response, AppError> {
    let session = caller.session()?;
    let factor = req
        .factor()?
        .ok_or_else(|| AppError::bad_request("refusal-code-required"))?;
    let signed = s
        .identity
        .verify_second_factor(session, &caller.user, &factor, &caller.audit())
        .await?;
    signed_in_response(&s, signed).await
}

#[utoipa::path(post, path = "/api/v1/sessions/current/step-up", tag = "auth", request_body = StepUpRequest,
    responses((status = 200, body = RotatedSession), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn step_up(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<StepUpRequest>,
) -> Result<Response, AppError> {
    let session = caller.session()?;
    let password = req.password.clone();
    let factor = SecondFactorRequest {
        code: req.code,
        recovery_code: req.recovery_code,
    }
    .factor()?;
    let (token, _) = s
        .identity
        .step_up(session, &caller.user, &password, factor.as_ref(), &caller.audit())
        .await?;
    Ok(rotated(&token))
}

#[utoipa::path(get, path = "/api/v1/me/mfa", tag = "auth", responses((status = 200, body = MfaStatus)))]
pub async fn status(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<Json<MfaStatus>, AppError> {
    enrolling_or_full(&caller)?;
    authorize_factors(&s, &caller).await?;
    let factors = s.identity.factors(&caller.principal.user_id).await?;
    Ok(Json(MfaStatus {
        required: palisade_identity::mfa_required(caller.user.role),
        totp: factors.totp,
        passkeys: factors.passkeys,
        recovery_codes_left: if factors.any() {
            factors.recovery_codes_left
        } else {
            0
        },
    }))
}

/// Enrolment is open to full sessions and enrol-only ones, never to a session that
/// still owes its second factor.
pub(crate) fn enrolling_or_full(caller: &Caller) -> Result<(), AppError> {
    match caller.session.as_ref().map(|x| x.stage) {
        Some(palisade_identity::SessionStage::SecondFactor) => Err(AppError::SecondFactorRequired),
        None => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

#[utoipa::path(post, path = "/api/v1/me/mfa/totp", tag = "auth",
    responses((status = 201, body = TotpEnrolment), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn begin_totp(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<(StatusCode, Json<TotpEnrolment>), AppError> {
    enrolling_or_full(&caller)?;
    authorize_factors(&s, &caller).await?;
    let setup = s.identity.begin_totp(caller.session()?, &caller.user).await?;
    Ok((
        StatusCode::CREATED,
        Json(TotpEnrolment {
            secret: setup.secret_base32.to_string(),
            otpauth_uri: setup.otpauth_uri.to_string(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/me/mfa/totp/confirm", tag = "auth", request_body = ConfirmTotpRequest,
    responses((status = 200, body = Enrolment), (status = 401, body = Problem), (status = 409, body = Problem)))]
pub async fn confirm_totp(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
    ApiJson(req): ApiJson<ConfirmTotpRequest>,
) -> Result<Response, AppError> {
    enrolling_or_full(&caller)?;
    authorize_factors(&s, &caller).await?;
    let enrolled = s
        .identity
        .confirm_totp(caller.session()?, &caller.user, &req.code, &caller.audit())
        .await?;
    let body = Enrolment {
        token: enrolled.token.expose().to_owned(),
        recovery_codes: enrolled
            .recovery_codes
            .as_ref()
            .map(|codes| codes.iter().map(|c| c.to_string()).collect()),
    };
    Ok(with_session_cookie(StatusCode::OK, &enrolled.token, body))
}

#[utoipa::path(delete, path = "/api/v1/me/mfa/totp", tag = "auth",
    responses((status = 200, body = RotatedSession), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn remove_totp(State(s): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    authorize_factors(&s, &caller).await?;
    let (token, _) = s
        .identity
        .remove_totp(caller.session()?, &caller.user, &caller.audit())
        .await?;
    Ok(rotated(&token))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, format = Password)]
    pub new_password: palisade_core::SecretString,
}

/// Changing the password is a step-up action; every other session of the account ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 200, body = RotatedSession), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn change_password(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<Response, AppError> {
    authorize_factors(&s, &caller).await?;
    let (token, _) = s
        .identity
        .change_password(
            caller.session.as_ref(),
            &caller.user,
            &req.new_password,
            &caller.audit(),
        )
        .await?;
    Ok(rotated(&token))
}

#[utoipa::path(post, path = "/api/v1/me/mfa/recovery-codes", tag = "auth",
    responses((status = 201, body = RecoveryCodes), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn regenerate_recovery_codes(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<RecoveryCodes>), AppError> {
    authorize_factors(&s, &caller).await?;
    let codes = s
        .identity
        .regenerate_recovery_codes(caller.session()?, &caller.user, &caller.audit())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RecoveryCodes {
            recovery_codes: codes.iter().map(|c| c.to_string()).collect(),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyChallenge {
    /// Send back with the answer; a challenge works once, for this session only.
    pub ceremony: String,
    /// WebAuthn options for `navigator.credentials.create` or `.get` (binary fields
    /// base64url-encoded).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationRequest {
    pub ceremony: String,
    pub name: String,
    /// The browser's `PublicKeyCredential` from `create`, binary fields base64url.
    #[schema(value_type = Object)]
    pub credential: palisade_identity::RegisterPublicKeyCredential,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAnswer {
    pub ceremony: String,
    /// The browser's `PublicKeyCredential` from `get`, binary fields base64url.
    #[schema(value_type = Object)]
    pub credential: palisade_identity::PublicKeyCredential,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyStepUpRequest {
    #[schema(value_type = String, format = Password)]
    pub password: SecretString,
    pub ceremony: String,
    #[schema(value_type = Object)]
    pub credential: palisade_identity::PublicKeyCredential,
}

#[derive(Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenamePasskeyRequest {
    pub name: String,
}

fn ceremony_id(raw: &str) -> Result<palisade_core::CeremonyId, AppError> {
    palisade_core::CeremonyId::parse(raw).map_err(|_| AppError::bad_request("refusal-unknown-ceremony"))
}

fn passkey_id(raw: &str) -> Result<palisade_core::PasskeyId, AppError> {
    palisade_core::PasskeyId::parse(raw).map_err(|_| AppError::NotFound)
}

fn options_json<T: Serialize>(options: &T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(options).map_err(|e| AppError::Internal(format!("webauthn options: {e}")))
}

#[utoipa::path(post, path = "/api/v1/me/passkeys/registration", tag = "auth",
    responses((status = 201, body = PasskeyChallenge), (status = 403, body = Problem)))]
pub async fn start_passkey_registration(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<(StatusCode, Json<PasskeyChallenge>), AppError> {
    enrolling_or_full(&caller)?;
    authorize_factors(&s, &caller).await?;
    let (ceremony, options) = s
        .identity
        .start_passkey_registration(caller.session()?, &caller.user)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PasskeyChallenge {
            ceremony: ceremony.to_string(),
            options: options_json(&options)?,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "auth", request_body = PasskeyRegistrationRequest,
    responses((status = 200, body = Enrolment), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn finish_passkey_registration(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
    ApiJson(req): ApiJson<PasskeyRegistrationRequest>,
) -> Result<Response, AppError> {
    enrolling_or_full(&caller)?;
    authorize_factors(&s, &caller).await?;
    let name = crate::service::validate_text("name", &req.name, 60)?;
    let enrolled = s
        .identity
        .finish_passkey_registration(
            caller.session()?,
            &caller.user,
            &ceremony_id(&req.ceremony)?,
            &name,
            &req.credential,
            &caller.audit(),
        )
        .await?;
    let body = Enrolment {
        token: enrolled.token.expose().to_owned(),
        recovery_codes: enrolled
            .recovery_codes
            .as_ref()
            .map(|codes| codes.iter().map(|c| c.to_string()).collect()),
    };
    Ok(with_session_cookie(StatusCode::OK, &enrolled.token, body))
}

#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "auth", responses((status = 200, body = Vec<PasskeyView>)))]
pub async fn list_passkeys(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<PasskeyView>>, AppError> {
    authorize_factors(&s, &caller).await?;
    let passkeys = s.store.passkeys(&caller.principal.user_id).await?;
    Ok(Json(
        passkeys
            .into_iter()
            .map(|p| PasskeyView {
                id: p.id.to_string(),
                name: p.name,
                created_at: super::dto::rfc3339(p.created_at.0),
                last_used_at: p.last_used_at.map(|t| super::dto::rfc3339(t.0)),
            })
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/me/passkeys/{id}", tag = "auth", params(("id" = String, Path)),
    request_body = RenamePasskeyRequest, responses((status = 204), (status = 404, body = Problem)))]
pub async fn rename_passkey(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(req): ApiJson<RenamePasskeyRequest>,
) -> Result<StatusCode, AppError> {
    authorize_factors(&s, &caller).await?;
    let name = crate::service::validate_text("name", &req.name, 60)?;
    if s.identity
        .rename_passkey(&caller.user, &passkey_id(&id)?, &name, &caller.audit())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound)
    }
}

#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 200, body = RotatedSession), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn remove_passkey(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    authorize_factors(&s, &caller).await?;
    let (token, _) = s
        .identity
        .remove_passkey(
            caller.session()?,
            &caller.user,
            &passkey_id(&id)?,
            &caller.audit(),
        )
        .await
        .map_err(|e| match e {
            palisade_identity::IdentityError::NotEnrolled => AppError::NotFound,
            other => other.into(),
        })?;
    Ok(rotated(&token))
}

#[utoipa::path(post, path = "/api/v1/sessions/current/passkey-challenge", tag = "auth",
    responses((status = 201, body = PasskeyChallenge), (status = 409, body = Problem)))]
pub async fn passkey_challenge(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
) -> Result<(StatusCode, Json<PasskeyChallenge>), AppError> {
    let (ceremony, options) = s
        .identity
        .start_passkey_authentication(caller.session()?, &caller.user)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PasskeyChallenge {
            ceremony: ceremony.to_string(),
            options: options_json(&options)?,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/sessions/current/second-factor/passkey", tag = "auth",
    request_body = PasskeyAnswer,
    responses((status = 201, body = super::dto::SignInResponse), (status = 401, body = Problem)))]
pub async fn passkey_second_factor(
    State(s): State<AppState>,
    PendingCaller(caller): PendingCaller,
    ApiJson(req): ApiJson<PasskeyAnswer>,
) -> Result<Response, AppError> {
    let signed = s
        .identity
        .verify_passkey_second_factor(
            caller.session()?,
            &caller.user,
            &ceremony_id(&req.ceremony)?,
            &req.credential,
            &caller.audit(),
        )
        .await?;
    signed_in_response(&s, signed).await
}

#[utoipa::path(post, path = "/api/v1/sessions/current/step-up/passkey", tag = "auth",
    request_body = PasskeyStepUpRequest,
    responses((status = 200, body = RotatedSession), (status = 401, body = Problem)))]
pub async fn passkey_step_up(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PasskeyStepUpRequest>,
) -> Result<Response, AppError> {
    let (token, _) = s
        .identity
        .step_up_with_passkey(
            caller.session()?,
            &caller.user,
            &req.password,
            &ceremony_id(&req.ceremony)?,
            &req.credential,
            &caller.audit(),
        )
        .await?;
    Ok(rotated(&token))
}
