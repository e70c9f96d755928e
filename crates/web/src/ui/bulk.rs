//! The ticket list's bulk form: the tickets ticked in the list (each `ticket` field)
//! and one change — status, priority, assignee, a tag — applied ticket by ticket
//! through [`palisade_service::Desk::bulk_update`]; the page then says what happened.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use palisade_core::{Priority, TagName, TicketStatus};
use palisade_service::{BulkChange, BulkOutcome};

use super::{Notice, UiError, render};
use crate::{AppError, AppState, Caller};

/// The form's fields (repeated `ticket`, hence pairs); an empty choice keeps a field.
pub async fn submit(
    State(s): State<AppState>,
    caller: Caller,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let tickets: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "ticket")
        .map(|(_, v)| v.clone())
        .collect();
    let change = BulkChange {
        status: field("status")
            .map(TicketStatus::parse)
            .transpose()
            .map_err(AppError::from)?,
        priority: field("priority")
            .map(Priority::parse)
            .transpose()
            .map_err(AppError::from)?,
        assignee: match field("assignee") {
            None => None,
            Some("me") => Some(Some(caller.principal.user_id.clone())),
            Some("nobody") => Some(None),
            Some(_) => return Err(AppError::bad_request("refusal-assign-me-or-nobody").into()),
        },
        add_tags: field("add_tag")
            .map(TagName::parse)
            .transpose()
            .map_err(AppError::from)?
            .into_iter()
            .collect(),
        team: field("team")
            .map(palisade_core::TeamId::parse)
            .transpose()
            .map_err(AppError::from)?,
        apply_macro: field("macro_id").map(str::to_owned),
        ..BulkChange::default()
    };
    if tickets.is_empty() || change.is_empty() {
        let mut r = render(&Notice {
            title: crate::locale::word("bulk-nothing-title"),
            message: crate::locale::word("bulk-nothing"),
            link: "/tickets",
            link_text: crate::locale::word("bulk-back-short"),
        });
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(r);
    }
    let outcomes = s.desk().bulk_update(&caller.actor(), &tickets, &change).await?;
    let updated = outcomes
        .iter()
        .filter(|(_, o)| *o == BulkOutcome::Updated)
        .count();
    let refusals: Vec<String> = outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            BulkOutcome::Updated => None,
            BulkOutcome::NotFound => Some(crate::locale::word("bulk-not-seen").to_owned()),
            BulkOutcome::Forbidden => Some(crate::locale::word("bulk-not-allowed").to_owned()),
            BulkOutcome::Invalid(why) => Some(crate::locale::text_with(
                "bulk-invalid",
                &[("name", crate::locale::refusal(why).into())],
            )),
        })
        .collect();
    let count = |n: usize| palisade_i18n::Arg::Number(i64::try_from(n).unwrap_or(i64::MAX));
    let summary = if refusals.is_empty() {
        crate::locale::text_with("bulk-changed", &[("count", count(updated))])
    } else {
        crate::locale::text_with(
            "bulk-changed-some",
            &[("count", count(updated)), ("other", count(refusals.len()))],
        )
    };
    Ok(render(&BulkResult {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        summary,
        refusals,
    }))
}

#[derive(Template)]
#[template(path = "bulk_result.html")]
struct BulkResult {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    summary: String,
    refusals: Vec<String>,
}
