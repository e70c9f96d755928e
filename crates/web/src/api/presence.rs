//! Who else is on a ticket: `POST …/presence` (the page's script says "typing", and
//! gets the others back) and `GET …/presence/stream` (server-sent events: the list
//! whenever it changes, the caller counted as viewing while the stream is open).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use palisade_service::Colleague;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::ApiJson;
use crate::{AppError, AppState, Caller, Problem};

/// How often an open stream looks again (and renews the caller's presence).
const STREAM_TICK: Duration = Duration::from_secs(3);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceRequest {
    /// Whether the caller is writing a reply or note right now.
    pub typing: bool,
}

#[derive(Serialize, ToSchema, PartialEq, Eq, Clone)]
pub struct ColleagueView {
    pub name: String,
    pub typing: bool,
}

fn views(colleagues: Vec<Colleague>) -> Vec<ColleagueView> {
    colleagues
        .into_iter()
        .map(|c| ColleagueView {
            name: c.name,
            typing: c.typing,
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/presence", tag = "tickets", params(("id" = String, Path)),
    request_body = PresenceRequest,
    responses((status = 200, body = Vec<ColleagueView>), (status = 404, body = Problem)))]
pub async fn announce(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PresenceRequest>,
) -> Result<Json<Vec<ColleagueView>>, AppError> {
    let others = s
        .desk()
        .present_on_ticket(&caller.actor(), &id, req.typing)
        .await?;
    Ok(Json(views(others)))
}

struct Watch {
    desk: palisade_service::Desk,
    actor: palisade_service::Actor,
    ticket: String,
    last: Option<Vec<ColleagueView>>,
    ends: Instant,
}

/// `text/event-stream`: a `present` event (a JSON list of `ColleagueView`) at the start
/// and whenever it changes; the stream ends after a minute and the browser reconnects.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/presence/stream", tag = "tickets", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream"), (status = 404, body = Problem)))]
pub async fn stream(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let desk = s.desk();
    let actor = caller.actor();
    // Decided before the stream starts, so a refusal is an answer, not an empty stream.
    let first = views(desk.present_on_ticket(&actor, &id, false).await?);
    let watch = Watch {
        desk: desk.clone(),
        actor,
        ticket: id,
        last: None,
        ends: Instant::now() + s.config.notification_stream,
    };
    let updates = stream::unfold((watch, Some(first)), |(mut w, mut pending)| async move {
        loop {
            let now = match pending.take() {
                Some(first) => first,
                None => {
                    if Instant::now() >= w.ends {
                        return None;
                    }
                    tokio::time::sleep(STREAM_TICK).await;
                    // A failing read (the ticket no longer readable) ends the stream.
                    views(w.desk.present_on_ticket(&w.actor, &w.ticket, false).await.ok()?)
                }
            };
            if w.last.as_ref() != Some(&now) {
                let event = Event::default()
                    .event("present")
                    .json_data(&now)
                    .unwrap_or_else(|_| Event::default().event("present").data("[]"));
                w.last = Some(now);
                return Some((Ok(event), (w, None)));
            }
        }
    });
    Ok(Sse::new(updates).keep_alive(KeepAlive::default()))
}
