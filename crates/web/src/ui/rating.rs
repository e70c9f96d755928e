//! Saying how satisfied one is: the requester's form on a solved ticket's page, and the
//! page behind the survey link mailed once a ticket is solved. That page shows nothing
//! of the ticket (its number, subject and people stay behind the sign-in), and opening
//! it decides nothing: mail scanners fetch links, so only the submitted form counts.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::ui::{Notice, UiError, render};
use crate::{AppError, AppState, Caller, RequestMeta};

#[derive(Template)]
#[template(path = "rate.html")]
struct RatePage<'a> {
    token: &'a str,
}

#[derive(Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

fn good(form: &RatingForm) -> Result<bool, AppError> {
    match form.rating.as_str() {
        "good" => Ok(true),
        "bad" => Ok(false),
        _ => Err(AppError::bad_request("refusal-rating")),
    }
}

fn invalid_link() -> Response {
    let mut r = render(&Notice {
        title: crate::locale::word("link-invalid-title"),
        message: crate::locale::word("link-invalid-rating"),
        link: "/help",
        link_text: crate::locale::word("link-help-centre"),
    });
    *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
    r
}

pub async fn form(State(s): State<AppState>, Path(token): Path<String>) -> Result<Response, UiError> {
    match s.desk().survey_open(&token).await {
        Ok(()) => Ok(render(&RatePage { token: &token })),
        Err(palisade_service::ServiceError::NotFound) => Ok(invalid_link()),
        Err(e) => Err(e.into()),
    }
}

pub async fn submit(
    State(s): State<AppState>,
    meta: RequestMeta,
    Path(token): Path<String>,
    Form(form): Form<RatingForm>,
) -> Result<Response, UiError> {
    let good = good(&form)?;
    match s
        .desk()
        .rate_by_link(&meta.anonymous_audit(), &token, good, &form.comment)
        .await
    {
        Ok(()) => Ok(render(&Notice {
            title: crate::locale::word("rating-thanks-title"),
            message: crate::locale::word("rating-thanks"),
            link: "/help",
            link_text: crate::locale::word("link-help-centre"),
        })),
        Err(palisade_service::ServiceError::NotFound) => Ok(invalid_link()),
        Err(e) => Err(e.into()),
    }
}

/// The requester's form on the ticket page.
pub async fn rate(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<RatingForm>,
) -> Result<Response, UiError> {
    let good = good(&form)?;
    s.desk()
        .rate_ticket(&caller.actor(), &id, good, &form.comment)
        .await?;
    Ok(Redirect::to(&format!("/tickets/{id}?rated=1#rating")).into_response())
}
