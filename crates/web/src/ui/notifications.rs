//! The notifications pages: the list (live through `static/notifications.js`), marking
//! it read, the preferences per kind, and the follow button on a ticket.

use super::filters;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use palisade_core::Role;
use serde::Deserialize;
use std::collections::HashMap;

use super::{UiError, render};
use crate::api::dto::rfc3339;
use crate::api::notifications::{NotificationPreference, preferences_of, save_preferences};
use crate::{AppState, Caller};

struct Item {
    label: &'static str,
    at: String,
    ticket_id: String,
    number: i64,
    subject: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct ListPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    items: Vec<Item>,
    unread: usize,
}

pub async fn page(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    let shown = s.desk().notifications(&caller.actor()).await?;
    let items: Vec<Item> = shown
        .iter()
        .map(|n| Item {
            label: notification_word(n.kind),
            at: rfc3339(n.record.created_at.0),
            ticket_id: n.record.ticket.to_string(),
            number: n.number,
            subject: n.subject.clone(),
            read: n.record.read,
        })
        .collect();
    Ok(render(&ListPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        unread: items.iter().filter(|i| !i.read).count(),
        items,
    }))
}

pub async fn mark_read(State(s): State<AppState>, caller: Caller) -> Result<Response, UiError> {
    s.desk().mark_notifications_read(&caller.actor()).await?;
    Ok(Redirect::to("/notifications").into_response())
}

struct PreferenceRow {
    kind: String,
    label: &'static str,
    channel: String,
}

#[derive(Template)]
#[template(path = "notification_preferences.html")]
struct PreferencesPage {
    user_name: String,
    role: &'static str,
    is_customer: bool,
    preferences: Vec<PreferenceRow>,
    channels: Vec<(&'static str, &'static str)>,
    saved: bool,
    /// For staff: whether teams that assign automatically give them tickets.
    available: Option<bool>,
}

#[derive(Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn preferences(
    State(s): State<AppState>,
    caller: Caller,
    Query(q): Query<Saved>,
) -> Result<Response, UiError> {
    let preferences = preferences_of(&s, &caller)
        .await?
        .into_iter()
        .map(|p| PreferenceRow {
            label: palisade_service::NotificationKind::parse(&p.kind)
                .map(notification_word)
                .unwrap_or("?"),
            kind: p.kind,
            channel: p.channel,
        })
        .collect();
    Ok(render(&PreferencesPage {
        user_name: caller.user.name.clone(),
        role: caller.principal.role.as_str(),
        is_customer: caller.principal.role == Role::Customer,
        preferences,
        channels: vec![
            ("off", crate::locale::word("channel-off")),
            ("in_app", crate::locale::word("channel-in_app")),
            ("email", crate::locale::word("channel-email")),
            ("digest", crate::locale::word("channel-digest")),
        ],
        saved: q.saved.is_some(),
        available: match caller.principal.role {
            Role::Customer => None,
            _ => Some(s.desk().available(&caller.actor()).await?),
        },
    }))
}

#[derive(Deserialize)]
pub struct AvailabilityForm {
    #[serde(default)]
    available: Option<String>,
}

/// The "taking new tickets" box: ticked is available, unticked away.
pub async fn availability(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<AvailabilityForm>,
) -> Result<Response, UiError> {
    s.desk()
        .set_available(&caller.actor(), form.available.is_some())
        .await?;
    Ok(Redirect::to("/account/notifications?saved=1").into_response())
}

/// The form's fields are kind → channel; unknown kinds or channels are refused whole.
pub async fn save(
    State(s): State<AppState>,
    caller: Caller,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let wanted: Vec<NotificationPreference> = form
        .into_iter()
        .map(|(kind, channel)| NotificationPreference { kind, channel })
        .collect();
    save_preferences(&s, &caller, &wanted).await?;
    Ok(Redirect::to("/account/notifications?saved=1").into_response())
}

#[derive(Deserialize)]
pub struct FollowForm {
    follow: String,
}

pub async fn follow(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Form(form): Form<FollowForm>,
) -> Result<Response, UiError> {
    s.desk()
        .set_following(&caller.actor(), &id, form.follow == "yes")
        .await?;
    Ok(Redirect::to(&format!("/tickets/{id}")).into_response())
}

/// A kind of notification as the page's language names it.
fn notification_word(kind: palisade_service::NotificationKind) -> &'static str {
    match kind {
        palisade_service::NotificationKind::NewTicket => crate::locale::word("notification-new_ticket"),
        palisade_service::NotificationKind::CustomerReply => {
            crate::locale::word("notification-customer_reply")
        }
        palisade_service::NotificationKind::Assigned => crate::locale::word("notification-assigned"),
        palisade_service::NotificationKind::Mention => crate::locale::word("notification-mention"),
        palisade_service::NotificationKind::ServiceLevel => crate::locale::word("notification-service_level"),
        palisade_service::NotificationKind::Rule => crate::locale::word("notification-rule"),
    }
}
