//! Custom ticket fields over the API: their definitions (administrators), and a
//! ticket's values (staff who may change the ticket; readers see what they may).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_service::FieldValue;
use palisade_store::{FieldDefinition, FieldKind, FieldRecord, TicketRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFieldRequest {
    /// The field's machine name: a lower-case letter, then lower-case letters, digits
    /// or `_` (at most 40). Fixed once created.
    pub key: String,
    pub label: String,
    /// `text`, `number`, `date`, `dropdown` or `checkbox`. Fixed once created.
    pub kind: String,
    /// A drop-down's choices (1 to 50); no other kind has any.
    #[serde(default)]
    pub options: Vec<String>,
    /// A ticket is not solved or closed while this field is empty.
    #[serde(default)]
    pub required: bool,
    /// Customers see the value on their tickets.
    #[serde(default)]
    pub customer_visible: bool,
    /// Personal data: sealed at rest, filtered by blind index only. Text, number and
    /// date fields only. Fixed once created.
    #[serde(default)]
    pub personal: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFieldRequest {
    pub label: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub customer_visible: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FieldView {
    pub id: String,
    pub key: String,
    pub label: String,
    pub kind: String,
    pub options: Vec<String>,
    pub required: bool,
    pub customer_visible: bool,
    pub personal: bool,
}

impl From<&FieldRecord> for FieldView {
    fn from(f: &FieldRecord) -> Self {
        let d = &f.definition;
        Self {
            id: f.id.to_string(),
            key: d.key.clone(),
            label: d.label.clone(),
            kind: d.kind.as_str().to_owned(),
            options: d.options.clone(),
            required: d.required,
            customer_visible: d.customer_visible,
            personal: d.personal,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFieldsRequest {
    /// Values by field key; `null` clears one. Numbers as `"12.5"`, dates as
    /// `"2026-12-31"`, check boxes as `"true"` or `"false"`. All are taken or none.
    pub values: BTreeMap<String, Option<String>>,
    /// The ticket's `version` this change was based on; when it changed since, nothing
    /// is written (409 `stale-ticket`).
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub version: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketFieldView {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub value: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TicketFieldsView {
    /// The ticket's version after the change.
    pub version: i64,
    pub fields: Vec<TicketFieldView>,
}

fn fields_view(ticket: &TicketRecord, values: &[FieldValue]) -> TicketFieldsView {
    TicketFieldsView {
        version: ticket.version,
        fields: values
            .iter()
            .map(|v| TicketFieldView {
                key: v.field.definition.key.clone(),
                label: v.field.definition.label.clone(),
                kind: v.field.definition.kind.as_str().to_owned(),
                value: v.value.clone(),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/fields", tag = "tickets",
    responses((status = 200, body = Vec<FieldView>), (status = 401, body = Problem)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<FieldView>>, AppError> {
    let fields = s.desk().fields_for(&caller.actor()).await?;
    Ok(Json(fields.iter().map(FieldView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/fields", tag = "tickets", request_body = CreateFieldRequest,
    responses((status = 201, body = FieldView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateFieldRequest>,
) -> Result<(StatusCode, Json<FieldView>), AppError> {
    let kind = FieldKind::parse(&req.kind).ok_or_else(|| AppError::bad_request("refusal-field-kind"))?;
    let definition = FieldDefinition {
        key: req.key,
        label: req.label,
        kind,
        options: req.options,
        required: req.required,
        customer_visible: req.customer_visible,
        personal: req.personal,
    };
    let field = s.desk().create_field(&caller.actor(), definition).await?;
    Ok((StatusCode::CREATED, Json(FieldView::from(&field))))
}

#[utoipa::path(patch, path = "/api/v1/fields/{id}", tag = "tickets", params(("id" = String, Path)),
    request_body = UpdateFieldRequest,
    responses((status = 200, body = FieldView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateFieldRequest>,
) -> Result<Json<FieldView>, AppError> {
    // Key, kind and personal marking are the field's own; the use case keeps them.
    let change = FieldDefinition {
        key: String::new(),
        label: req.label,
        kind: FieldKind::Text,
        options: req.options,
        required: req.required,
        customer_visible: req.customer_visible,
        personal: false,
    };
    let field = s.desk().update_field(&caller.actor(), &id, change).await?;
    Ok(Json(FieldView::from(&field)))
}

#[utoipa::path(delete, path = "/api/v1/fields/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn archive(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().archive_field(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}/fields", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, body = TicketFieldsView), (status = 404, body = Problem)))]
pub async fn ticket_fields(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TicketFieldsView>, AppError> {
    let (ticket, _) = s.readable_ticket(&caller, &id).await?;
    let values = s.desk().ticket_fields(&caller.actor(), &ticket).await?;
    Ok(Json(fields_view(&ticket, &values)))
}

#[utoipa::path(put, path = "/api/v1/tickets/{id}/fields", tag = "tickets", params(("id" = String, Path)),
    request_body = SetFieldsRequest,
    responses((status = 200, body = TicketFieldsView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn set_ticket_fields(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SetFieldsRequest>,
) -> Result<Json<TicketFieldsView>, AppError> {
    let values: Vec<(String, Option<String>)> = req.values.into_iter().collect();
    let actor = caller.actor();
    let desk = s.desk();
    let ticket = desk.set_ticket_fields(&actor, &id, &values, req.version).await?;
    let values = desk.ticket_fields(&actor, &ticket).await?;
    Ok(Json(fields_view(&ticket, &values)))
}
