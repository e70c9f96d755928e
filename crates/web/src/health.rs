//! Health for load balancers and orchestrators. `/health/live`: the process answers
//! (restart it if not). `/health/ready`: it can do its work — the database answers and
//! holds this build's schema, the master key opens the data keys, and the malware
//! scanner (when configured) answers — so traffic goes elsewhere while it cannot.
//! `/health` stays the old liveness answer. Checks are named, never explained: a
//! failure's cause is in the server's log, not in an unauthenticated response.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

/// A check that takes longer than this has failed: a balancer asks again soon.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn live() -> &'static str {
    "ok"
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let store = tokio::time::timeout(CHECK_TIMEOUT, state.store.readiness()).await;
    let (database, migrated, master_key) = match store {
        Ok(r) => (r.database, r.migrated, r.master_key),
        Err(_) => (false, false, false),
    };
    let scanner = match &state.config.scanner {
        Some(scanner) => Some(matches!(
            tokio::time::timeout(CHECK_TIMEOUT, scanner.ping()).await,
            Ok(Ok(()))
        )),
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
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "status": if ready { "ready" } else { "not_ready" }, "checks": checks });
    (
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

fn word(ok: bool) -> &'static str {
    if ok { "ok" } else { "failing" }
}
