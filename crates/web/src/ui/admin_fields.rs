//! The custom fields page (administrators): the fields in use, a form to add one, and
//! per field its label, options, whether it is required and shown to customers, and
//! retiring it. The same use cases as `/api/v1/fields`.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_service::ServiceError;
use palisade_store::{FieldDefinition, FieldKind, FieldRecord};
use serde::Deserialize;

use super::{UiError, render};
use crate::{AppError, AppState, Caller};

struct FieldRow {
    id: String,
    key: String,
    label: String,
    kind: &'static str,
    /// One per line, as the form edits them.
    options: String,
    is_dropdown: bool,
    required: bool,
    customer_visible: bool,
    personal: bool,
}

impl From<&FieldRecord> for FieldRow {
    fn from(f: &FieldRecord) -> Self {
        let d = &f.definition;
        Self {
            id: f.id.to_string(),
            key: d.key.clone(),
            label: d.label.clone(),
            kind: d.kind.as_str(),
            options: d.options.join("\n"),
            is_dropdown: d.kind == FieldKind::Dropdown,
            required: d.required,
            customer_visible: d.customer_visible,
            personal: d.personal,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_fields.html")]
struct FieldsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    fields: Vec<FieldRow>,
    kinds: Vec<&'static str>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn page(
    s: &AppState,
    caller: &Caller,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let fields = s.desk().field_settings(&caller.actor()).await?;
    Ok(render(&FieldsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        fields: fields.iter().map(FieldRow::from).collect(),
        kinds: FieldKind::ALL.iter().map(|k| k.as_str()).collect(),
        notice,
        error,
    }))
}

pub async fn fields(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("created") => Some(crate::locale::word("notice-field-added")),
        Some("saved") => Some(crate::locale::word("notice-field-saved")),
        Some("archived") => Some(crate::locale::word("notice-field-retired")),
        _ => None,
    };
    page(&s, &caller, notice, None).await
}

/// A refusal the administrator can correct comes back on the page; others are errors.
async fn refused(s: &AppState, caller: &Caller, error: ServiceError) -> Result<Response, UiError> {
    let (why, status) = match error {
        ServiceError::Invalid(why) => (why, StatusCode::BAD_REQUEST),
        ServiceError::Conflict(why) => (why, StatusCode::CONFLICT),
        other => return Err(other.into()),
    };
    let mut response = page(s, caller, None, Some(crate::locale::refusal(&why))).await?;
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Deserialize)]
pub struct FieldForm {
    key: Option<String>,
    label: String,
    kind: Option<String>,
    /// One option per line; blank lines are ignored.
    #[serde(default)]
    options: String,
    required: Option<String>,
    customer_visible: Option<String>,
    personal: Option<String>,
}

impl FieldForm {
    fn definition(self) -> Result<FieldDefinition, AppError> {
        let kind = match self.kind.as_deref() {
            None => FieldKind::Text,
            Some(kind) => {
                FieldKind::parse(kind).ok_or_else(|| AppError::bad_request("refusal-field-kind"))?
            }
        };
        Ok(FieldDefinition {
            key: self.key.unwrap_or_default().trim().to_owned(),
            label: self.label,
            kind,
            options: self
                .options
                .lines()
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            required: self.required.is_some(),
            customer_visible: self.customer_visible.is_some(),
            personal: self.personal.is_some(),
        })
    }
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<FieldForm>,
) -> Result<Response, UiError> {
    match s.desk().create_field(&caller.actor(), form.definition()?).await {
        Ok(_) => Ok(Redirect::to("/admin/fields?done=created").into_response()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<FieldForm>,
) -> Result<Response, UiError> {
    match s
        .desk()
        .update_field(&caller.actor(), &id, form.definition()?)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/fields?done=saved").into_response()),
        Err(e) => refused(&s, &caller, e).await,
    }
}

pub async fn archive(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().archive_field(&caller.actor(), &id).await?;
    Ok(Redirect::to("/admin/fields?done=archived").into_response())
}
