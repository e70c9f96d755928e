//! The ticket page's custom fields: a form for those who may set them (one input per
//! field, by its kind), the values alone for everyone else who may see them.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_policy::{Action, Resource};
use palisade_service::ServiceError;
use palisade_store::{FieldKind, TicketRecord};

use super::UiError;
use super::pages::ticket_page_refusing;
use crate::{AppError, AppState, Caller};

/// The form names a field's input `field.<key>`.
const PREFIX: &str = "field.";

pub struct FieldRow {
    pub key: String,
    pub label: String,
    pub kind: &'static str,
    pub value: String,
    /// A drop-down's options: (option, selected).
    pub options: Vec<(String, bool)>,
    pub required: bool,
}

/// What the page shows of a ticket's fields, and whether the reader may set them.
pub struct TicketFields {
    pub rows: Vec<FieldRow>,
    pub editable: bool,
}

impl TicketFields {
    pub async fn of(s: &AppState, caller: &Caller, ticket: &TicketRecord) -> Result<Self, UiError> {
        let values = s.desk().ticket_fields(&caller.actor(), ticket).await?;
        let editable = ticket.merged_into.is_none()
            && s.permits(caller, Action::TicketSetFields, &Resource::Ticket(ticket.facts()));
        let rows = values
            .into_iter()
            .map(|v| {
                let d = v.field.definition;
                let value = v.value.unwrap_or_default();
                FieldRow {
                    options: d.options.iter().map(|o| (o.clone(), *o == value)).collect(),
                    key: d.key,
                    label: d.label,
                    kind: d.kind.as_str(),
                    value,
                    required: d.required,
                }
            })
            .collect();
        Ok(Self { rows, editable })
    }
}

pub async fn set_fields(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let version = form
        .iter()
        .find(|(name, _)| name == "version")
        .map(|(_, v)| v.parse::<i64>())
        .transpose()
        .map_err(|_| AppError::bad_request("refusal-invalid-version"))?;
    let desk = s.desk();
    let kinds: Vec<(String, FieldKind)> = desk
        .fields_for(&caller.actor())
        .await?
        .into_iter()
        .map(|f| (f.definition.key, f.definition.kind))
        .collect();
    // Every field the form showed is sent: an empty input (or an unticked box, which
    // sends nothing) clears its value.
    let shown = form.iter().filter_map(|(name, _)| name.strip_prefix("shown."));
    let mut values: Vec<(String, Option<String>)> = Vec::new();
    for key in shown {
        let given = form
            .iter()
            .find(|(name, _)| name.strip_prefix(PREFIX) == Some(key))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty());
        let value = match kinds.iter().find(|(k, _)| k == key).map(|(_, kind)| *kind) {
            Some(FieldKind::Checkbox) => given.map(|_| "true".to_owned()),
            _ => given.map(str::to_owned),
        };
        values.push((key.to_owned(), value));
    }
    match desk
        .set_ticket_fields(&caller.actor(), &id, &values, version)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(ServiceError::Stale(_)) => {
            let why = crate::locale::word("fields-stale").to_owned();
            ticket_page_refusing(&s, &caller, &id, why, StatusCode::CONFLICT).await
        }
        Err(ServiceError::Invalid(why) | ServiceError::Conflict(why)) => {
            ticket_page_refusing(
                &s,
                &caller,
                &id,
                crate::locale::refusal(&why),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
