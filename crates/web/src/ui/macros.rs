//! The macros page (the ones the reader may use; writing their own, and shared ones
//! for those allowed) and the ticket page's "apply a macro" form. Both go through the
//! same use cases as the API.

use super::filters;
use crate::locale::text;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{Priority, Role, TicketStatus, TicketType};
use palisade_service::{MACRO_PLACEHOLDERS, UsableMacro};
use serde::Deserialize;

use super::{UiError, render};
use crate::api::macros::{MacroRequest, MacroView};
use crate::{AppError, AppState, Caller};

/// One `<option>`: value, label, selected.
type Choice = (String, String, bool);

#[derive(Template)]
#[template(path = "macros.html")]
struct MacrosPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    macros: Vec<MacroView>,
    share_options: Vec<Choice>,
    visibility_options: Vec<Choice>,
    status_options: Vec<Choice>,
    priority_options: Vec<Choice>,
    type_options: Vec<Choice>,
    assignee_options: Vec<Choice>,
    team_options: Vec<Choice>,
    tags_value: String,
    placeholders: String,
    error: Option<String>,
    /// The macro being edited, if any.
    editing: Option<MacroView>,
}

/// "keep" first, then each value; `current` selected.
fn choices(
    keep: Option<&str>,
    values: impl IntoIterator<Item = (String, String)>,
    current: Option<&str>,
) -> Vec<Choice> {
    keep.map(|label| (String::new(), label.to_owned(), current.is_none()))
        .into_iter()
        .chain(values.into_iter().map(|(v, l)| {
            let selected = current == Some(v.as_str());
            (v, l, selected)
        }))
        .collect()
}

/// Each value with its word in the page's language (`{prefix}-{value}`).
fn named<T: Copy>(all: &[T], name: fn(T) -> &'static str, prefix: &str) -> Vec<(String, String)> {
    all.iter()
        .map(|v| (name(*v).to_owned(), text(&format!("{prefix}-{}", name(*v)))))
        .collect()
}

async fn page(
    s: &AppState,
    caller: &Caller,
    error: Option<String>,
    editing: Option<MacroView>,
) -> Result<Response, UiError> {
    let desk = s.desk();
    let macros: Vec<MacroView> = desk
        .usable_macros(&caller.actor())
        .await?
        .iter()
        .map(MacroView::from)
        .collect();
    let teams: Vec<(String, String)> = s
        .store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    let mut shares = Vec::new();
    if matches!(caller.principal.role, Role::Supervisor | Role::Admin) {
        shares.push(("everyone".to_owned(), text("macros-every-agent")));
        shares.extend(teams.iter().map(|(id, name)| {
            (
                id.clone(),
                crate::locale::text_with("list-team-option", &[("name", name.as_str().into())]),
            )
        }));
    }
    let e = editing.as_ref();
    let keep = text("keep");
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut r = render(&MacrosPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        macros,
        share_options: choices(
            Some(&text("list-only-me")),
            shares,
            e.and_then(|m| m.share_with.as_deref()),
        ),
        visibility_options: choices(
            None,
            [
                ("public".to_owned(), text("macros-as-public")),
                ("internal".to_owned(), text("macros-as-internal")),
            ],
            Some(e.map_or("public", |m| m.visibility.as_str())),
        ),
        status_options: choices(
            Some(&keep),
            named(TicketStatus::ALL, TicketStatus::as_str, "status"),
            e.and_then(|m| m.status.as_deref()),
        ),
        priority_options: choices(
            Some(&keep),
            named(Priority::ALL, Priority::as_str, "priority"),
            e.and_then(|m| m.priority.as_deref()),
        ),
        type_options: choices(
            Some(&keep),
            named(TicketType::ALL, TicketType::as_str, "type"),
            e.and_then(|m| m.ticket_type.as_deref()),
        ),
        assignee_options: choices(
            Some(&keep),
            [
                ("me".to_owned(), text("macros-whoever-applies")),
                ("nobody".to_owned(), text("nobody")),
            ],
            e.and_then(|m| m.assignee.as_deref()),
        ),
        team_options: choices(Some(&keep), teams, e.and_then(|m| m.route_to_team_id.as_deref())),
        tags_value: e.map(|m| m.add_tags.join(" ")).unwrap_or_default(),
        placeholders: MACRO_PLACEHOLDERS.join(" "),
        error,
        editing,
    });
    *r.status_mut() = status;
    Ok(r)
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    page(&s, &caller, None, None).await
}

pub async fn edit_form(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let mine = s.desk().usable_macros(&caller.actor()).await?;
    let Some(m) = mine.iter().find(|m| m.manageable && m.record.id.as_str() == id) else {
        return Err(AppError::NotFound.into());
    };
    page(&s, &caller, None, Some(MacroView::from(m))).await
}

/// The form's fields; an empty choice means "no change" (or "personal" for sharing).
#[derive(Deserialize)]
pub struct MacroForm {
    name: String,
    body: String,
    visibility: String,
    share_with: String,
    status: String,
    priority: String,
    ticket_type: String,
    assignee: String,
    route_to: String,
    add_tag: String,
}

impl MacroForm {
    fn request(self) -> MacroRequest {
        let given = |v: String| (!v.trim().is_empty()).then(|| v.trim().to_owned());
        MacroRequest {
            name: self.name,
            body: given(self.body),
            visibility: self.visibility,
            share_with: given(self.share_with),
            status: given(self.status),
            priority: given(self.priority),
            ticket_type: given(self.ticket_type),
            assignee: given(self.assignee),
            route_to_team_id: given(self.route_to),
            add_tags: self.add_tag.split_whitespace().map(str::to_owned).collect(),
        }
    }
}

async fn save(s: &AppState, caller: &Caller, id: Option<&str>, form: MacroForm) -> Result<Response, UiError> {
    let request = form.request();
    let content = match request.content(caller) {
        Ok(c) => c,
        Err(AppError::BadRequest(why)) => {
            return page(s, caller, Some(crate::locale::refusal(&why)), None).await;
        }
        Err(e) => return Err(e.into()),
    };
    let desk = s.desk();
    let saved = match id {
        None => desk.create_macro(&caller.actor(), &content).await,
        Some(id) => desk.update_macro(&caller.actor(), id, &content).await,
    };
    match saved {
        Ok(_) => Ok(Redirect::to("/macros").into_response()),
        Err(palisade_service::ServiceError::Invalid(why) | palisade_service::ServiceError::Conflict(why)) => {
            page(s, caller, Some(crate::locale::refusal(&why)), None).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<MacroForm>,
) -> Result<Response, UiError> {
    save(&s, &caller, None, form).await
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<MacroForm>,
) -> Result<Response, UiError> {
    save(&s, &caller, Some(&id), form).await
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().delete_macro(&caller.actor(), &id).await?;
    Ok(Redirect::to("/macros").into_response())
}

#[derive(Deserialize)]
pub struct ApplyForm {
    macro_id: String,
}

/// The ticket page's macro menu.
pub async fn apply(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Result<Response, UiError> {
    match s.desk().apply_macro(&caller.actor(), &id, &form.macro_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(palisade_service::ServiceError::Invalid(why) | palisade_service::ServiceError::Conflict(why)) => {
            super::pages::ticket_page_refusing(
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

/// The macros the ticket page offers: those the reader may use.
pub(super) async fn menu(s: &AppState, caller: &Caller) -> Result<Vec<(String, String)>, UiError> {
    let usable: Vec<UsableMacro> = s.desk().usable_macros(&caller.actor()).await?;
    Ok(usable
        .into_iter()
        .map(|m| (m.record.id.to_string(), m.record.content.name))
        .collect())
}
