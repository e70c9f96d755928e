//! The assistant over the API (the portal's pages and the embeddable widget use the
//! same functions): the notice, starting a conversation with consent or a human-only
//! choice, sending messages, reading the transcript, and handing over to a person.
//! A conversation's secret travels in the `X-Palisade-Conversation` header.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use palisade_assist::assistant::current_notice;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::assistant::{self, Handover, SECRET_HEADER, Turn};
use crate::caller::MaybeCaller;
use crate::{AppError, AppState, Problem, RequestMeta};

#[derive(Serialize, ToSchema)]
pub struct Notice {
    pub version: String,
    /// In the language the browser asks for (`Accept-Language`).
    pub text: String,
    pub privacy_notice_url: String,
    /// The widget's own words in that language, by name (`send`, `agree`, …).
    pub words: BTreeMap<String, String>,
}

/// The words the embeddable widget shows, by the name it looks them up under.
const WIDGET_WORDS: [&str; 15] = [
    "box",
    "into-ticket",
    "removed",
    "unverified",
    "failed",
    "email",
    "hand-over",
    "question",
    "send",
    "anonymous",
    "verified",
    "privacy",
    "agree",
    "people-only",
    "removed-details",
];

pub(crate) async fn notice_of(s: &AppState) -> Result<Notice, AppError> {
    // The consent's version stays the same in every language: it names what is said,
    // and each language says the same.
    let notice = current_notice();
    Ok(Notice {
        version: notice.version.into(),
        text: notice.text(crate::locale::current()).to_owned(),
        privacy_notice_url: s.settings().await?.privacy_notice_url,
        words: WIDGET_WORDS
            .iter()
            .map(|name| ((*name).to_owned(), crate::locale::text(&format!("widget-{name}"))))
            .collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/assistant/notice", tag = "assistant",
    responses((status = 200, body = Notice)))]
pub async fn notice(State(s): State<AppState>) -> Result<Json<Notice>, AppError> {
    Ok(Json(notice_of(&s).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// The customer agreed to talk to the automated assistant.
    #[serde(default)]
    pub consent: bool,
    /// The version of the notice the customer was shown.
    pub notice_version: String,
    /// Support from people only: no automated answers, ever, for this customer.
    #[serde(default)]
    pub human_only: bool,
    /// A token the organisation's own site issued for its signed-in customer (the
    /// widget's verified mode): single use, at most 15 minutes ahead. Refused with 401
    /// if it is not genuine; never silently treated as anonymous.
    pub site_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Started {
    pub id: String,
    /// Send as `X-Palisade-Conversation` with every later request; shown once.
    pub secret: String,
    /// `anonymous`, `portal_session` or `site_token`.
    pub verification: String,
    pub human_only: bool,
}

#[utoipa::path(post, path = "/api/v1/assistant/conversations", tag = "assistant", request_body = StartBody,
    responses((status = 201, body = Started), (status = 400, body = Problem), (status = 409, body = Problem)))]
pub async fn start(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<(StatusCode, Json<Started>), AppError> {
    let started = assistant::start(
        &s,
        caller.as_ref(),
        &meta,
        body.consent,
        &body.notice_version,
        body.human_only,
        body.site_token.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Started {
            id: started.id.to_string(),
            secret: started.secret.expose().to_owned(),
            verification: started.verification.as_str().into(),
            human_only: started.human_only,
        }),
    ))
}

fn presented_secret(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The conversation secret from its header.
pub struct ConversationSecret(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ConversationSecret {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(presented_secret(parts)))
    }
}

#[derive(Serialize, ToSchema)]
pub struct TranscriptLine {
    /// `customer` or `assistant`.
    pub author: String,
    /// As stored: redacted.
    pub text: String,
    pub cited_article_ids: Vec<String>,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    /// `open`, `handed_over` or `ended`.
    pub state: String,
    pub verification: String,
    pub human_only: bool,
    pub ticket_id: Option<String>,
    pub transcript: Vec<TranscriptLine>,
}

#[utoipa::path(get, path = "/api/v1/assistant/conversations/{id}", tag = "assistant",
    responses((status = 200, body = Conversation), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    ConversationSecret(secret): ConversationSecret,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, AppError> {
    let conversation = assistant::open(&s, caller.as_ref(), &meta, &id, secret.as_deref()).await?;
    let transcript = s.store.conversation_transcript(&conversation.id).await?;
    Ok(Json(Conversation {
        id: conversation.id.to_string(),
        state: conversation.state.as_str().into(),
        verification: conversation.verification.as_str().into(),
        human_only: conversation.human_only,
        ticket_id: conversation.ticket.as_ref().map(|t| t.to_string()),
        transcript: transcript
            .into_iter()
            .map(|e| TranscriptLine {
                author: e.author,
                text: e.body,
                cited_article_ids: e.cited.iter().map(ToString::to_string).collect(),
                at: rfc3339(e.at.0),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    pub text: String,
}

#[utoipa::path(post, path = "/api/v1/assistant/conversations/{id}/messages", tag = "assistant",
    request_body = MessageBody,
    responses((status = 200, body = Turn), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn message(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    ConversationSecret(secret): ConversationSecret,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Json<Turn>, AppError> {
    let conversation = assistant::open(&s, caller.as_ref(), &meta, &id, secret.as_deref()).await?;
    Ok(Json(
        assistant::converse(&s, caller.as_ref(), &meta, &conversation, &body.text).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    /// Must be true: opening a ticket is the customer's decision.
    pub confirm: bool,
    /// Where to reply, for anonymous conversations (ignored for verified ones, which
    /// are answered at the address on the account).
    pub email: Option<String>,
    /// Verified conversations: add the transcript to this ticket of the customer's own
    /// (one the assistant listed) instead of opening a new one. Checked as the
    /// customer; anyone else's ticket is not found.
    pub ticket_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/assistant/conversations/{id}/handover", tag = "assistant",
    request_body = HandoverBody,
    responses((status = 200, body = Handover), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn handover(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    ConversationSecret(secret): ConversationSecret,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HandoverBody>,
) -> Result<Json<Handover>, AppError> {
    if !body.confirm {
        return Err(AppError::bad_request("refusal-handover-confirm"));
    }
    let conversation = assistant::open(&s, caller.as_ref(), &meta, &id, secret.as_deref()).await?;
    Ok(Json(
        assistant::handover(
            &s,
            &meta,
            &conversation,
            body.email.as_deref(),
            body.ticket_id.as_deref(),
        )
        .await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widget_speaks_every_language() {
        for name in WIDGET_WORDS {
            let id = format!("widget-{name}");
            assert_ne!(palisade_i18n::text(palisade_i18n::Locale::De, &id), id);
        }
    }
}
