//! The ticket page's "Status and assignment" form: status, assignee, priority and
//! type in one change, based on the version of the ticket the page showed. When a
//! colleague changed the ticket in between, nothing is saved: the page comes back
//! (409) with the ticket as it is now and says what differs from what was submitted.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{Priority, TicketStatus, TicketType, UserId};
use palisade_store::{TicketRecord, TicketUpdate};
use serde::Deserialize;

use super::UiError;
use super::pages::ticket_page_refusing;
use crate::{AppError, AppState, Caller};

#[derive(Deserialize)]
pub struct UpdateForm {
    status: String,
    assignee: String,
    /// Present only for those who may classify the ticket.
    priority: Option<String>,
    /// Empty for "not set".
    ticket_type: Option<String>,
    /// The version the page showed; a form without it overwrites (old pages).
    version: Option<i64>,
}

pub async fn ticket_update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, UiError> {
    let status = TicketStatus::parse(&form.status).map_err(AppError::from)?;
    let assignee = if form.assignee.is_empty() {
        None
    } else {
        Some(UserId::parse(&form.assignee).map_err(AppError::from)?)
    };
    let priority = form
        .priority
        .as_deref()
        .map(Priority::parse)
        .transpose()
        .map_err(AppError::from)?;
    let ticket_type = match form.ticket_type.as_deref() {
        None => None,
        Some("") => Some(None),
        Some(t) => Some(Some(TicketType::parse(t).map_err(AppError::from)?)),
    };
    // The status is always sent so that even a form that changes nothing is authorised;
    // values equal to the ticket's change nothing.
    let update = TicketUpdate {
        status: Some(status),
        assignee: Some(assignee),
        team: None,
        priority,
        ticket_type,
    };
    let submitted = update.clone();
    match s.update_ticket(&caller, &id, update, form.version).await {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(AppError::StaleTicket(_)) => {
            let (now, _) = s.readable_ticket(&caller, &id).await?;
            ticket_page_refusing(
                &s,
                &caller,
                &id,
                stale_message(&now, &submitted),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// What someone else changed, in the words of the form and the reader's language.
fn stale_message(now: &TicketRecord, submitted: &TicketUpdate) -> String {
    use crate::locale::text as word;
    let is_now = |id: &str, value: String| crate::locale::text_with(id, &[("value", value.into())]);
    let mut differs = Vec::new();
    if submitted.status.is_some_and(|s| s != now.status) {
        differs.push(is_now(
            "stale-status",
            word(&format!("status-{}", now.status.as_str())),
        ));
    }
    if submitted.assignee.as_ref().is_some_and(|a| *a != now.assignee) {
        differs.push(word(if now.assignee.is_some() {
            "stale-other-assignee"
        } else {
            "stale-unassigned"
        }));
    }
    if submitted.priority.is_some_and(|p| p != now.priority) {
        differs.push(is_now(
            "stale-priority",
            word(&format!("priority-{}", now.priority.as_str())),
        ));
    }
    if submitted.ticket_type.is_some_and(|t| t != now.ticket_type) {
        let kind = match now.ticket_type {
            Some(t) => word(&format!("type-{}", TicketType::as_str(t))),
            None => word("stale-type-unset"),
        };
        differs.push(is_now("stale-type", kind));
    }
    let what = if differs.is_empty() {
        word("stale-tags-or-fields")
    } else {
        differs.join(", ")
    };
    crate::locale::text_with("stale-notice", &[("value", what.into())])
}
