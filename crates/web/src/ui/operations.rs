//! The operations page of the administration area: backups and dependency advisories.

use super::filters;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{UiError, render};
use crate::api::operations::{FindingView, OperationsView, readable_status};
use crate::{AppState, Caller};

#[derive(Template)]
#[template(path = "operations.html")]
struct OperationsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    status: OperationsView,
    /// Vulnerable, warnings, accepted: each list under its heading's message id.
    sections: Vec<(&'static str, Vec<FindingView>)>,
    vulnerable: bool,
}

pub async fn show(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    let mut status = readable_status(&s, &caller).await?;
    let sections = match status.advisories.as_mut() {
        Some(check) => vec![
            (
                "operations-list-vulnerable",
                std::mem::take(&mut check.vulnerable),
            ),
            ("operations-list-warnings", std::mem::take(&mut check.warnings)),
            ("operations-list-accepted", std::mem::take(&mut check.accepted)),
        ],
        None => Vec::new(),
    };
    // The stored count decides, not the list: an unreadable list never turns green.
    let vulnerable = status
        .advisories
        .as_ref()
        .is_some_and(|check| check.vulnerable_count > 0);
    Ok(render(&OperationsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        status,
        sections,
        vulnerable,
    }))
}
