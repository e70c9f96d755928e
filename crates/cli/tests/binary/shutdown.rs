//! `serve` stops cleanly on SIGTERM, the signal systemd, container runtimes and `kill`
//! send: without a handler the process died at once, mid-request, with the audit head
//! unsigned.

use std::time::Duration;

use rustls::version::TLS13;

use super::common::{TestDir, query_i64};

#[tokio::test]
async fn serve_stops_cleanly_on_sigterm() {
    let dir = TestDir::new("sigterm");
    dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    let health = server.get(&TLS13, "/health").await.unwrap();
    assert_eq!(health.status, 200);

    let status = server.terminate(Duration::from_secs(20));
    assert!(
        status.success(),
        "a clean exit, not death by the signal: {status}\n--- stderr\n{}",
        server.log()
    );
    assert!(
        server.log().contains("stopping: new work refused"),
        "{}",
        server.log()
    );
    assert!(
        server.get(&TLS13, "/health").await.is_err(),
        "nothing answers any more"
    );
    // On the way out the head was signed: the trail ends at a checkpoint.
    let head = query_i64(&dir, "SELECT MAX(seq) FROM audit_log").await;
    let signed = query_i64(&dir, "SELECT MAX(seq) FROM audit_checkpoints").await;
    assert_eq!(signed, head);
    dir.run(&["audit", "verify"])
        .assert_success("audit verify after SIGTERM");
}
