//! The Prometheus listener: `GET /metrics` over plain HTTP on its own address (never
//! the desk's), reading the database's and peers' gauges at each scrape. A scrape's
//! database reads are bounded in time: a slow database shows as `peer_up{database} 0`,
//! not as a scrape that hangs.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use palisade_metrics::{Gauges, Metrics};
use palisade_store::{Store, age_seconds};

use crate::error::CliError;

const READ_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Scrape {
    metrics: Metrics,
    store: Store,
    scanner: Option<palisade_scan::Scanner>,
    subscribers: Vec<&'static str>,
}

/// Binds `listen` (so a taken port fails the start) and serves until `stopping`.
pub async fn start(
    listen: SocketAddr,
    metrics: Metrics,
    store: Store,
    scanner: Option<palisade_scan::Scanner>,
    subscribers: Vec<&'static str>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> Result<(), CliError> {
    let socket = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Io(format!("listening for metrics on {listen}"), e))?;
    let app = Router::new().route("/metrics", get(scrape)).with_state(Scrape {
        metrics,
        store,
        scanner,
        subscribers,
    });
    tracing::info!(%listen, "serving Prometheus metrics");
    if !listen.ip().is_loopback() {
        tracing::warn!(%listen, "[metrics] listens beyond loopback: keep it behind a firewall, it has no authentication");
    }
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(socket, app).with_graceful_shutdown(stopped).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

async fn scrape(State(scrape): State<Scrape>) -> impl IntoResponse {
    let gauges = gauges(&scrape).await;
    scrape.metrics.set(&gauges);
    (
        [
            (header::CONTENT_TYPE, palisade_metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        scrape.metrics.render(),
    )
}

async fn gauges(scrape: &Scrape) -> Gauges {
    let mut gauges = Gauges::default();
    let outbox = tokio::time::timeout(READ_TIMEOUT, scrape.store.outbox_backlog()).await;
    let database_up = matches!(outbox, Ok(Ok(_)));
    if let Ok(Ok(outbox)) = outbox {
        gauges.outbox_queued = outbox.queued;
        gauges.outbox_failed = outbox.failed;
        gauges.outbox_oldest_seconds = age_seconds(outbox.oldest_queued_at);
    }
    if database_up {
        for name in &scrape.subscribers {
            if let Ok(Ok(Some(backlog))) =
                tokio::time::timeout(READ_TIMEOUT, scrape.store.event_backlog(name)).await
            {
                gauges.event_backlog.push((
                    (*name).to_owned(),
                    backlog.behind,
                    age_seconds(backlog.oldest_at),
                ));
            }
        }
    }
    let pools = scrape.store.pool_stats();
    gauges.pools = vec![
        ("read", pools.read_open, pools.read_idle),
        ("write", pools.write_open, pools.write_idle),
    ];
    gauges.peers.push(("database", database_up));
    if let Some(scanner) = &scrape.scanner {
        let up = matches!(
            tokio::time::timeout(READ_TIMEOUT, scanner.ping()).await,
            Ok(Ok(()))
        );
        gauges.peers.push(("scanner", up));
    }
    gauges
}
