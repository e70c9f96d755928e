//! The desk's runtime settings over the API (administrators): what is in force, and
//! changing it without a restart.

use palisade_i18n::Refusal;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use palisade_service::{Setting, SettingEntry};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Serialize, ToSchema)]
pub struct SettingView {
    pub name: String,
    /// The value in force, as text.
    pub value: String,
    /// Set from the web; otherwise the configuration file's value or the default.
    pub overridden: bool,
    pub description: String,
}

impl From<&SettingEntry> for SettingView {
    fn from(e: &SettingEntry) -> Self {
        Self {
            name: e.setting.name().to_owned(),
            value: e.value.clone(),
            overridden: e.overridden,
            description: e.setting.description().to_owned(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// New values by name: text settings as strings, the assistant's as numbers; `null`
    /// returns a setting to the configuration file's value. All are taken or none.
    pub values: BTreeMap<String, Option<Value>>,
}

async fn entries(s: &AppState, caller: &Caller) -> Result<Vec<SettingView>, AppError> {
    let entries = s
        .desk()
        .settings_page(&caller.actor(), &s.file_settings())
        .await?;
    Ok(entries.iter().map(SettingView::from).collect())
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "people",
    responses((status = 200, body = Vec<SettingView>), (status = 403, body = Problem)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<SettingView>>, AppError> {
    Ok(Json(entries(&s, &caller).await?))
}

/// A value as the use case takes it: numbers for number settings, strings for the rest.
fn as_text(name: &str, value: Option<Value>) -> Result<Option<String>, AppError> {
    let Some(setting) = Setting::parse(name) else {
        return Err(AppError::BadRequest(
            Refusal::new("refusal-no-setting").with("name", name),
        ));
    };
    match (value, setting.is_number()) {
        (None, _) => Ok(None),
        (Some(Value::Number(n)), true) => Ok(Some(n.to_string())),
        (Some(Value::String(s)), false) => Ok(Some(s)),
        (Some(_), true) => Err(AppError::BadRequest(
            Refusal::new("refusal-setting-is-number").with("name", name),
        )),
        (Some(_), false) => Err(AppError::BadRequest(
            Refusal::new("refusal-setting-is-text").with("name", name),
        )),
    }
}

#[utoipa::path(put, path = "/api/v1/settings", tag = "people", request_body = SettingsRequest,
    responses((status = 200, body = Vec<SettingView>), (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn change(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SettingsRequest>,
) -> Result<Json<Vec<SettingView>>, AppError> {
    let changes = req
        .values
        .into_iter()
        .map(|(name, value)| Ok((name.clone(), as_text(&name, value)?)))
        .collect::<Result<Vec<_>, AppError>>()?;
    s.desk().change_settings(&caller.actor(), &changes).await?;
    Ok(Json(entries(&s, &caller).await?))
}
