//! The page behind the link mailed to a ticket's unconfirmed requester. Following the
//! link only shows a button: mail scanners fetch links, and a fetch must not decide
//! anything.

use super::filters;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use crate::ui::{Notice, UiError, render};
use crate::{AppError, AppState, RequestMeta};

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage<'a> {
    token: &'a str,
}

fn invalid_link() -> Response {
    let mut r = render(&Notice {
        title: crate::locale::word("link-invalid-title"),
        message: crate::locale::word("link-invalid-confirm"),
        link: "/help",
        link_text: crate::locale::word("link-help-centre"),
    });
    *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
    r
}

pub async fn form(Path(token): Path<String>) -> Response {
    if palisade_crypto::RandomToken::from_presented(&token).is_none() {
        return invalid_link();
    }
    render(&ConfirmPage { token: &token })
}

pub async fn submit(
    State(s): State<AppState>,
    meta: RequestMeta,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    match crate::confirmation::confirm(&s, &meta, &token).await {
        Ok(ticket) => {
            let link = format!("/tickets/{ticket}");
            Ok(render(&Notice {
                title: crate::locale::word("confirm-thanks-title"),
                message: crate::locale::word("confirm-thanks"),
                link: &link,
                link_text: crate::locale::word("confirm-open"),
            }))
        }
        Err(AppError::NotFound) => Ok(invalid_link()),
        Err(e) => Err(UiError(e)),
    }
}
