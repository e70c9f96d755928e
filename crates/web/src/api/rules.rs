//! Triggers and automations over the API (administrators).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_service::automation::{RuleActions, RuleConditions, RuleDefinition, RuleWhen, body_of};
use palisade_store::RuleRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

/// What the ticket must be when the rule runs; every condition given must hold.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConditionsBody {
    #[serde(default)]
    pub statuses: Vec<String>,
    #[serde(default)]
    pub priorities: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub company_ids: Vec<String>,
    /// Someone is assigned (`true`), or nobody is (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<bool>,
    /// Tags the ticket must all carry.
    #[serde(default)]
    pub tags_all: Vec<String>,
    /// Tags the ticket must carry none of.
    #[serde(default)]
    pub tags_none: Vec<String>,
    /// A custom field's key (never a personal field's), with `field_value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_value: Option<String>,
}

/// What the rule does, in this order: reply, macro, changes, tags, field, notifications.
#[derive(Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleActionsBody {
    /// A public reply to the requester, sent by mail like any reply; the macros'
    /// placeholders (`{requester_name}`, `{requester_first_name}`, `{ticket_number}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// A shared macro the rule's team may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macro_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_type: Option<String>,
    /// An agent of the rule's team, or `nobody`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_to: Option<String>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// A custom field's key (never a personal field's), with `field_value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_value: Option<String>,
    #[serde(default)]
    pub notify_assignee: bool,
    #[serde(default)]
    pub notify_supervisors: bool,
}

/// A trigger (`event`) or an automation (`wait_state` and `wait_minutes`).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub name: String,
    /// The team whose tickets it runs on, with that team's rights.
    pub team_id: String,
    /// Rules run from the lowest position.
    #[serde(default, deserialize_with = "super::dto::whole_number")]
    pub position: Option<i64>,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// A trigger's event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// An automation's state: a status, or `unassigned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_state: Option<String>,
    /// How long a ticket stays in `wait_state` before the automation runs on it.
    #[serde(
        default,
        deserialize_with = "super::dto::whole_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait_minutes: Option<i64>,
    #[serde(default)]
    pub conditions: RuleConditionsBody,
    pub actions: RuleActionsBody,
}

fn enabled() -> bool {
    true
}

#[derive(Clone, Serialize, ToSchema)]
pub struct RuleView {
    pub id: String,
    /// `trigger` or `automation`.
    pub kind: String,
    pub name: String,
    pub team_id: String,
    pub position: i64,
    pub enabled: bool,
    pub event: Option<String>,
    pub wait_state: Option<String>,
    pub wait_minutes: Option<i64>,
    pub conditions: RuleConditionsBody,
    pub actions: RuleActionsBody,
    pub updated_at: String,
}

fn pair(field: Option<String>, value: Option<String>) -> Result<Option<(String, String)>, AppError> {
    match (field, value) {
        (Some(key), Some(value)) => Ok(Some((key, value))),
        (None, None) => Ok(None),
        _ => Err(AppError::bad_request("refusal-field-filter")),
    }
}

fn unpair(field: Option<(String, String)>) -> (Option<String>, Option<String>) {
    match field {
        Some((k, v)) => (Some(k), Some(v)),
        None => (None, None),
    }
}

pub(crate) fn rule_definition(body: RuleBody) -> Result<RuleDefinition, AppError> {
    let c = body.conditions;
    let a = body.actions;
    Ok(RuleDefinition {
        name: body.name,
        team: body.team_id,
        position: body.position.unwrap_or(0),
        enabled: body.enabled,
        when: RuleWhen {
            event: body.event,
            state: body.wait_state,
            minutes: body.wait_minutes,
        },
        conditions: RuleConditions {
            statuses: c.statuses,
            priorities: c.priorities,
            types: c.types,
            companies: c.company_ids,
            assigned: c.assigned,
            tags_all: c.tags_all,
            tags_none: c.tags_none,
            field: pair(c.field, c.field_value)?,
        },
        actions: RuleActions {
            reply: a.reply,
            apply_macro: a.macro_id,
            set_status: a.set_status,
            set_priority: a.set_priority,
            set_type: a.set_type,
            assign: a.assign_to,
            add_tags: a.add_tags,
            remove_tags: a.remove_tags,
            set_field: pair(a.field, a.field_value)?,
            notify_assignee: a.notify_assignee,
            notify_supervisors: a.notify_supervisors,
        },
    })
}

pub(crate) fn rule_view(record: &RuleRecord) -> Result<RuleView, AppError> {
    let body = body_of(record)?;
    let c = body.conditions;
    let a = body.actions;
    let (field, field_value) = unpair(c.field);
    let (set_field, set_value) = unpair(a.set_field);
    Ok(RuleView {
        id: record.id.to_string(),
        kind: record.kind.clone(),
        name: record.name.clone(),
        team_id: record.team.to_string(),
        position: record.position,
        enabled: record.enabled,
        event: body.when.event,
        wait_state: body.when.state,
        wait_minutes: body.when.minutes,
        conditions: RuleConditionsBody {
            statuses: c.statuses,
            priorities: c.priorities,
            types: c.types,
            company_ids: c.companies,
            assigned: c.assigned,
            tags_all: c.tags_all,
            tags_none: c.tags_none,
            field,
            field_value,
        },
        actions: RuleActionsBody {
            reply: a.reply,
            macro_id: a.apply_macro,
            set_status: a.set_status,
            set_priority: a.set_priority,
            set_type: a.set_type,
            assign_to: a.assign,
            add_tags: a.add_tags,
            remove_tags: a.remove_tags,
            field: set_field,
            field_value: set_value,
            notify_assignee: a.notify_assignee,
            notify_supervisors: a.notify_supervisors,
        },
        updated_at: rfc3339(record.updated_at),
    })
}

async fn one_rule(s: &AppState, caller: &Caller, id: &str) -> Result<RuleView, AppError> {
    let record = s
        .desk()
        .rules(&caller.actor())
        .await?
        .into_iter()
        .find(|r| r.id.as_str() == id)
        .ok_or(AppError::NotFound)?;
    rule_view(&record)
}

#[utoipa::path(get, path = "/api/v1/rules", tag = "automation",
    responses((status = 200, body = Vec<RuleView>), (status = 403, body = Problem)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<RuleView>>, AppError> {
    let records = s.desk().rules(&caller.actor()).await?;
    records
        .iter()
        .map(rule_view)
        .collect::<Result<Vec<_>, AppError>>()
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/rules", tag = "automation", request_body = RuleBody,
    responses((status = 201, body = RuleView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<(StatusCode, Json<RuleView>), AppError> {
    let id = s
        .desk()
        .save_rule(&caller.actor(), None, rule_definition(body)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(one_rule(&s, &caller, id.as_str()).await?),
    ))
}

#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    request_body = RuleBody,
    responses((status = 200, body = RuleView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn replace(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<RuleView>, AppError> {
    let id = s
        .desk()
        .save_rule(&caller.actor(), Some(&id), rule_definition(body)?)
        .await?;
    Ok(Json(one_rule(&s, &caller, id.as_str()).await?))
}

#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "automation", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().delete_rule(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
