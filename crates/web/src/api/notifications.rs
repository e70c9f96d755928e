//! Agents' notifications over the API: the list (authorised for the caller now, as
//! the desk decides), marking them read, a server-sent event stream of the unread
//! count for the page's live counter, the caller's preferences per kind, and
//! following a ticket.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use palisade_service::{Notification, NotificationChannel, NotificationKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::rfc3339;
use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

/// How often the stream looks for a change.
const STREAM_POLL: Duration = Duration::from_secs(2);

#[derive(Serialize, ToSchema)]
pub struct NotificationView {
    pub id: String,
    /// `new_ticket`, `customer_reply`, `assigned`, `mention`, `service_level` or `rule`.
    #[schema(pattern = "^(new_ticket|customer_reply|assigned|mention|service_level|rule)$")]
    pub kind: String,
    pub label: String,
    pub ticket_id: String,
    pub number: i64,
    pub subject: String,
    pub created_at: String,
    pub read: bool,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        Self {
            id: n.record.id.to_string(),
            kind: n.kind.as_str().into(),
            label: n.kind.label().into(),
            ticket_id: n.record.ticket.to_string(),
            number: n.number,
            subject: n.subject.clone(),
            created_at: rfc3339(n.record.created_at.0),
            read: n.record.read,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    pub unread: usize,
    pub items: Vec<NotificationView>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPreference {
    #[schema(pattern = "^(new_ticket|customer_reply|assigned|mention|service_level|rule)$")]
    pub kind: String,
    /// `off`, `in_app` (listed in the page), `email` (also mailed at once) or `digest`
    /// (also collected into an hourly mail).
    #[schema(pattern = "^(off|in_app|email|digest)$")]
    pub channel: String,
}

/// The caller's notifications, newest first, about tickets they may still read.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    responses((status = 200, body = NotificationList), (status = 401, body = Problem)))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> Result<Json<NotificationList>, AppError> {
    let items = s.desk().notifications(&caller.actor()).await?;
    Ok(Json(NotificationList {
        unread: items.iter().filter(|n| !n.record.read).count(),
        items: items.iter().map(NotificationView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications",
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn mark_read(State(s): State<AppState>, caller: Caller) -> Result<StatusCode, AppError> {
    s.desk().mark_notifications_read(&caller.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `text/event-stream`: an `unread` event with the count whenever it changes (and
/// once at the start); the stream ends after a minute and the browser reconnects.
#[utoipa::path(get, path = "/api/v1/notifications/stream", tag = "notifications",
    responses((status = 200, content_type = "text/event-stream"), (status = 401, body = Problem)))]
pub async fn stream(
    State(s): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let watch = Watch {
        desk: s.desk().clone(),
        actor: caller.actor(),
        last: None,
        ends: Instant::now() + s.config.notification_stream,
    };
    let updates = stream::unfold(watch, |mut w| async move {
        loop {
            if w.last.is_some() {
                if Instant::now() >= w.ends {
                    return None;
                }
                tokio::time::sleep(STREAM_POLL).await;
            }
            // A failing read ends the stream; the browser reconnects.
            let count = w.desk.unread_notifications(&w.actor).await.ok()?;
            if w.last != Some(count) {
                w.last = Some(count);
                return Some((Ok(unread_event(count)), w));
            }
        }
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}

/// One stream's state: whose count, and the count last sent.
struct Watch {
    desk: palisade_service::Desk,
    actor: palisade_service::Actor,
    last: Option<usize>,
    ends: Instant,
}

fn unread_event(count: usize) -> Event {
    Event::default().event("unread").data(count.to_string())
}

#[utoipa::path(get, path = "/api/v1/me/notification-preferences", tag = "notifications",
    responses((status = 200, body = Vec<NotificationPreference>), (status = 401, body = Problem)))]
pub async fn preferences(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<NotificationPreference>>, AppError> {
    Ok(Json(preferences_of(&s, &caller).await?))
}

pub(crate) async fn preferences_of(
    s: &AppState,
    caller: &Caller,
) -> Result<Vec<NotificationPreference>, AppError> {
    Ok(s.desk()
        .notification_preferences(&caller.actor())
        .await?
        .into_iter()
        .map(|(kind, channel)| NotificationPreference {
            kind: kind.as_str().into(),
            channel: channel.as_str().into(),
        })
        .collect())
}

/// Sets the channel of the kinds listed (others keep theirs); returns them all.
#[utoipa::path(put, path = "/api/v1/me/notification-preferences", tag = "notifications",
    request_body = Vec<NotificationPreference>,
    responses((status = 200, body = Vec<NotificationPreference>), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn set_preferences(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(wanted): ApiJson<Vec<NotificationPreference>>,
) -> Result<Json<Vec<NotificationPreference>>, AppError> {
    save_preferences(&s, &caller, &wanted).await?;
    Ok(Json(preferences_of(&s, &caller).await?))
}

/// Checks every entry before saving any, so a bad one changes nothing.
pub(crate) async fn save_preferences(
    s: &AppState,
    caller: &Caller,
    wanted: &[NotificationPreference],
) -> Result<(), AppError> {
    let parsed = wanted
        .iter()
        .map(|p| {
            Ok((
                NotificationKind::parse(&p.kind)?,
                NotificationChannel::parse(&p.channel)?,
            ))
        })
        .collect::<Result<Vec<_>, palisade_service::ServiceError>>()?;
    let desk = s.desk();
    for (kind, channel) in parsed {
        desk.set_notification_preference(&caller.actor(), kind, channel)
            .await?;
    }
    Ok(())
}

/// Follow a ticket, to hear of customers' replies on it (staff who read its internal side).
#[utoipa::path(put, path = "/api/v1/tickets/{id}/follow", tag = "notifications", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn follow(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().set_following(&caller.actor(), &id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/tickets/{id}/follow", tag = "notifications", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn unfollow(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    s.desk().set_following(&caller.actor(), &id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
