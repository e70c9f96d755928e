//! `/health/live` and `/health/ready` for balancers: ready names each check and turns
//! 503 when a required peer (here the malware scanner) does not answer, without saying
//! why to an unauthenticated caller.

use crate::common;

use axum::body::Body;
use axum::http::StatusCode;
use common::World;
use palisade_testkit::Backend;
use palisade_testkit::clamd::Clamd;

fn scanner(endpoint: &str) -> palisade_scan::Scanner {
    palisade_scan::Scanner::new(
        palisade_scan::Endpoint::parse(endpoint).unwrap(),
        std::time::Duration::from_secs(5),
    )
}

#[tokio::test]
async fn ready_names_each_check_and_fails_while_the_scanner_is_down() {
    let clamd = Clamd::start().await.unwrap();
    let w = World::new(Backend::Sqlite).await;
    let live = w.raw(None, "GET", "/health/live", Body::empty(), &[]).await;
    assert_eq!(live.status, StatusCode::OK);

    let ready = w.raw(None, "GET", "/health/ready", Body::empty(), &[]).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    let body = ready.json();
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["checks"],
        serde_json::json!({"database": "ok", "migrated": "ok", "master_key": "ok"}),
        "no scanner configured: none asked"
    );

    let up = w.with_config(|c| c.scanner = Some(scanner(&clamd.endpoint)));
    let ready = up.raw(None, "GET", "/health/ready", Body::empty(), &[]).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["checks"]["scanner"], "ok");

    let down = up.with_config(|c| c.scanner = Some(scanner("unix:/nonexistent/palisade-test/clamd.sock")));
    let ready = down.raw(None, "GET", "/health/ready", Body::empty(), &[]).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = ready.json();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"]["scanner"], "failing");
    assert_eq!(body["checks"]["database"], "ok");
    assert!(
        !ready.text().contains("nonexistent"),
        "the cause stays in the log: {}",
        ready.text()
    );
    // Liveness does not depend on peers: the process is fine, only not ready.
    let live = down.raw(None, "GET", "/health/live", Body::empty(), &[]).await;
    assert_eq!(live.status, StatusCode::OK);
}
