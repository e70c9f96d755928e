//! The assistant in the portal, as plain pages that work without JavaScript: the
//! notice and the choice (assistant or people only), then a conversation kept in a
//! `__Host-`, `HttpOnly`, `SameSite=Strict` cookie holding its id and secret. The
//! decisions are the API's (`crate::assistant`), so the two cannot differ.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::help::Viewer;
use super::{UiError, render};
use crate::api::assistant::notice_of;
use crate::assistant::{self, Turn};
use crate::caller::{MaybeCaller, cookie_value};
use crate::{AppError, AppState, Caller, RequestMeta};

const COOKIE: &str = "__Host-palisade-assistant";

fn conversation_cookie(value: &str, max_age: u32) -> HeaderValue {
    let cookie = format!("{COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn from_cookie(headers: &HeaderMap) -> Option<(String, String)> {
    let value = cookie_value(headers, COOKIE)?;
    let (id, secret) = value.split_once('.')?;
    Some((id.to_owned(), secret.to_owned()))
}

struct Line {
    customer: bool,
    text: String,
}

#[derive(Template)]
#[template(path = "assistant.html")]
struct AssistantPage {
    viewer: Option<Viewer>,
    notice_version: String,
    notice_text: String,
    privacy_url: String,
    /// `None` until the customer has made the choice.
    conversation: Option<ConversationView>,
    turn: Option<Turn>,
    handed_over: Option<String>,
    error: Option<String>,
}

struct ConversationView {
    verified: bool,
    human_only: bool,
    open: bool,
    lines: Vec<Line>,
}

async fn page(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    headers: &HeaderMap,
    turn: Option<Turn>,
    handed_over: Option<String>,
    error: Option<String>,
) -> Result<AssistantPage, AppError> {
    let notice = notice_of(s).await?;
    let conversation = match from_cookie(headers) {
        Some((id, secret)) => match assistant::open(s, caller, meta, &id, Some(&secret)).await {
            Ok(c) => {
                let lines = s
                    .store
                    .conversation_transcript(&c.id)
                    .await?
                    .into_iter()
                    .map(|e| Line {
                        customer: e.author == "customer",
                        text: e.body,
                    })
                    .collect();
                Some(ConversationView {
                    verified: c.user.is_some(),
                    human_only: c.human_only,
                    open: c.state == palisade_store::ConversationState::Open,
                    lines,
                })
            }
            Err(AppError::NotFound) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    Ok(AssistantPage {
        viewer: Viewer::of(caller),
        notice_version: notice.version,
        notice_text: notice.text,
        privacy_url: notice.privacy_notice_url,
        conversation,
        turn,
        handed_over,
        error,
    })
}

pub async fn show(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    Ok(render(
        &page(&s, caller.as_ref(), &meta, &headers, None, None, None).await?,
    ))
}

#[derive(Deserialize)]
pub struct StartForm {
    notice_version: String,
    /// `assistant` or `people`; absent when the visitor chose nothing.
    #[serde(default)]
    choice: Option<String>,
}

pub async fn start(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    Form(form): Form<StartForm>,
) -> Result<Response, UiError> {
    // Consent is the explicit choice of the assistant, nothing else.
    let (consent, human_only) = match form.choice.as_deref() {
        Some("assistant") => (true, false),
        Some("people") => (false, true),
        _ => {
            return Err(AppError::bad_request("refusal-choose-support").into());
        }
    };
    let started = assistant::start(
        &s,
        caller.as_ref(),
        &meta,
        consent,
        &form.notice_version,
        human_only,
        None,
    )
    .await?;
    let mut response = Redirect::to("/assistant").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        conversation_cookie(&format!("{}.{}", started.id, started.secret.expose()), 86_400),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct MessageForm {
    text: String,
}

async fn current(
    s: &AppState,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    headers: &HeaderMap,
) -> Result<assistant::Opened, AppError> {
    let (id, secret) = from_cookie(headers).ok_or(AppError::NotFound)?;
    assistant::open(s, caller, meta, &id, Some(&secret)).await
}

pub async fn message(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(form): Form<MessageForm>,
) -> Result<Response, UiError> {
    let conversation = current(&s, caller.as_ref(), &meta, &headers).await?;
    let (turn, error) = match assistant::converse(&s, caller.as_ref(), &meta, &conversation, &form.text).await
    {
        Ok(turn) => (Some(turn), None),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => (None, Some(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    Ok(render(
        &page(&s, caller.as_ref(), &meta, &headers, turn, None, error).await?,
    ))
}

#[derive(Deserialize)]
pub struct HandoverForm {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    email: String,
}

pub async fn handover(
    State(s): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    meta: RequestMeta,
    headers: HeaderMap,
    Form(form): Form<HandoverForm>,
) -> Result<Response, UiError> {
    let conversation = current(&s, caller.as_ref(), &meta, &headers).await?;
    if form.confirm != "yes" {
        let error = Some(crate::locale::word("handover-tick").to_owned());
        return Ok(render(
            &page(&s, caller.as_ref(), &meta, &headers, None, None, error).await?,
        ));
    }
    let email = Some(form.email.as_str()).filter(|e| !e.trim().is_empty());
    match assistant::handover(&s, &meta, &conversation, email, None).await {
        Ok(done) => Ok(render(
            &page(
                &s,
                caller.as_ref(),
                &meta,
                &headers,
                None,
                Some(done.next_steps),
                None,
            )
            .await?,
        )),
        Err(e @ (AppError::BadRequest(_) | AppError::Conflict(_))) => Ok(render(
            &page(
                &s,
                caller.as_ref(),
                &meta,
                &headers,
                None,
                None,
                Some(e.to_string()),
            )
            .await?,
        )),
        Err(e) => Err(e.into()),
    }
}

/// Forgets the conversation in this browser (a new one starts with the notice).
pub async fn end() -> Response {
    let mut response = Redirect::to("/assistant").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, conversation_cookie("", 0));
    response
}
