//! The first-run link: `palisade serve` on a database without any staff prints a link
//! that lets whoever runs it become the first administrator (name and address here,
//! then the usual setup link for the password and the second factor), so a newcomer
//! needs one command. The link is 256 random bits held only in this process's memory
//! (as a hash), works once, and is refused as soon as any staff account exists.

use super::filters;
use std::sync::Mutex;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_crypto::{RandomToken, TokenHash};
use serde::Deserialize;

use super::{Notice, UiError, render};
use crate::{AppError, AppState, RequestMeta};

/// The one link that may create the first administrator.
#[derive(Debug)]
pub struct FirstRunLink {
    hash: Mutex<Option<TokenHash>>,
}

impl FirstRunLink {
    /// A fresh link and the token to print; the token is not kept.
    pub fn generate() -> Result<(Self, RandomToken), AppError> {
        let token = RandomToken::generate().map_err(|e| AppError::Internal(e.to_string()))?;
        let link = Self {
            hash: Mutex::new(Some(token.hash())),
        };
        Ok((link, token))
    }

    fn matches(&self, presented: &str) -> bool {
        let Some(presented) = RandomToken::from_presented(presented) else {
            return false;
        };
        let held = self
            .hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.as_ref().is_some_and(|h| h.ct_eq(&presented.hash()))
    }

    /// Uses the link up: true only for the first caller presenting it.
    fn take(&self, presented: &str) -> bool {
        let Some(presented) = RandomToken::from_presented(presented) else {
            return false;
        };
        let mut held = self
            .hash
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.as_ref().is_some_and(|h| h.ct_eq(&presented.hash())) {
            *held = None;
            true
        } else {
            false
        }
    }
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage<'a> {
    token: &'a str,
    error: Option<&'a str>,
}

fn unusable() -> Response {
    let mut r = render(&Notice {
        title: crate::locale::word("welcome-link-broken"),
        message: "It was used already, the server restarted, or an administrator exists. \
                  Ask an administrator for an invitation, or create one with `palisade admin create`.",
        link: "/login",
        link_text: crate::locale::word("link-sign-in"),
    });
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

async fn usable(s: &AppState, token: &str) -> Result<bool, UiError> {
    let Some(link) = &s.config.first_run else {
        return Ok(false);
    };
    Ok(link.matches(token) && !s.desk().has_staff().await?)
}

pub async fn form(State(s): State<AppState>, Path(token): Path<String>) -> Result<Response, UiError> {
    if !usable(&s, &token).await? {
        return Ok(unusable());
    }
    Ok(render(&WelcomePage {
        token: &token,
        error: None,
    }))
}

#[derive(Deserialize)]
pub struct WelcomeForm {
    name: String,
    email: String,
}

pub async fn submit(
    State(s): State<AppState>,
    meta: RequestMeta,
    Path(token): Path<String>,
    Form(form): Form<WelcomeForm>,
) -> Result<Response, UiError> {
    if !usable(&s, &token).await? {
        return Ok(unusable());
    }
    // Checked before the link is used up, so a typo does not cost the link.
    if palisade_core::EmailAddress::parse(&form.email).is_err() || form.name.trim().is_empty() {
        let mut r = render(&WelcomePage {
            token: &token,
            error: Some(crate::locale::word("welcome-invalid")),
        });
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(r);
    }
    let taken = s.config.first_run.as_ref().is_some_and(|link| link.take(&token));
    if !taken {
        return Ok(unusable());
    }
    let (_, setup) = match s
        .desk()
        .first_administrator(&meta.anonymous_audit(), &form.email, &form.name)
        .await
    {
        Ok(created) => created,
        Err(palisade_service::ServiceError::Conflict(_)) => return Ok(unusable()),
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&format!("/setup/{}", setup.expose())).into_response())
}
