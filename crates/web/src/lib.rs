//! The HTTP face of Palisade: the axum router with the REST API under `/api/v1`, the
//! server-rendered UI, security headers and cross-site checks. Handlers authenticate
//! through the [`Caller`] extractor, authorise only through [`AppState::authorize`] (and
//! its ticket helpers in `authz`), and map every failure through [`AppError`].

mod allowance;
mod anomaly;
mod api;
mod assistant;
mod assistant_model;
mod authz;
mod caller;
mod client_ip;
mod confirmation;
mod error;
mod health;
mod help;
mod layers;
mod limits;
mod locale;
mod measure;
mod oauth;
mod routes;
mod service;
mod state;
mod ui;
mod watch;
mod widget;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;

pub use anomaly::{Detector, DetectorConfig, Finding, Signal};
pub use api::ApiDoc;
pub use assistant_model::AssistantModel;
pub use caller::{Caller, CredentialSource, MaybeCaller, PendingCaller, RequestMeta, SESSION_COOKIE};
pub use client_ip::{ClientIp, ForwardedHeader, TrustedProxies};
pub use error::{AppError, Problem};
pub use layers::CONTENT_SECURITY_POLICY;
pub use limits::{Limit, PublicLimits};
pub use routes::route_list;
pub use state::{AppParts, AppState, WebConfig};
pub use ui::welcome::FirstRunLink;
pub use watch::SharedDetector;

/// The complete application. Body size is capped for every route (attachments have
/// their own, larger cap); unknown paths get a problem+json 404.
pub fn router(state: AppState) -> Router {
    let metrics = state.config.metrics.clone();
    let router = routes::build(&state)
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn(locale::negotiate))
        .layer(DefaultBodyLimit::max(state.config.max_json_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            layers::cross_site_guard,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), widget::cors))
        .layer(middleware::from_fn_with_state(state.clone(), watch::observe))
        .layer(middleware::from_fn(layers::security_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_ip::resolve_client_ip,
        ));
    // Outermost, so refusals by the layers inside are timed and counted too.
    let router = match metrics {
        Some(metrics) => router.layer(middleware::from_fn(move |request, next| {
            measure::count(metrics.clone(), request, next)
        })),
        None => router,
    };
    router.with_state(state)
}
