//! The ticket page's merge and link forms, and what the page shows of a ticket's
//! relations: the survivor a duplicate was merged into, and linked tickets. Tickets are
//! named by number in the forms; the use cases decide on both tickets.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_policy::{Action, Resource};
use palisade_service::ServiceError;
use palisade_store::TicketRecord;
use serde::Deserialize;

use super::UiError;
use super::pages::ticket_page_refusing;
use crate::{AppState, Caller};

/// A ticket the page links to.
pub struct RelatedTicket {
    pub id: String,
    pub number: i64,
    pub subject: String,
    pub status: &'static str,
}

impl From<&TicketRecord> for RelatedTicket {
    fn from(t: &TicketRecord) -> Self {
        Self {
            id: t.id.to_string(),
            number: t.number,
            subject: t.subject.clone(),
            status: t.status.as_str(),
        }
    }
}

/// What the ticket page shows of merges and links.
pub struct Relations {
    /// The ticket was merged: into this one, when the reader may read it.
    pub merged: bool,
    pub merged_into: Option<RelatedTicket>,
    pub linked: Vec<RelatedTicket>,
    /// Whether the reader may merge this ticket into another (and link it).
    pub can_merge: bool,
    pub can_link: bool,
}

impl Relations {
    pub async fn of(s: &AppState, caller: &Caller, ticket: &TicketRecord) -> Result<Self, UiError> {
        let desk = s.desk();
        let actor = caller.actor();
        let resource = Resource::Ticket(ticket.facts());
        let merged = ticket.merged_into.is_some();
        Ok(Self {
            merged,
            merged_into: desk
                .merged_survivor(&actor, ticket)
                .await?
                .as_ref()
                .map(RelatedTicket::from),
            linked: desk
                .linked_tickets(&actor, ticket.id.as_str())
                .await?
                .iter()
                .map(RelatedTicket::from)
                .collect(),
            can_merge: !merged && s.permits(caller, Action::TicketMerge, &resource),
            can_link: !merged && s.permits(caller, Action::TicketLink, &resource),
        })
    }
}

#[derive(Deserialize)]
pub struct NumberForm {
    /// A ticket number, with or without its `#`.
    number: String,
}

/// What a form's ticket number names, or the refusal every unknown or unreadable
/// number gets alike.
async fn named_ticket(s: &AppState, raw: &str) -> Result<Option<String>, UiError> {
    let Ok(number) = raw.trim().trim_start_matches('#').parse::<i64>() else {
        return Ok(None);
    };
    Ok(s.desk()
        .ticket_id_for_number(number)
        .await?
        .map(|id| id.to_string()))
}

/// The refusals a person can act on come back on the ticket page; the rest are errors.
async fn refused(s: &AppState, caller: &Caller, id: &str, error: ServiceError) -> Result<Response, UiError> {
    let (why, status) = match error {
        ServiceError::NotFound | ServiceError::Forbidden => (
            crate::locale::word("relations-no-ticket").to_owned(),
            StatusCode::NOT_FOUND,
        ),
        ServiceError::Invalid(why) => (crate::locale::refusal(&why), StatusCode::BAD_REQUEST),
        ServiceError::Conflict(why) => (crate::locale::refusal(&why), StatusCode::CONFLICT),
        other => return Err(other.into()),
    };
    ticket_page_refusing(s, caller, id, why, status).await
}

pub async fn merge(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<NumberForm>,
) -> Result<Response, UiError> {
    let Some(into) = named_ticket(&s, &form.number).await? else {
        return refused(&s, &caller, &id, ServiceError::NotFound).await;
    };
    match s.desk().merge_ticket(&caller.actor(), &id, &into).await {
        Ok((survivor, _)) => Ok(Redirect::to(&format!("/tickets/{}", survivor.id)).into_response()),
        Err(e) => refused(&s, &caller, &id, e).await,
    }
}

pub async fn link(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<NumberForm>,
) -> Result<Response, UiError> {
    let Some(other) = named_ticket(&s, &form.number).await? else {
        return refused(&s, &caller, &id, ServiceError::NotFound).await;
    };
    match s.desk().link_tickets(&caller.actor(), &id, &other).await {
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(e) => refused(&s, &caller, &id, e).await,
    }
}

pub async fn unlink(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, other)): Path<(String, String)>,
) -> Result<Response, UiError> {
    match s.desk().unlink_tickets(&caller.actor(), &id, &other).await {
        Ok(()) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(e) => refused(&s, &caller, &id, e).await,
    }
}
