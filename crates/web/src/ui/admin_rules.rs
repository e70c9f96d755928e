//! The rules pages (administrators): triggers and automations listed, created, changed
//! and removed. Tags are typed separated by spaces or commas.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::{Priority, TicketStatus, TicketType};
use palisade_service::automation::{TRIGGER_EVENTS, WAIT_STATES};

use super::filters;
use super::{UiError, render};
use crate::api::rules::{
    RuleActionsBody, RuleBody, RuleConditionsBody, RuleView, rule_definition, rule_view,
};
use crate::{AppError, AppState, Caller};

#[derive(Template)]
#[template(path = "admin_rules.html")]
struct RulesPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    rules: Vec<RuleView>,
    /// The rule being changed, or a blank one for the form that adds one.
    form: RuleView,
    editing: bool,
    choices: Choices,
    notice: Option<&'static str>,
    error: Option<String>,
}

struct Choices {
    events: Vec<&'static str>,
    states: Vec<&'static str>,
    statuses: Vec<&'static str>,
    priorities: Vec<&'static str>,
    types: Vec<&'static str>,
    /// (id, name) each.
    teams: Vec<(String, String)>,
    companies: Vec<(String, String)>,
    agents: Vec<(String, String)>,
    macros: Vec<(String, String)>,
}

impl RulesPage {
    fn has(&self, list: &[String], value: &str) -> bool {
        list.iter().any(|v| v == value)
    }

    fn team_name(&self, id: &str) -> String {
        self.choices
            .teams
            .iter()
            .find(|(t, _)| t == id)
            .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
    }
}

#[derive(serde::Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn blank() -> RuleView {
    RuleView {
        id: String::new(),
        kind: "trigger".into(),
        name: String::new(),
        team_id: String::new(),
        position: 0,
        enabled: true,
        event: Some("ticket_created".into()),
        wait_state: None,
        wait_minutes: None,
        conditions: RuleConditionsBody::default(),
        actions: RuleActionsBody::default(),
        updated_at: String::new(),
    }
}

async fn choices(s: &AppState, caller: &Caller) -> Result<Choices, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    let directory = desk.team_directory(&actor).await?;
    let mut agents: Vec<(String, String)> = directory
        .iter()
        .flat_map(|e| e.members.iter())
        .filter(|u| u.role.takes_assignments() && !u.disabled)
        .map(|u| (u.id.to_string(), u.name.clone()))
        .collect();
    agents.sort_by(|a, b| a.1.to_lowercase().cmp(&b.1.to_lowercase()).then(a.0.cmp(&b.0)));
    agents.dedup();
    Ok(Choices {
        events: TRIGGER_EVENTS.to_vec(),
        states: WAIT_STATES.to_vec(),
        statuses: TicketStatus::ALL.iter().map(|s| s.as_str()).collect(),
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
        types: TicketType::ALL.iter().map(|t| t.as_str()).collect(),
        teams: directory
            .iter()
            .map(|e| (e.team.id.to_string(), e.team.name.clone()))
            .collect(),
        companies: desk
            .companies(&actor)
            .await?
            .into_iter()
            .map(|c| (c.id.to_string(), c.name))
            .collect(),
        agents,
        macros: desk
            .usable_macros(&actor)
            .await?
            .into_iter()
            .filter(|m| m.record.content.owner.is_none())
            .map(|m| (m.record.id.to_string(), m.record.content.name))
            .collect(),
    })
}

async fn page(
    s: &AppState,
    caller: &Caller,
    editing: Option<&str>,
    form: Option<RuleView>,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let records = s.desk().rules(&caller.actor()).await?;
    let rules = records
        .iter()
        .map(rule_view)
        .collect::<Result<Vec<_>, AppError>>()?;
    let form = match (form, editing) {
        (Some(form), _) => form,
        (None, Some(id)) => rules
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or(AppError::NotFound)?,
        (None, None) => blank(),
    };
    Ok(render(&RulesPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        rules,
        form,
        editing: editing.is_some(),
        choices: choices(s, caller).await?,
        notice,
        error,
    }))
}

pub async fn rules(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Done>,
) -> Result<Response, UiError> {
    let notice = match q.done.as_deref() {
        Some("saved") => Some(crate::locale::word("notice-rule-saved")),
        Some("deleted") => Some(crate::locale::word("notice-rule-deleted")),
        _ => None,
    };
    page(&s, &caller, None, None, notice, None).await
}

pub async fn edit(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    page(&s, &caller, Some(&id), None, None, None).await
}

fn value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
}

fn given(form: &[(String, String)], name: &str) -> Option<String> {
    Some(value(form, name).to_owned()).filter(|v| !v.is_empty())
}

fn values(form: &[(String, String)], name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

fn tag_list(form: &[(String, String)], name: &str) -> Vec<String> {
    value(form, name)
        .split([' ', ','])
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn number(form: &[(String, String)], name: &str, refusal: &'static str) -> Result<Option<i64>, AppError> {
    match value(form, name) {
        "" => Ok(None),
        text => text.parse().map(Some).map_err(|_| AppError::bad_request(refusal)),
    }
}

/// The form as the API's body: the kind chosen decides which of event and wait count.
fn rule_form(form: &[(String, String)]) -> Result<RuleBody, AppError> {
    let automation = value(form, "kind") == "automation";
    Ok(RuleBody {
        name: value(form, "name").to_owned(),
        team_id: value(form, "team").to_owned(),
        position: number(form, "position", "refusal-sla-position")?,
        enabled: !value(form, "enabled").is_empty(),
        event: given(form, "event").filter(|_| !automation),
        wait_state: given(form, "wait_state").filter(|_| automation),
        wait_minutes: number(form, "wait_minutes", "refusal-sla-minutes-form")?.filter(|_| automation),
        conditions: RuleConditionsBody {
            statuses: values(form, "c.status"),
            priorities: values(form, "c.priority"),
            types: values(form, "c.type"),
            company_ids: values(form, "c.company"),
            assigned: match value(form, "c.assigned") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            tags_all: tag_list(form, "c.tags_all"),
            tags_none: tag_list(form, "c.tags_none"),
            field: given(form, "c.field"),
            field_value: given(form, "c.field_value"),
        },
        actions: RuleActionsBody {
            reply: given(form, "a.reply"),
            macro_id: given(form, "a.macro"),
            set_status: given(form, "a.status"),
            set_priority: given(form, "a.priority"),
            set_type: given(form, "a.type"),
            assign_to: given(form, "a.assign"),
            add_tags: tag_list(form, "a.add_tags"),
            remove_tags: tag_list(form, "a.remove_tags"),
            field: given(form, "a.field"),
            field_value: given(form, "a.field_value"),
            notify_assignee: !value(form, "a.notify_assignee").is_empty(),
            notify_supervisors: !value(form, "a.notify_supervisors").is_empty(),
        },
    })
}

/// What the form showed, to show again beside why it was refused.
fn echo(id: Option<&str>, body: &RuleBody) -> RuleView {
    RuleView {
        id: id.unwrap_or_default().to_owned(),
        kind: if body.wait_state.is_some() {
            "automation"
        } else {
            "trigger"
        }
        .into(),
        name: body.name.clone(),
        team_id: body.team_id.clone(),
        position: body.position.unwrap_or(0),
        enabled: body.enabled,
        event: body.event.clone(),
        wait_state: body.wait_state.clone(),
        wait_minutes: body.wait_minutes,
        conditions: body.conditions.clone(),
        actions: body.actions.clone(),
        updated_at: String::new(),
    }
}

async fn save(
    s: &AppState,
    caller: &Caller,
    id: Option<&str>,
    form: &[(String, String)],
) -> Result<Response, UiError> {
    let attempt = match rule_form(form) {
        Ok(body) => {
            let shown = echo(id, &body);
            let saved = match rule_definition(body) {
                Ok(definition) => s
                    .desk()
                    .save_rule(&caller.actor(), id, definition)
                    .await
                    .map(drop)
                    .map_err(AppError::from),
                Err(e) => Err(e),
            };
            (saved, Some(shown))
        }
        Err(e) => (Err(e), None),
    };
    let (why, status) = match attempt.0 {
        Ok(()) => return Ok(Redirect::to("/admin/rules?done=saved").into_response()),
        Err(AppError::BadRequest(why)) => (why, StatusCode::BAD_REQUEST),
        Err(AppError::Conflict(why)) => (why, StatusCode::CONFLICT),
        Err(other) => return Err(UiError(other)),
    };
    let mut response = page(s, caller, id, attempt.1, None, Some(crate::locale::refusal(&why))).await?;
    *response.status_mut() = status;
    Ok(response)
}

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save(&s, &caller, None, &form).await
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    save(&s, &caller, Some(&id), &form).await
}

pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    s.desk().delete_rule(&caller.actor(), &id).await?;
    Ok(Redirect::to("/admin/rules?done=deleted").into_response())
}
