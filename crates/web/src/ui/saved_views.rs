//! Saving the ticket list's current filters as a view, and deleting one; the list page
//! shows saved views beside the built-in ones ([`super::ticket_list`]).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::TeamId;
use palisade_store::SavedFilter;
use serde::Deserialize;

use super::UiError;
use crate::{AppError, AppState, Caller};

#[derive(Deserialize)]
pub struct SaveForm {
    name: String,
    status: Option<String>,
    priority: Option<String>,
    #[serde(rename = "type")]
    ticket_type: Option<String>,
    team: Option<String>,
    assignee: Option<String>,
    tag: Option<String>,
    requester: Option<String>,
    company: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    field: Option<String>,
    value: Option<String>,
    sort: Option<String>,
    service_level: Option<String>,
    /// Empty: only me.
    share_with_team: Option<String>,
}

fn given(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.trim().is_empty())
}

pub async fn save(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<SaveForm>,
) -> Result<Response, UiError> {
    let filter = SavedFilter {
        status: given(form.status),
        priority: given(form.priority),
        ticket_type: given(form.ticket_type),
        team: given(form.team),
        assignee: given(form.assignee),
        tag: given(form.tag).map(|t| t.to_lowercase()),
        requester: given(form.requester),
        company: given(form.company),
        created_from: given(form.created_from),
        created_to: given(form.created_to),
        updated_from: given(form.updated_from),
        updated_to: given(form.updated_to),
        field: given(form.field),
        value: given(form.value),
        sort: given(form.sort),
        service_level: given(form.service_level),
    };
    let team = given(form.share_with_team)
        .as_deref()
        .map(TeamId::parse)
        .transpose()
        .map_err(AppError::from)?;
    let saved = s
        .desk()
        .save_view(&caller.actor(), &form.name, &filter, team.as_ref())
        .await?;
    Ok(Redirect::to(&format!("/tickets?saved={}", saved.id)).into_response())
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().delete_view(&caller.actor(), &id).await?;
    Ok(Redirect::to("/tickets").into_response())
}
