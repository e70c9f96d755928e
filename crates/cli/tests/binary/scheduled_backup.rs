//! `serve` with `[backup] directory`: a backup is taken at once (none was made
//! before), checked with the server's own verification identity, audited, and the
//! operator's identity opens it; retention removes an old backup but never a file it
//! cannot prove is one. A schedule that cannot write raises a security alert while the
//! desk keeps serving.

use std::time::{Duration, Instant};

use rustls::version::TLS13;

use super::common::{TestDir, query_i64};
use super::mode;

/// Waits (bounded) until `sql` counts at least one row.
async fn eventually(dir: &TestDir, sql: &str, server: &super::common::Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while query_i64(dir, sql).await == 0 {
        assert!(
            Instant::now() < deadline,
            "nothing matched {sql} within a minute\n--- stderr\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn operator_identity(dir: &TestDir) -> (String, String) {
    let identity = dir.root.join("operator-identity.txt");
    let identity_arg = identity.display().to_string();
    let keygen = dir.run(&["backup", "keygen", "--out", &identity_arg]);
    keygen.assert_success("backup keygen");
    let recipient = keygen
        .stdout
        .split('"')
        .find(|part| part.starts_with("age1pq1"))
        .unwrap_or_else(|| panic!("no recipient printed: {}", keygen.stdout))
        .to_owned();
    (identity_arg, recipient)
}

#[tokio::test]
async fn serve_takes_verifies_audits_and_prunes_scheduled_backups() {
    let dir = TestDir::new("scheduled-backup");
    let (identity, recipient) = operator_identity(&dir);
    let backups = dir.root.join("scheduled");
    std::fs::create_dir_all(&backups).unwrap();
    let old = backups.join("palisade-20200101T000000.000Z.backup.age");
    std::fs::write(&old, b"an old backup").unwrap();
    let notes = backups.join("palisade-notes.txt");
    std::fs::write(&notes, b"the operator's own file").unwrap();
    let dir = dir.with_config(&format!(
        "[backup]\nrecipients = [\"{recipient}\"]\ndirectory = \"{}\"\nkeep = 1\nkeep_days = 1\n",
        backups.display()
    ));
    dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    eventually(
        &dir,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'operations.backup_created'",
        &server,
    )
    .await;
    let health = server.get(&TLS13, "/health").await.unwrap();
    assert_eq!(health.status, 200);
    assert!(server.terminate(Duration::from_secs(20)).success());

    let archives: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".backup.age"))
        .collect();
    assert_eq!(
        archives.len(),
        1,
        "the old one pruned, the new one kept: {archives:?}"
    );
    assert!(!old.exists(), "older than a day and not the newest: pruned");
    assert!(notes.exists(), "a file retention cannot prove is a backup stays");
    // The backup directory (the backup host's, often) only ever held ciphertext: the
    // unencrypted copy and the check's scratch copy were made in the data directory.
    let mut names: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        2,
        "the archive and the operator's notes only: {names:?}"
    );
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    assert_eq!(mode(&archives[0]), 0o600);
    let verify_identity = dir.data_dir().join("backup-verify.age");
    assert_eq!(
        mode(&verify_identity),
        0o600,
        "the server's own identity is private"
    );

    // The operator's identity, kept off the server, opens what the schedule wrote.
    let verified = dir.run(&[
        "backup",
        "verify",
        &archives[0].display().to_string(),
        "--identity",
        &identity,
    ]);
    verified.assert_success("backup verify with the operator's identity");
    assert!(
        verified.stdout.contains("audit trail intact"),
        "{}",
        verified.stdout
    );
    dir.run(&["audit", "verify"]).assert_success("audit verify");
}

#[tokio::test]
async fn a_schedule_that_cannot_write_raises_an_alert_and_the_desk_keeps_serving() {
    let dir = TestDir::new("scheduled-backup-fails");
    let (_, recipient) = operator_identity(&dir);
    // A path under a regular file: no directory can be made there (even by root).
    let blocker = dir.root.join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let dir = dir.with_config(&format!(
        "[backup]\nrecipients = [\"{recipient}\"]\ndirectory = \"{}\"\n",
        blocker.join("backups").display()
    ));
    dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    eventually(
        &dir,
        "SELECT COUNT(*) FROM security_alerts WHERE kind = 'backup_failed'",
        &server,
    )
    .await;
    assert_eq!(
        query_i64(
            &dir,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'security.alert_raised'"
        )
        .await,
        1
    );
    assert_eq!(
        query_i64(&dir, "SELECT COUNT(*) FROM outbox WHERE kind = 'security_alert'").await,
        1,
        "the administrator is mailed"
    );
    assert_eq!(
        query_i64(
            &dir,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'operations.backup_created'"
        )
        .await,
        0
    );
    let health = server.get(&TLS13, "/health").await.unwrap();
    assert_eq!(health.status, 200, "a failed backup does not stop the desk");
    assert!(server.terminate(Duration::from_secs(20)).success());
}

#[test]
fn schedule_settings_without_a_directory_or_recipients_are_refused() {
    let dir = TestDir::new("backup-config").with_config("[backup]\nkeep = 3\n");
    let refused = dir.run(&["audit", "verify"]);
    assert!(
        refused
            .assert_failure("keep without a directory")
            .contains("need a directory"),
        "{}",
        refused.stderr
    );
    let dir = TestDir::new("backup-config-2").with_config("[backup]\ndirectory = \"/tmp/x\"\n");
    let refused = dir.run(&["audit", "verify"]);
    assert!(
        refused
            .assert_failure("a directory without recipients")
            .contains("needs recipients"),
        "{}",
        refused.stderr
    );
}
