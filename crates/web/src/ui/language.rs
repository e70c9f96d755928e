//! `/account/language`: the language of the pages for the person signed in, or their
//! browser's (the same use case as `PUT /api/v1/me/language`).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::Role;
use palisade_i18n::Locale;
use serde::Deserialize;

use super::filters;
use super::{UiError, render};
use crate::{AppState, Caller};

#[derive(Template)]
#[template(path = "language.html")]
struct LanguagePage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    /// (tag, name in itself, chosen)
    languages: Vec<(&'static str, &'static str, bool)>,
    browser_chosen: bool,
    saved: bool,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn page(caller: Caller, Query(q): Query<Done>) -> Result<Response, UiError> {
    let chosen = caller.user.locale.as_deref().and_then(Locale::parse);
    Ok(render(&LanguagePage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        languages: Locale::ALL
            .into_iter()
            .map(|l| (l.tag(), l.native_name(), Some(l) == chosen))
            .collect(),
        browser_chosen: chosen.is_none(),
        saved: q.done.as_deref() == Some("saved"),
    }))
}

#[derive(Deserialize)]
pub struct LanguageForm {
    /// Empty: as the browser asks.
    language: String,
}

pub async fn save(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<LanguageForm>,
) -> Result<Response, UiError> {
    let tag = Some(form.language.as_str()).filter(|t| !t.is_empty());
    s.desk().set_own_language(&caller.actor(), tag).await?;
    Ok(Redirect::to("/account/language?done=saved").into_response())
}
