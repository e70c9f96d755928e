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
        title: "Link not valid",
        message: "This link is invalid, has expired or was already used. If you wrote to us, our replies still \
                  come to your email address.",
        link: "/help",
        link_text: "Help centre",
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
                title: "Thank you",
                message: "Your message is in your account now, with our replies as they come. Sign in to follow it.",
                link: &link,
                link_text: "Open it",
            }))
        }
        Err(AppError::NotFound) => Ok(invalid_link()),
        Err(e) => Err(UiError(e)),
    }
}
