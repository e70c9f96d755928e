use super::filters;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::Role;

use super::{UiError, render};
use crate::api::devices::{SessionView, end_others as end_other_sessions, end_own, own_sessions};
use crate::{AppState, Caller};

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    sessions: Vec<SessionView>,
}

pub async fn page(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    let sessions = own_sessions(&s, &caller).await?;
    Ok(render(&DevicesPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        sessions,
    }))
}

pub async fn end(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    end_own(&s, &caller, &id).await?;
    Ok(Redirect::to("/devices").into_response())
}

pub async fn end_others(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    end_other_sessions(&s, &caller).await?;
    Ok(Redirect::to("/devices").into_response())
}
