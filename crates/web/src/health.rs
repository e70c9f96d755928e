//! Health for load balancers and orchestrators. `/health/live`: the process answers
//! (restart it if not). `/health/ready`: it can do its work — the database answers and
//! holds this build's schema, the master key opens the data keys, and the malware
//! scanner (when configured) answers — so traffic goes elsewhere while it cannot.
//! `/health` stays the old liveness answer. Checks are named, never explained: a
//! failure's cause is in the server's log, not in an unauthenticated response. The
//! checks run at most once a second per node, however many probes arrive (one answer
//! is shared): an unauthenticated flood cannot turn into database reads and clamd
//! connections.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

/// A check that takes longer than this has failed: a balancer asks again soon.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one answer serves every probe.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The last answer (ready, body) and when it was made.
pub type ReadinessCache = tokio::sync::Mutex<Option<(Instant, bool, serde_json::Value)>>;

pub async fn live() -> &'static str {
    "ok"
}

pub async fn ready(State(state): State<AppState>) -> Response {
    // Probes wait for the one check in progress rather than each starting their own.
    let mut cached = state.readiness_cache().lock().await;
    let (ready, body) = match cached.as_ref() {
        Some((at, ready, body)) if at.elapsed() < FRESH_FOR => (*ready, body.clone()),
        _ => {
            let (ready, body) = check(&state).await;
            *cached = Some((Instant::now(), ready, body.clone()));
            (ready, body)
        }
    };
    drop(cached);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

async fn check(state: &AppState) -> (bool, serde_json::Value) {
    let store = tokio::time::timeout(CHECK_TIMEOUT, state.store.readiness()).await;
    let (database, migrated, master_key) = match store {
        Ok(r) => (r.database, r.migrated, r.master_key),
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within 2 s");
            (false, false, false)
        }
    };
    let scanner = match &state.config.scanner {
        Some(scanner) => Some(match tokio::time::timeout(CHECK_TIMEOUT, scanner.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: clamd did not answer");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: clamd did not answer within 2 s");
                false
            }
        }),
        None => None,
    };
    let mut checks = serde_json::Map::new();
    for (name, ok) in [
        ("database", database),
        ("migrated", migrated),
        ("master_key", master_key),
    ] {
        checks.insert(name.into(), word(ok).into());
    }
    if let Some(ok) = scanner {
        checks.insert("scanner".into(), word(ok).into());
    }
    let ready = database && migrated && master_key && scanner.unwrap_or(true);
    if !ready {
        tracing::warn!(?checks, "not ready");
    }
    (
        ready,
        json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks }),
    )
}

fn word(ok: bool) -> &'static str {
    if ok { "ok" } else { "failing" }
}
