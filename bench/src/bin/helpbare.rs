//! The baseline for `bench/help.sh`: the same articles in the same in-memory tantivy
//! index Palisade builds, queried directly (the visitor's audience filter, no policy
//! re-check, no limits, no database) behind one axum route on Palisade's TLS setup.
//! Palisade's search over HTTP divided by this is what the benchmark reports.

// The same allocator as `palisade`, so the baseline differs from it only in its work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use axum_server::tls_rustls::RustlsConfig;
use clap::Parser;
use palisade_assist::HelpCentre;
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::AudienceFilter;
use palisade_policy::{PolicyEngine, Reader};
use palisade_store::Store;
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Bare tantivy search over the help-centre index (benchmark baseline)")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:9444")]
    listen: SocketAddr,
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    master_key_file: PathBuf,
}

#[derive(Clone)]
struct Baseline {
    help: HelpCentre,
    filter: Arc<AudienceFilter>,
}

async fn search(
    State(b): State<Baseline>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let text = q.get("q").map(String::as_str).unwrap_or_default();
    let results = b.help.index().search("en", &b.filter, text, 20);
    Json(match results {
        Ok(r) => json!({
            "total": r.total,
            "items": r.hits.iter().map(|h| json!({
                "id": h.article.id.to_string(), "title": h.article.title,
                "url": format!("/help/{}/{}", h.article.locale, h.article.slug), "snippet": h.snippet.text,
            })).collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "error": e.to_string() }),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let tls = palisade_bench::server_config(&args.cert, &args.key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let master = MasterKey::load(&args.master_key_file)
            .with_context(|| format!("reading {}", args.master_key_file.display()))?;
        let store = Store::connect(&args.database_url, Arc::new(Keyring::new(&master))).await?;
        let policy = PolicyEngine::load()?;
        let baseline = Baseline {
            help: HelpCentre::open(store).await?,
            filter: Arc::new(policy.audience_filter(Reader::Visitor)),
        };
        let app = Router::new().route("/search", get(search)).with_state(baseline);
        axum_server::bind_rustls(args.listen, RustlsConfig::from_config(Arc::new(tls)))
            .serve(app.into_make_service())
            .await?;
        anyhow::Ok(())
    })
}
