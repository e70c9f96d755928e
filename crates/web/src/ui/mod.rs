//! Server-rendered pages (askama, auto-escaped) for agents and customers. No inline
//! script or style anywhere: the strict CSP of `layers` applies to every page.

pub mod admin;
pub mod admin_fields;
pub mod admin_levels;
pub mod admin_rules;
pub mod admin_settings;
pub mod alerts;
pub mod apps;
pub mod articles;
pub mod assets;
pub mod assistant;
pub mod bulk;
pub mod charts;
pub mod confirmation;
pub mod consent;
pub mod customers;
pub mod devices;
pub mod files;
pub mod filters;
pub mod help;
pub mod language;
pub mod macros;
pub mod notices;
pub mod notifications;
pub mod operations;
pub mod pages;
pub mod privacy;
pub mod quarantine;
pub mod rating;
pub mod reply;
pub mod reports;
pub mod retention;
pub mod saved_views;
pub mod security;
pub mod sso;
pub mod ticket_fields;
pub mod ticket_list;
pub mod ticket_rating;
pub mod ticket_relations;
pub mod ticket_targets;
pub mod ticket_update;
pub mod webhooks;
pub mod welcome;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::AppError;

/// The UI's rendering of [`AppError`]: a page instead of problem+json, and a redirect to
/// the sign-in page when there is no session.
pub struct UiError(pub AppError);

impl From<palisade_store::StoreError> for UiError {
    fn from(e: palisade_store::StoreError) -> Self {
        Self(e.into())
    }
}

impl From<palisade_service::ServiceError> for UiError {
    fn from(e: palisade_service::ServiceError) -> Self {
        Self(e.into())
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
pub struct Notice<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub link: &'a str,
    pub link_text: &'a str,
}

/// The page's language, for the templates' `t` filters.
struct PageValues(palisade_i18n::Locale);

impl askama::Values for PageValues {
    fn get_value<'a>(&'a self, key: &str) -> Option<&'a dyn std::any::Any> {
        (key == filters::LOCALE_KEY).then_some(&self.0 as &dyn std::any::Any)
    }
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render_with_values(&PageValues(crate::locale::current())) {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::Internal(format!("template: {e}")).into_response(),
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::Unauthenticated => return Redirect::to("/login").into_response(),
            AppError::SecondFactorRequired => return Redirect::to("/login/second-factor").into_response(),
            AppError::EnrolmentRequired => return Redirect::to("/account/security").into_response(),
            _ => {}
        }
        let status = self.0.status();
        let problem = self.0.problem();
        let message = problem.detail.unwrap_or_default();
        let message = match problem.correlation_id {
            Some(id) => crate::locale::text_with("error-reference", &[("name", id.as_str().into())]),
            None => message,
        };
        // The API's title is HTTP's reason phrase; a page names it in the reader's language.
        let title = crate::locale::word(match status {
            StatusCode::NOT_FOUND => "problem-title-not-found",
            StatusCode::FORBIDDEN => "problem-title-forbidden",
            s if s.is_client_error() => "problem-title-refused",
            _ => "error-title",
        });
        let page = Notice {
            title,
            message: &message,
            link: "/tickets",
            link_text: crate::locale::word("error-back"),
        };
        let mut response = render(&page);
        *response.status_mut() = if status == StatusCode::OK {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            status
        };
        response
    }
}
