//! `POST /api/v1/tickets/bulk`: one change to many tickets, each authorised and
//! audited on its own ([`palisade_service::Desk::bulk_update`]); the answer says what
//! happened to each.

use axum::Json;
use axum::extract::State;
use palisade_core::{Priority, TagName, TeamId, TicketId, TicketStatus, TicketType, UserId};
use palisade_i18n::Refusal;
use palisade_service::{BulkChange, BulkOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpdateRequest {
    /// 1 to 100 tickets.
    pub ticket_ids: Vec<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// A type, or `null` to clear it; leave out to keep.
    #[serde(rename = "type", default, deserialize_with = "super::dto::double_option")]
    #[schema(value_type = Option<String>)]
    pub ticket_type: Option<Option<String>>,
    /// A user id to assign, or `null` to unassign; leave out to keep.
    #[serde(default, deserialize_with = "super::dto::double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<Option<String>>,
    pub team_id: Option<String>,
    /// Added to each ticket's tags.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// A macro applied to each ticket after the other changes (each ticket takes it
    /// whole or not at all).
    pub macro_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkTicketResult {
    pub ticket_id: String,
    /// `updated`, `not_found` (missing or not yours to read), `forbidden` (yours to
    /// read, not to change this way) or `invalid` (see `detail`).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkUpdateResult {
    pub results: Vec<BulkTicketResult>,
}

impl BulkUpdateRequest {
    /// The selected tickets, exactly as the document allows them: 1 to 100 distinct
    /// well-formed ticket ids.
    pub(crate) fn tickets(&self) -> Result<&[String], AppError> {
        if self.ticket_ids.is_empty() || self.ticket_ids.len() > palisade_service::MAX_BULK_TICKETS {
            return Err(AppError::BadRequest(
                Refusal::new("refusal-bulk-count").with("max", palisade_service::MAX_BULK_TICKETS),
            ));
        }
        for (i, id) in self.ticket_ids.iter().enumerate() {
            TicketId::parse(id)?;
            if self.ticket_ids[..i].contains(id) {
                return Err(AppError::bad_request("refusal-bulk-twice"));
            }
        }
        Ok(&self.ticket_ids)
    }

    pub(crate) fn change(&self) -> Result<BulkChange, AppError> {
        if self.add_tags.len() > 50 {
            return Err(AppError::BadRequest(
                Refusal::new("refusal-tags-at-most").with("max", 50_i64),
            ));
        }
        Ok(BulkChange {
            status: self.status.as_deref().map(TicketStatus::parse).transpose()?,
            priority: self.priority.as_deref().map(Priority::parse).transpose()?,
            ticket_type: self
                .ticket_type
                .as_ref()
                .map(|t| t.as_deref().map(TicketType::parse).transpose())
                .transpose()?,
            assignee: self
                .assignee_id
                .as_ref()
                .map(|a| a.as_deref().map(UserId::parse).transpose())
                .transpose()?,
            team: self.team_id.as_deref().map(TeamId::parse).transpose()?,
            apply_macro: self
                .macro_id
                .as_deref()
                .map(|m| palisade_core::MacroId::parse(m).map(|id| id.to_string()))
                .transpose()?,
            add_tags: self
                .add_tags
                .iter()
                .map(|t| strict_tag(t))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// A tag as the document describes it (ASCII letters, digits, `-` and `_`), where
/// [`TagName::parse`] would also trim and take other scripts' letters.
pub(crate) fn strict_tag(raw: &str) -> Result<TagName, AppError> {
    let shape = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !shape {
        return Err(AppError::bad_request("refusal-tag-form"));
    }
    Ok(TagName::parse(raw)?)
}

pub(crate) fn results(outcomes: Vec<(String, BulkOutcome)>) -> BulkUpdateResult {
    BulkUpdateResult {
        results: outcomes
            .into_iter()
            .map(|(ticket_id, outcome)| {
                let (outcome, detail) = match outcome {
                    BulkOutcome::Updated => ("updated", None),
                    BulkOutcome::NotFound => ("not_found", None),
                    BulkOutcome::Forbidden => ("forbidden", None),
                    BulkOutcome::Invalid(why) => ("invalid", Some(crate::locale::refusal(&why))),
                };
                BulkTicketResult {
                    ticket_id,
                    outcome: outcome.into(),
                    detail,
                }
            })
            .collect(),
    }
}

#[utoipa::path(post, path = "/api/v1/tickets/bulk", tag = "tickets", request_body = BulkUpdateRequest,
    responses((status = 200, body = BulkUpdateResult), (status = 400, body = Problem)))]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<BulkUpdateRequest>,
) -> Result<Json<BulkUpdateResult>, AppError> {
    let change = req.change()?;
    let outcomes = s
        .desk()
        .bulk_update(&caller.actor(), req.tickets()?, &change)
        .await?;
    Ok(Json(results(outcomes)))
}
