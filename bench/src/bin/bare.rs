//! The baseline for `bench/run.sh`: one axum route over TLS, configured exactly like
//! `palisade serve` (rustls with the ring provider, TLS 1.3 and 1.2, ALPN http/1.1, the
//! same runtime), returning a fixed JSON body the size of a ticket view. The ratio
//! Palisade / bare is what the benchmark reports; both are measured in the same run.

// The same allocator as `palisade`, so the baseline differs from it only in its work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use axum::routing::get;
use axum::{Json, Router};
use axum_server::tls_rustls::RustlsConfig;
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Bare axum handler over Palisade's TLS setup (benchmark baseline)")]
struct Args {
    /// Address to listen on (loopback only in the benchmark).
    #[arg(long, default_value = "127.0.0.1:9443")]
    listen: SocketAddr,
    /// PEM certificate chain (reuse the one `palisade serve` generated).
    #[arg(long)]
    cert: PathBuf,
    /// PEM private key.
    #[arg(long)]
    key: PathBuf,
}

/// Shaped like Palisade's `TicketView` (about 450 bytes serialised).
fn ticket_view() -> Value {
    json!({
        "id": "tkt_5GmKq2x9VbT7hR4wLpZ8nA3cYd",
        "number": 48213,
        "subject": "Bench ticket 48213: the printer on the third floor prints blank pages",
        "status": "new",
        "requester_id": "usr_Hq8Zt3mWx7Lk2PbN9vRc4Ys6Fd",
        "team_id": "tea_Jd2Rk8Vq5Xm3Lp7Hn9Wb4Tc6Gs",
        "assignee_id": null,
        "company_id": null,
        "collaborator_ids": [],
        "tags": [],
        "created_at": "2026-11-20T09:41:27.113Z",
        "updated_at": "2026-11-20T09:41:27.113Z"
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tls = palisade_bench::server_config(&args.cert, &args.key)?;
    let body = Arc::new(ticket_view());
    // Same runtime construction as `palisade` (crates/cli/src/main.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let app = Router::new().route(
            "/ticket",
            get(move || {
                let body = Arc::clone(&body);
                async move { Json(Value::clone(&body)) }
            }),
        );
        println!("bare: serving https://{}/ticket", args.listen);
        axum_server::bind_rustls(args.listen, RustlsConfig::from_config(Arc::new(tls)))
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .with_context(|| format!("listening on {}", args.listen))
    })
}
