//! `palisade keys rotate-root` as an operator runs it. Refused while the root's own
//! key signs the audit trail; after `keys audit-generate` is installed, the rotation
//! stops the serving desk (which exits naming the retired root), rewrites it, and the
//! desk started with the new file finds people by address and tickets by their words
//! again. The old file is refused by every command, a file with another wrapping key
//! is no root rotation, and the trail verifies with the rotation recorded.

use std::time::Duration;

use super::common::{TestDir, query_i64};

const BASE: &str = "[scan]\nclamd = \"off\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_root_stops_the_desk_rewrites_it_and_retires_the_old_file() {
    let dir = TestDir::new("rotate-root").with_config(BASE);
    let config = dir.root.join("palisade.toml");
    let setup = dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    let token = server.admin_token(&setup, "ada@example.com").await;
    let person = server.create_customer(&token, "root-before@customer.test").await;
    let ticket = server.create_ticket(&token, &person, "Quokka invoice").await;
    assert!(server.terminate(Duration::from_secs(30)).success());
    let next_key = dir.root.join("next.key");
    let next_key_arg = next_key.to_str().unwrap_or_default().to_owned();
    let rotate = [
        "keys",
        "rotate-root",
        "--new-key-file",
        &next_key_arg,
        "--settle-seconds",
        "16",
        "--revoke-recovery-codes",
    ];

    let nothing = dir.run(&["keys", "rotate-root", "--abort"]);
    nothing.assert_success("abort with nothing under way");
    assert!(nothing.stdout.contains("No root rotation"), "{}", nothing.stdout);
    dir.run(&["keys", "rotate-root", "--abort", "--revoke-recovery-codes"])
        .assert_failure("--abort with an option it would ignore");

    // The root's own key signed the checkpoints so far: refused, with the way out.
    let refused = dir.run(&rotate);
    let refused = refused.assert_failure("rotate-root while the root signs the trail");
    assert!(refused.contains("audit-generate"), "{refused}");
    std::fs::remove_file(&next_key).unwrap_or_else(|e| panic!("{e}"));

    let audit_key = dir.root.join("audit-signing.key");
    let printed = dir.generate_audit_key(&audit_key);
    std::fs::write(&config, format!("{BASE}[audit]{printed}\n")).unwrap_or_else(|e| panic!("{e}"));

    // The desk serves (and hands checkpoint signing over) while the rotation starts.
    let mut server = dir.serve().await;
    let output = dir.run(&rotate);
    output.assert_success("keys rotate-root");
    assert!(
        output.stdout.contains("Root rotation finished"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("keys rotate-master"),
        "the next step is named: {}",
        output.stdout
    );
    assert_eq!(
        query_i64(&dir, "SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL").await,
        0,
        "the administrator's unused recovery codes were revoked"
    );
    let status = server.exited(Duration::from_secs(30)).await;
    assert!(!status.success(), "the serving node stops with an error");
    assert!(server.log().contains("root was retired"), "{}", server.log());

    // The old file is refused by every command; so is a file that is no root rotation.
    let stale = dir.run(&["audit", "verify"]);
    let stale = stale.assert_failure("audit verify with the old file");
    assert!(stale.contains("retired"), "{stale}");
    let stranger = dir.root.join("stranger.key");
    std::fs::write(&stranger, format!("{}\n", "7".repeat(64))).unwrap_or_else(|e| panic!("{e}"));
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&stranger, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let wrong = dir.run(&[
        "keys",
        "rotate-root",
        "--new-key-file",
        stranger.to_str().unwrap_or_default(),
    ]);
    let wrong = wrong.assert_failure("a root rotation to an unrelated key");
    assert!(wrong.contains("not a new root"), "{wrong}");

    // The new file serves everything, found by address and by words.
    std::fs::copy(&next_key, dir.master_key()).unwrap_or_else(|e| panic!("{e}"));
    dir.run(&["audit", "verify"])
        .assert_success("audit verify with the new file");
    let mut server = dir.serve().await;
    server
        .assert_subjects(&token, &[(ticket.clone(), "Quokka invoice".into())])
        .await;
    let people = server
        .api(
            "GET",
            "/api/v1/customers/search?q=root-before@customer.test",
            Some(&token),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(people.status, 200, "{}", people.text());
    assert_eq!(
        people.json()["items"][0]["id"].as_str(),
        Some(person.as_str()),
        "{}",
        people.text()
    );
    // Words reach the index through the merge the node runs: wait for it (bounded).
    let mut found = serde_json::Value::Null;
    for _ in 0..50 {
        let r = server
            .api("GET", "/api/v1/tickets/search?q=quokka", Some(&token), None)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.status, 200, "{}", r.text());
        found = r.json();
        if found["items"][0]["id"].as_str() == Some(ticket.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(found["items"][0]["id"].as_str(), Some(ticket.as_str()), "{found}");
    let person_after = server.create_customer(&token, "root-after@customer.test").await;
    assert!(!person_after.is_empty());
    assert!(server.terminate(Duration::from_secs(30)).success());
    dir.run(&["audit", "verify"])
        .assert_success("audit verify after serving");
    for action in ["keys.root_rotation_started", "keys.root_rotation_finished"] {
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
        assert_eq!(query_i64(&dir, &sql).await, 1, "{action} audited once");
    }
}
