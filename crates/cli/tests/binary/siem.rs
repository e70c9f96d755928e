//! `serve` with `[siem]`: a failed sign-in reaches a real rsyslog over TLS and the JSON
//! lines file, and a configuration without a destination is refused.

use std::time::{Duration, Instant};

use palisade_testkit::rsyslog::Rsyslog;

use super::common::TestDir;

#[tokio::test]
async fn a_failed_sign_in_reaches_the_collector_and_the_file() {
    let collector = Rsyslog::start().await.unwrap();
    let dir = TestDir::new("siem");
    let jsonl = dir.root.join("audit.jsonl");
    let dir = dir.with_config(&format!(
        "[siem]\nactions = [\"auth.\"]\nsyslog = \"127.0.0.1:{}\"\nsyslog_server_name = \"localhost\"\n\
         syslog_ca_file = \"{}\"\njsonl = \"{}\"\n",
        collector.port,
        collector.ca_file.display(),
        jsonl.display()
    ));
    dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    let r = server
        .post_json(
            "/api/v1/sessions",
            &serde_json::json!({"email": "ada@example.com", "password": "not her password at all"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    let deadline = Instant::now() + Duration::from_secs(30);
    let failed = |line: &String| line.contains("auth.sign_in") && line.contains("failure");
    loop {
        let in_file = std::fs::read_to_string(&jsonl).unwrap_or_default();
        if collector.received().iter().any(failed) && in_file.lines().map(str::to_owned).any(|l| failed(&l)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not exported within 30 s\n--- syslog\n{:?}\n--- file\n{in_file}\n--- stderr\n{}",
            collector.received(),
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let in_file = std::fs::read_to_string(&jsonl).unwrap();
    assert!(
        in_file.lines().all(|l| l.contains("\"action\":\"auth.")),
        "only the configured actions: {in_file}"
    );
    assert!(
        collector
            .received()
            .iter()
            .all(|l| l.contains(" localhost palisade ")),
        "the public origin's host names the sender: {:?}",
        collector.received()
    );
    assert!(server.terminate(Duration::from_secs(20)).success());
}

#[test]
fn siem_settings_without_a_destination_are_refused() {
    let dir = TestDir::new("siem-config").with_config("[siem]\nactions = [\"auth.\"]\n");
    let refused = dir.run(&["audit", "verify"]);
    assert!(
        refused
            .assert_failure("[siem] without a destination")
            .contains("needs a destination"),
        "{}",
        refused.stderr
    );
}
