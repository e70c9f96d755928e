//! Every version of the assistant's notice (open to everyone), and the signed-in
//! person's own choices about the assistant, each naming the version it was made under.

use axum::Json;
use axum::extract::State;
use palisade_assist::assistant::{NOTICE_VERSIONS, current_notice};
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::rfc3339;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct NoticeVersionView {
    /// The date it was published: what a consent names.
    pub version: String,
    /// The one shown before conversations now.
    pub current: bool,
    /// In the language the browser asks for (`Accept-Language`).
    pub text: String,
    /// Its page.
    pub page: String,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeVersionList {
    /// Newest first.
    pub items: Vec<NoticeVersionView>,
}

#[utoipa::path(get, path = "/api/v1/notices", tag = "assistant",
    responses((status = 200, body = NoticeVersionList)))]
/// Every version of the notice shown before a conversation, newest first.
pub async fn list() -> Json<NoticeVersionList> {
    let current = current_notice().version;
    Json(NoticeVersionList {
        items: NOTICE_VERSIONS
            .iter()
            .rev()
            .map(|n| NoticeVersionView {
                version: n.version.to_owned(),
                current: n.version == current,
                text: n.text(crate::locale::current()).to_owned(),
                page: format!("/privacy/notices/{}", n.version),
            })
            .collect(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct ConsentView {
    pub notice_version: String,
    /// `assistant` (agreed to talk to it) or `people_only`.
    pub choice: String,
    pub decided_at: String,
    /// The page with that version's words.
    pub notice: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentList {
    /// Oldest first.
    pub items: Vec<ConsentView>,
}

#[utoipa::path(get, path = "/api/v1/me/consents", tag = "assistant",
    responses((status = 200, body = ConsentList), (status = 401, body = Problem)))]
/// The signed-in person's choices about the assistant, oldest first.
pub async fn mine(State(s): State<AppState>, caller: Caller) -> Result<Json<ConsentList>, AppError> {
    let history = s.desk().own_consents(&caller.actor()).await?;
    Ok(Json(ConsentList {
        items: history
            .iter()
            .map(|c| ConsentView {
                notice_version: c.notice_version.clone(),
                choice: if c.people_only { "people_only" } else { "assistant" }.to_owned(),
                decided_at: rfc3339(c.decided_at.0),
                notice: format!("/privacy/notices/{}", c.notice_version),
            })
            .collect(),
    }))
}
