//! Macros over the API: list the ones the caller may use, write them, and apply one to
//! a ticket ([`palisade_service::Desk::apply_macro`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use palisade_core::{Priority, TeamId, TicketStatus, TicketType, Visibility};
use palisade_i18n::Refusal;
use palisade_service::UsableMacro;
use palisade_store::{MacroAssignee, MacroContent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::TicketView;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroRequest {
    pub name: String,
    /// The reply or note; `{requester_name}`, `{requester_first_name}`,
    /// `{ticket_number}` and `{agent_name}` are filled in. Leave out for a macro that
    /// only changes the ticket.
    pub body: Option<String>,
    /// `public` (a reply to the customer) or `internal` (a note).
    pub visibility: String,
    /// Leave out (or `null`) for a personal macro; `everyone` shares it with every
    /// agent; a team id shares it with that team's agents.
    pub share_with: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    /// `me` (whoever applies it) or `nobody`.
    pub assignee: Option<String>,
    /// Hand the ticket to this team.
    pub route_to_team_id: Option<String>,
    #[serde(default)]
    pub add_tags: Vec<String>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct MacroView {
    pub id: String,
    pub name: String,
    /// `null` for a personal macro, `everyone`, or the team id it is shared with.
    pub share_with: Option<String>,
    pub body: String,
    pub visibility: String,
    pub status: Option<String>,
    pub priority: Option<String>,
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    pub assignee: Option<String>,
    pub route_to_team_id: Option<String>,
    pub add_tags: Vec<String>,
    /// Whether the caller may change or delete it.
    pub manageable: bool,
}

impl From<&UsableMacro> for MacroView {
    fn from(m: &UsableMacro) -> Self {
        let c = &m.record.content;
        Self {
            id: m.record.id.to_string(),
            name: c.name.clone(),
            share_with: match (&c.owner, &c.team) {
                (Some(_), _) => None,
                (None, None) => Some("everyone".into()),
                (None, Some(team)) => Some(team.to_string()),
            },
            body: c.body.clone(),
            visibility: c.visibility.as_str().into(),
            status: c.set_status.map(|s| s.as_str().into()),
            priority: c.set_priority.map(|p| p.as_str().into()),
            ticket_type: c.set_type.map(|t| t.as_str().into()),
            assignee: c.set_assignee.map(|a| a.as_str().into()),
            route_to_team_id: c.set_team.as_ref().map(ToString::to_string),
            add_tags: c.add_tags.iter().map(|t| t.as_str().to_owned()).collect(),
            manageable: m.manageable,
        }
    }
}

impl MacroRequest {
    pub(crate) fn content(&self, caller: &Caller) -> Result<MacroContent, AppError> {
        let (owner, team) = match self.share_with.as_deref() {
            None => (Some(caller.principal.user_id.clone()), None),
            Some("everyone") => (None, None),
            Some(team) => (None, Some(TeamId::parse(team)?)),
        };
        if self.body.as_deref().is_some_and(|b| b.trim().is_empty()) {
            return Err(AppError::bad_request("refusal-macro-empty-body"));
        }
        if self.add_tags.len() > 20 {
            return Err(AppError::BadRequest(
                Refusal::new("refusal-tags-at-most").with("max", 20_i64),
            ));
        }
        Ok(MacroContent {
            name: self.name.clone(),
            owner,
            team,
            body: self.body.clone().unwrap_or_default(),
            visibility: Visibility::parse(&self.visibility)?,
            set_status: self.status.as_deref().map(TicketStatus::parse).transpose()?,
            set_priority: self.priority.as_deref().map(Priority::parse).transpose()?,
            set_type: self.ticket_type.as_deref().map(TicketType::parse).transpose()?,
            set_assignee: self
                .assignee
                .as_deref()
                .map(|a| {
                    MacroAssignee::parse(a)
                        .ok_or_else(|| AppError::bad_request("refusal-assignee-me-or-nobody"))
                })
                .transpose()?,
            set_team: self.route_to_team_id.as_deref().map(TeamId::parse).transpose()?,
            add_tags: self
                .add_tags
                .iter()
                .map(|t| super::bulk::strict_tag(t))
                .collect::<Result<_, _>>()?,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/macros", tag = "tickets", responses((status = 200, body = Vec<MacroView>)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<Vec<MacroView>>, AppError> {
    let macros = s.desk().usable_macros(&caller.actor()).await?;
    Ok(Json(macros.iter().map(MacroView::from).collect()))
}

fn view_of(record: palisade_store::MacroRecord) -> MacroView {
    MacroView::from(&UsableMacro {
        record,
        manageable: true,
    })
}

#[utoipa::path(post, path = "/api/v1/macros", tag = "tickets", request_body = MacroRequest,
    responses((status = 201, body = MacroView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem)))]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<MacroRequest>,
) -> Result<(StatusCode, Json<MacroView>), AppError> {
    let content = req.content(&caller)?;
    let record = s.desk().create_macro(&caller.actor(), &content).await?;
    Ok((StatusCode::CREATED, Json(view_of(record))))
}

#[utoipa::path(put, path = "/api/v1/macros/{id}", tag = "tickets", params(("id" = String, Path)),
    request_body = MacroRequest,
    responses((status = 200, body = MacroView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn replace(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MacroRequest>,
) -> Result<Json<MacroView>, AppError> {
    let content = req.content(&caller)?;
    let record = s.desk().update_macro(&caller.actor(), &id, &content).await?;
    Ok(Json(view_of(record)))
}

#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "tickets", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().delete_macro(&caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/macros/{macro_id}", tag = "tickets",
    params(("id" = String, Path), ("macro_id" = String, Path)),
    responses((status = 200, body = TicketView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn apply(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, macro_id)): Path<(String, String)>,
) -> Result<Json<TicketView>, AppError> {
    let ticket = s.desk().apply_macro(&caller.actor(), &id, &macro_id).await?;
    Ok(Json(TicketView::from(&ticket)))
}
