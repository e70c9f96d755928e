//! One error type for every handler, rendered in exactly two places: as RFC 9457
//! problem+json for the API ([`AppError`]'s `IntoResponse`) and as a plain page for the
//! UI ([`crate::ui::UiError`]). A 5xx never carries internal detail to the client: it
//! gets a correlation id, and the detail goes to the log under the same id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use palisade_i18n::Refusal;
use palisade_identity::IdentityError;
use palisade_store::StoreError;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    /// The caller may see the object but not do this to it.
    #[error("forbidden")]
    Forbidden,
    /// Missing, or not visible to the caller: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(Refusal),
    #[error("{0}")]
    Conflict(Refusal),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many attempts; try again in {0} seconds")]
    TooManyRequests(u64),
    #[error("cross-site request refused")]
    CrossSite,
    /// Signed in with a password; the second factor is still owed.
    #[error("a second factor is required to finish signing in")]
    SecondFactorRequired,
    /// A staff account without a second factor: it may only enrol one.
    #[error("set up a second factor before continuing")]
    EnrolmentRequired,
    #[error("{0}")]
    StepUpRequired(Refusal),
    /// A peer this request depends on (an identity provider) is unreachable.
    #[error("{0}")]
    Unavailable(Refusal),
    /// The file is not scanned for malware yet; it is served once it is clean.
    #[error("this file is waiting for the malware scan; try again shortly")]
    AwaitingScan,
    /// The malware scanner found something in the file.
    #[error("this file matched a malware signature and is blocked")]
    FileBlocked,
    /// The ticket changed since the version the update was based on: here it is now.
    #[error("the ticket changed since you read it; see what it is now and decide again")]
    StaleTicket(Box<crate::api::dto::TicketView>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// [`AppError::BadRequest`] with the catalogue's message `id`.
    pub fn bad_request(id: &'static str) -> Self {
        Self::BadRequest(Refusal::new(id))
    }

    /// [`AppError::Conflict`] with the catalogue's message `id`.
    pub fn conflict(id: &'static str) -> Self {
        Self::Conflict(Refusal::new(id))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict => AppError::conflict("refusal-duplicate"),
            StoreError::InvalidCursor => AppError::bad_request("refusal-invalid-cursor"),
            StoreError::Unauthorized => AppError::Forbidden,
            StoreError::Database(_)
            | StoreError::Crypto(_)
            | StoreError::Corrupt(_)
            | StoreError::Invalid(_)
            | StoreError::WrongMasterKey
            | StoreError::Unavailable(_)
            | StoreError::RetiredMasterKey
            | StoreError::RetiredRoot
            | StoreError::RootRotationUnderWay
            | StoreError::RetiredAuditKey { .. }
            | StoreError::UnknownAuditSigner { .. }
            | StoreError::AuditTrail(_) => AppError::Internal(e.to_string()),
        }
    }
}

impl From<palisade_mail::MailError> for AppError {
    fn from(e: palisade_mail::MailError) -> Self {
        use palisade_mail::MailError;
        match e {
            // Palisade's own words for why the message cannot go on (never a database's).
            MailError::Refused(why) => AppError::Conflict(why),
            MailError::Permanent(why) => {
                // Palisade's own words, but English and technical: the log has them.
                tracing::info!(reason = %why, "a held message cannot be released");
                AppError::conflict("refusal-release-undeliverable")
            }
            MailError::Store(e) => e.into(),
            MailError::Temporary(_) | MailError::Config(_) => AppError::Internal(e.to_string()),
        }
    }
}

impl From<IdentityError> for AppError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::InvalidCredentials => AppError::InvalidCredentials,
            IdentityError::InvalidLink => AppError::NotFound,
            IdentityError::SessionLimit => AppError::conflict("refusal-session-limit"),
            IdentityError::Throttled { retry_after_secs } => AppError::TooManyRequests(retry_after_secs),
            IdentityError::InvalidRequest(why) => AppError::BadRequest(why),
            IdentityError::WeakPassword(why) => AppError::BadRequest(
                Refusal::new("refusal-password-rejected").with("reason", palisade_i18n::Arg::Message(why)),
            ),
            IdentityError::InvalidSecondFactor => AppError::InvalidCredentials,
            IdentityError::StepUpRequired => AppError::StepUpRequired(Refusal::new("refusal-step-up")),
            IdentityError::WrongStage => AppError::conflict("refusal-wrong-stage"),
            IdentityError::AlreadyEnrolled => AppError::conflict("refusal-already-enrolled"),
            IdentityError::NotEnrolled => AppError::conflict("refusal-not-enrolled"),
            IdentityError::LastFactor => AppError::conflict("refusal-last-factor"),
            IdentityError::SessionEnded => AppError::Unauthenticated,
            IdentityError::SsoFailed => AppError::InvalidCredentials,
            IdentityError::UnknownProvider => AppError::NotFound,
            IdentityError::Provider(detail) => {
                tracing::warn!(error = %detail, "identity provider unavailable");
                AppError::Unavailable(Refusal::new("refusal-provider-unreachable"))
            }
            IdentityError::Store(s) => s.into(),
            IdentityError::Crypto(_) | IdentityError::Hashing | IdentityError::Config(_) => {
                AppError::Internal(e.to_string())
            }
        }
    }
}

impl From<palisade_assist::AssistError> for AppError {
    fn from(e: palisade_assist::AssistError) -> Self {
        use palisade_assist::AssistError;
        match e {
            AssistError::InvalidArticle(why) => AppError::BadRequest(why),
            AssistError::UnusableArticle(why) => AppError::Conflict(why),
            AssistError::Store(palisade_store::StoreError::Conflict) => {
                AppError::conflict("refusal-article-slug-taken")
            }
            AssistError::Store(s) => s.into(),
            AssistError::BadPattern { .. } | AssistError::BadSiteKey(_) | AssistError::Search(_) => {
                AppError::Internal(e.to_string())
            }
        }
    }
}

impl From<palisade_service::ServiceError> for AppError {
    fn from(e: palisade_service::ServiceError) -> Self {
        use palisade_service::ServiceError as E;
        match e {
            E::NotFound => AppError::NotFound,
            E::Forbidden => AppError::Forbidden,
            E::Invalid(why) => AppError::BadRequest(why),
            E::Conflict(why) => AppError::Conflict(why),
            E::Store(e) => e.into(),
            E::Reaction(why) => AppError::Internal(why),
            E::Identity(e) => e.into(),
            E::Unavailable(what) => AppError::Internal(what.into()),
            E::AwaitingScan => AppError::AwaitingScan,
            E::FileBlocked => AppError::FileBlocked,
            E::ScannerDown(why) => AppError::Internal(why),
            E::Stale(ticket) => AppError::StaleTicket(Box::new((&*ticket).into())),
        }
    }
}

impl From<palisade_core::CoreError> for AppError {
    fn from(e: palisade_core::CoreError) -> Self {
        AppError::BadRequest(palisade_service::core_refusal(e))
    }
}

/// RFC 9457 problem details.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// With `stale-ticket`: the ticket as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Box<crate::api::dto::TicketView>>,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials | AppError::SecondFactorRequired => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Forbidden
            | AppError::CrossSite
            | AppError::EnrolmentRequired
            | AppError::StepUpRequired(_)
            | AppError::FileBlocked => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) | AppError::StaleTicket(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) | AppError::AwaitingScan => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document; logs internal errors under a fresh correlation id.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (detail, correlation_id) = match self {
            AppError::Internal(detail) => {
                let id = correlation_id();
                tracing::error!(correlation_id = %id, error = %detail, "internal error");
                (Some(crate::locale::text("problem-internal")), Some(id))
            }
            other => (Some(other.detail()), None),
        };
        // Clients act on these, so they get types of their own.
        let slug = match self {
            AppError::SecondFactorRequired => "second-factor-required".to_owned(),
            AppError::EnrolmentRequired => "mfa-enrolment-required".to_owned(),
            AppError::StepUpRequired(_) => "step-up-required".to_owned(),
            AppError::AwaitingScan => "scan-pending".to_owned(),
            AppError::FileBlocked => "file-blocked".to_owned(),
            AppError::StaleTicket(_) => "stale-ticket".to_owned(),
            _ => status
                .canonical_reason()
                .unwrap_or("error")
                .to_lowercase()
                .replace(' ', "-"),
        };
        Problem {
            kind: format!("https://palisade.invalid/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            correlation_id,
            ticket: match self {
                AppError::StaleTicket(ticket) => Some(ticket.clone()),
                _ => None,
            },
        }
    }
}

impl AppError {
    /// What went wrong, in the language of the page or answer being written.
    fn detail(&self) -> String {
        let id = match self {
            AppError::BadRequest(r)
            | AppError::Conflict(r)
            | AppError::StepUpRequired(r)
            | AppError::Unavailable(r) => {
                return crate::locale::refusal(r);
            }
            AppError::TooManyRequests(secs) => {
                let secs = i64::try_from(*secs).unwrap_or(i64::MAX);
                return crate::locale::text_with("problem-too-many", &[("count", secs.into())]);
            }
            AppError::Unauthenticated => "problem-unauthenticated",
            AppError::Forbidden => "problem-forbidden",
            AppError::NotFound => "problem-not-found",
            AppError::PayloadTooLarge => "problem-too-large",
            AppError::UnsupportedMediaType => "problem-media-type",
            AppError::InvalidCredentials => "problem-credentials",
            AppError::CrossSite => "problem-cross-site",
            AppError::SecondFactorRequired => "problem-second-factor",
            AppError::EnrolmentRequired => "problem-enrolment",
            AppError::AwaitingScan => "problem-awaiting-scan",
            AppError::FileBlocked => "problem-file-blocked",
            AppError::StaleTicket(_) => "problem-stale-ticket",
            AppError::Internal(_) => "problem-internal",
        };
        crate::locale::text(id)
    }
}

fn correlation_id() -> String {
    let mut bytes = [0u8; 8];
    // An all-zero id is still a usable (if unhelpful) id; never fail an error path.
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let mut response = (self.status(), Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let AppError::TooManyRequests(secs) = self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if matches!(self, AppError::AwaitingScan) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        if matches!(self, AppError::Unauthenticated | AppError::InvalidCredentials) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
