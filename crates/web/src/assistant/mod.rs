//! Assistant conversations, shared by the API (and so the widget) and the portal
//! pages. A conversation is reached with its secret and, when verified, only by its
//! owner's session; it acts as its own principal — a visitor for an anonymous one,
//! however the browser is signed in. What customers type is redacted before it is
//! stored or searched. Answers are passages from articles the principal may read;
//! credentials, recovery and payment matters go to a secure channel, never the chat;
//! opening a ticket waits for the customer's confirmation.

use palisade_assist::RedactionKind;
use palisade_assist::assistant::{self, Intent, NOTICE_VERSION, Passage, SensitiveTopic};
use palisade_core::{ConversationId, EmailAddress, UnixMillis};
use palisade_crypto::RandomToken;
use palisade_i18n::Refusal;
use palisade_policy::Reader;
use palisade_service::StartConversation;
use palisade_store::{ConversationRecord, ConversationState, Verification};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::limits::subject;
use crate::{AppError, AppState, Caller, RequestMeta};

pub(crate) const SECRET_HEADER: &str = "x-palisade-conversation";
pub(crate) const MAX_MESSAGE_CHARS: usize = 2000;
/// A bound on one conversation's length; a customer who needs more needs a person.
const MAX_MESSAGES: i64 = 200;

pub(crate) struct Started {
    pub id: ConversationId,
    pub secret: RandomToken,
    pub verification: Verification,
    pub human_only: bool,
}

/// A passage an answer quotes, with where it comes from.
#[derive(Serialize, ToSchema, Clone)]
pub struct Citation {
    pub article_id: String,
    pub title: String,
    /// The help-centre page (always on this site).
    pub url: String,
    pub passage: String,
}

/// One of the customer's own tickets, as the assistant lists them.
#[derive(Serialize, ToSchema, Clone)]
pub struct TicketLine {
    /// For a handover into this ticket (`ticket_id`).
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub url: String,
}

/// The assistant's answer to one message.
#[derive(Serialize, ToSchema, Clone)]
pub struct Turn {
    /// Plain text: never rendered as HTML or Markdown.
    pub reply: String,
    pub citations: Vec<Citation>,
    pub tickets: Vec<TicketLine>,
    /// The assistant suggests handing over to a person (the customer confirms).
    pub offer_handover: bool,
    /// Set when the request belongs to a secure channel: `password`,
    /// `account_recovery`, `email_change`, `second_factor`, `payment_details`,
    /// `refund_details`.
    pub secure_channel: Option<String>,
    /// What redaction removed from the message, by kind.
    pub redacted: Vec<String>,
    /// The reply was written by the language model (and passed every check); otherwise
    /// it is quoted from articles or fixed text.
    pub drafted_by_model: bool,
}

/// What happens after a handover.
#[derive(Serialize, ToSchema)]
pub struct Handover {
    /// The ticket opened for a verified customer.
    pub ticket_id: Option<String>,
    pub ticket_number: Option<i64>,
    pub next_steps: String,
}

/// Starts a conversation after the customer saw notice `notice_version` and either
/// agreed to the assistant or chose human-only support.
pub(crate) async fn start(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    consent: bool,
    notice_version: &str,
    human_only: bool,
    site_token: Option<&str>,
) -> Result<Started, AppError> {
    if notice_version != NOTICE_VERSION {
        return Err(AppError::Conflict(
            Refusal::new("refusal-notice-changed").with("number", NOTICE_VERSION),
        ));
    }
    if consent && human_only {
        return Err(AppError::bad_request("refusal-choose-one-support"));
    }
    // The site token is checked first (its failures have their own limit per source),
    // so a verified start counts against its customer, not against everyone who shares
    // the customer's address.
    let site_verified = match site_token {
        Some(token) => {
            if caller.is_some() {
                return Err(AppError::bad_request("refusal-portal-and-site-token"));
            }
            Some(verify_site_token(s, meta, token).await?)
        }
        None => None,
    };
    let caller = site_verified.as_ref().or(caller);
    s.enforce(
        &s.config.public_limits.conversations_per_ip,
        &subject(caller, meta),
        meta,
    )
    .await?;
    let secret = RandomToken::generate().map_err(|e| AppError::Internal(e.to_string()))?;
    let verification = match (&site_verified, caller) {
        (Some(_), _) => Verification::SiteToken,
        (None, Some(_)) => Verification::PortalSession,
        (None, None) => Verification::Anonymous,
    };
    let owner = caller.map(Caller::actor);
    let started = s
        .desk()
        .start_conversation(
            owner.as_ref(),
            StartConversation {
                consent,
                human_only,
                notice_version: NOTICE_VERSION.into(),
                verification,
                secret_hash: secret.hash(),
                client_ip: meta.ip.clone(),
            },
        )
        .await?;
    Ok(Started {
        id: started.id,
        secret,
        verification,
        human_only: started.human_only,
    })
}

/// How long a conversation started with a site token stays verified: the token itself
/// lives at most 15 minutes, the conversation a little longer, then the page must
/// fetch a fresh token and start again.
const SITE_VERIFIED_FOR_MS: i64 = 30 * 60 * 1000;

/// Verifies a site token, uses it up and finds the customer it names. Every failure
/// is answered alike (401) and counted as a failed identity verification.
async fn verify_site_token(s: &AppState, meta: &RequestMeta, token: &str) -> Result<Caller, AppError> {
    let failures = &s.config.public_limits.site_token_failures_per_ip;
    let who = subject(None, meta);
    s.refuse_if_over(failures, &who).await?;
    let outcome = match &s.config.site_tokens {
        None => Err("site tokens are not configured"),
        Some(verifier) => match verifier.verify(token, UnixMillis::now().0 / 1000) {
            Err(rejection) => {
                tracing::info!(?rejection, "site token refused");
                Err("refused")
            }
            Ok(claims) => {
                let first = s
                    .store
                    .first_use_of_token_id(
                        verifier.issuer(),
                        &claims.token_id,
                        // Remembered for as long as the verifier could still accept it.
                        UnixMillis(
                            claims
                                .expires_at
                                .saturating_add(palisade_assist::SITE_TOKEN_LEEWAY_SECS + 60)
                                .saturating_mul(1000),
                        ),
                    )
                    .await?;
                match (first, claims.email.as_deref()) {
                    (false, _) => Err("replayed"),
                    (true, None) => Err("no verified email claim"),
                    (true, Some(email)) => match s.identity.site_verified_customer(email).await? {
                        Some(found) => Ok(Caller {
                            principal: found.principal,
                            user: found.user,
                            meta: meta.clone(),
                            source: crate::CredentialSource::SiteToken,
                            session: None,
                        }),
                        None => Err("no customer account has that address"),
                    },
                }
            }
        },
    };
    match outcome {
        Ok(caller) => Ok(caller),
        Err(reason) => {
            tracing::info!(reason, "site token not accepted");
            s.note_signal(crate::anomaly::Signal::IdentityFailure, &who, meta, None)
                .await?;
            s.count_against(failures, &who, meta).await?;
            Err(AppError::Unauthenticated)
        }
    }
}

/// An open conversation and who it acts as: its verified owner, or nobody (a visitor).
pub(crate) struct Opened {
    pub record: ConversationRecord,
    pub acting: Option<Caller>,
}

impl std::ops::Deref for Opened {
    type Target = ConversationRecord;
    fn deref(&self) -> &ConversationRecord {
        &self.record
    }
}

/// The conversation, if `secret` is its secret and the caller may use it; otherwise
/// `NotFound`, the same for a wrong secret, someone else's conversation or none.
pub(crate) async fn open(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    raw_id: &str,
    secret: Option<&str>,
) -> Result<Opened, AppError> {
    let probes = &s.config.public_limits.conversation_probes_per_ip;
    let who = subject(caller, meta);
    s.refuse_if_over(probes, &who).await?;
    match find(s, caller, meta, raw_id, secret).await {
        Err(AppError::NotFound) => {
            // Guessing ids or secrets is probing; enough of it raises an alert.
            s.count_against(probes, &who, meta).await?;
            Err(AppError::NotFound)
        }
        other => other,
    }
}

async fn find(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    raw_id: &str,
    secret: Option<&str>,
) -> Result<Opened, AppError> {
    let desk = s.desk();
    let conversation = desk.conversation_by_secret(raw_id, secret).await?;
    let acting = acting_caller(s, &conversation, caller, meta).await?;
    desk.admit_to_conversation(
        &conversation,
        acting.as_ref().map(Caller::actor).as_ref(),
        caller.map(Caller::actor).as_ref(),
    )
    .await?;
    Ok(Opened {
        record: conversation,
        acting,
    })
}

/// Who a conversation acts as: its owner when verified — by the owner's own portal
/// session, or (for a while after it started) by the site's token that started it,
/// the conversation's secret then being the credential — and nobody when anonymous,
/// whoever happens to be signed in.
async fn acting_caller(
    s: &AppState,
    conversation: &ConversationRecord,
    caller: Option<&Caller>,
    meta: &RequestMeta,
) -> Result<Option<Caller>, AppError> {
    let Some(owner) = &conversation.user else {
        return Ok(None);
    };
    match conversation.verification {
        Verification::PortalSession => Ok(caller.filter(|c| c.principal.user_id == *owner).cloned()),
        Verification::SiteToken => {
            if UnixMillis::now().0 - conversation.created_at.0 > SITE_VERIFIED_FOR_MS {
                return Err(AppError::conflict("refusal-conversation-expired"));
            }
            Ok(s.identity
                .site_verified_account(owner)
                .await?
                .map(|found| Caller {
                    principal: found.principal,
                    user: found.user,
                    meta: meta.clone(),
                    source: crate::CredentialSource::SiteToken,
                    session: None,
                }))
        }
        Verification::Anonymous => Ok(None),
    }
}

fn acting_reader(conversation: &Opened) -> Reader<'_> {
    match &conversation.acting {
        Some(c) => Reader::User(&c.principal),
        None => Reader::Visitor,
    }
}

mod converse;
mod handover;

pub(crate) use converse::converse;
pub(crate) use handover::handover;
