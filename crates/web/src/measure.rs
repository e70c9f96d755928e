//! Counts every answer into the node's metrics (when `[metrics]` is on): the matched
//! route's template, never the path, so ids and tokens in paths stay out of labels.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

pub async fn count(metrics: palisade_metrics::Metrics, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.http_request(
        route.as_deref(),
        method.as_str(),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
