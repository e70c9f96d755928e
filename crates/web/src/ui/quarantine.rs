//! The quarantine review pages: held mail of the teams the agent may review, each
//! message shown whole (escaped, never rendered as HTML) with why it was not
//! authenticated and whether its domain imitates a known one, and the two final
//! decisions. The logic is the API's (`api::quarantine`), so the two cannot differ.

use super::filters;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::Role;

use super::{UiError, render};
use crate::api::quarantine::{
    QuarantinedView, discard_held, release_held, reviewable, reviewable_list, view,
};
use crate::{AppError, AppState, Caller};

#[derive(Template)]
#[template(path = "quarantine.html")]
struct QuarantineList {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    items: Vec<QuarantinedView>,
}

#[derive(Template)]
#[template(path = "quarantine_item.html")]
struct QuarantineItem {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    item: QuarantinedView,
    held: bool,
    findings: Vec<String>,
    lookalike: Option<String>,
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    s.desk()
        .enter_workspace(&caller.actor())
        .await
        .map_err(AppError::from)?;
    Ok(render(&QuarantineList {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        items: reviewable_list(&s, &caller).await?,
    }))
}

pub async fn item(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let held = reviewable(&s, &caller, &id).await?;
    let item = view(&held, true)?;
    Ok(render(&QuarantineItem {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        held: held.status == palisade_store::QuarantineStatus::Held,
        findings: findings(&item.verdict),
        lookalike: item.lookalike.as_ref().map(|l| {
            crate::locale::text_with(
                "quarantine-resembles",
                &[
                    ("name", l["domain"].as_str().unwrap_or("?").into()),
                    ("other", l["resembles"].as_str().unwrap_or("?").into()),
                    (
                        "value",
                        l["reason"].as_str().unwrap_or("?").replace('_', " ").into(),
                    ),
                ],
            )
        }),
        item,
    }))
}

pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let ticket = release_held(&s, &caller, &id).await?;
    Ok(Redirect::to(&format!("/tickets/{ticket}")).into_response())
}

pub async fn discard(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    discard_held(&s, &caller, &id).await?;
    Ok(Redirect::to("/quarantine").into_response())
}

/// The verdict's findings in words, for a reviewer deciding whether to trust it.
fn findings(verdict: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(not_counted) = verdict["dkim_not_counted"].as_array() {
        for entry in not_counted {
            out.push(crate::locale::text_with(
                "quarantine-dkim-not-counted",
                &[
                    ("name", entry[0].as_str().unwrap_or("?").into()),
                    ("value", entry[1].as_str().unwrap_or("?").replace('_', " ").into()),
                ],
            ));
        }
    }
    match verdict["dkim_failed"].as_u64() {
        Some(0) | None => {}
        Some(n) => out.push(crate::locale::text_with(
            "quarantine-dkim-failed",
            &[("count", i64::try_from(n).unwrap_or(i64::MAX).into())],
        )),
    }
    if let Some(spf) = verdict["spf"].as_array() {
        out.push(crate::locale::text_with(
            "quarantine-spf",
            &[
                ("name", spf.first().and_then(|d| d.as_str()).unwrap_or("?").into()),
                ("value", spf.get(1).and_then(|r| r.as_str()).unwrap_or("?").into()),
            ],
        ));
    }
    if out.is_empty() {
        out.push(crate::locale::text("quarantine-nothing-authenticated"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_say_why_mail_was_held() {
        let verdict = serde_json::json!({
            "authenticated": false,
            "dkim_not_counted": [["evil.test", "not_aligned"]],
            "dkim_failed": 1,
            "spf": ["evil.test", "pass"],
        });
        assert_eq!(
            findings(&verdict),
            [
                "A DKIM signature by evil.test verified but does not count: not aligned.",
                "1 DKIM signature(s) did not verify.",
                "SPF for evil.test: pass.",
            ]
        );
        assert_eq!(
            findings(&serde_json::json!({})),
            ["Nothing authenticated the sender."]
        );
    }
}
