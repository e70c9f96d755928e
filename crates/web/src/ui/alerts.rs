//! The security alerts page of the administration area.

use super::filters;
use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::{UiError, render};
use crate::api::alerts::{AlertView, readable_alerts};
use crate::{AppState, Caller};

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    alerts: Vec<AlertView>,
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    let alerts = readable_alerts(&s, &caller).await?;
    Ok(render(&AlertsPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: false,
        alerts,
    }))
}
