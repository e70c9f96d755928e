//! The settings page (administrators): each runtime setting with its value in force and
//! where it comes from; saving changes only what was changed, and a ticked "use the
//! file's value" returns a setting to the configuration file.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_service::{ServiceError, Setting};
use serde::Deserialize;

use super::{UiError, render};
use crate::{AppState, Caller};

struct SettingRow {
    name: &'static str,
    description: &'static str,
    value: String,
    overridden: bool,
    number: bool,
}

#[derive(Template)]
#[template(path = "admin_settings.html")]
struct SettingsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    settings: Vec<SettingRow>,
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
    let entries = s
        .desk()
        .settings_page(&caller.actor(), &s.file_settings())
        .await?;
    Ok(render(&SettingsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        settings: entries
            .into_iter()
            .map(|e| SettingRow {
                name: e.setting.name(),
                description: e.setting.description(),
                value: e.value,
                overridden: e.overridden,
                number: e.setting.is_number(),
            })
            .collect(),
        notice,
        error,
    }))
}

pub async fn settings(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let notice =
        (q.done.as_deref() == Some("saved")).then_some(crate::locale::word("notice-desk-settings-saved"));
    page(&s, &caller, notice, None).await
}

pub async fn save(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let now = s
        .desk()
        .settings_page(&caller.actor(), &s.file_settings())
        .await?;
    let field = |prefix: &str, name: &str| {
        form.iter()
            .find(|(k, _)| k.strip_prefix(prefix) == Some(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut changes = Vec::new();
    for entry in &now {
        let name = entry.setting.name();
        if field("reset.", name).is_some() {
            if entry.overridden {
                changes.push((name.to_owned(), None));
            }
        } else if let Some(value) = field("value.", name).filter(|v| *v != entry.value) {
            changes.push((name.to_owned(), Some(value)));
        }
    }
    debug_assert!(changes.iter().all(|(name, _)| Setting::parse(name).is_some()));
    match s.desk().change_settings(&caller.actor(), &changes).await {
        Ok(()) => Ok(Redirect::to("/admin/settings?done=saved").into_response()),
        Err(ServiceError::Invalid(why)) => {
            let mut response = page(&s, &caller, None, Some(crate::locale::refusal(&why))).await?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
