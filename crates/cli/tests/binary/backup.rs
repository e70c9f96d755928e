//! `backup keygen`, `backup create`, `backup verify` and `restore` through the real
//! binary on SQLite; the backup crate's drill covers PostgreSQL and the tampering.

use std::os::unix::fs::PermissionsExt as _;

use super::common::{TestDir, query_i64};
use super::mode;

#[tokio::test]
async fn a_backup_made_by_the_binary_verifies_and_restores_only_into_an_empty_place() {
    let dir = TestDir::new("backup");
    dir.create_admin("ada@example.com", "Ada");
    let identity = dir.root.join("identity.txt");
    let identity_arg = identity.display().to_string();
    let keygen = dir.run(&["backup", "keygen", "--out", &identity_arg]);
    keygen.assert_success("backup keygen");
    assert_eq!(mode(&identity), 0o600);
    let recipient = keygen
        .stdout
        .split('"')
        .find(|part| part.starts_with("age1pq1"))
        .unwrap_or_else(|| panic!("no post-quantum recipient printed: {}", keygen.stdout))
        .to_owned();
    let secret = std::fs::read_to_string(&identity).unwrap();
    dir.run(&["backup", "keygen", "--out", &identity_arg])
        .assert_failure("backup keygen over an existing identity");
    assert_eq!(
        std::fs::read_to_string(&identity).unwrap(),
        secret,
        "never overwritten"
    );

    let backups = dir.root.join("backups");
    let backups_arg = backups.display().to_string();
    // No recipient configured or given: nothing is written.
    let refused = dir.run(&["backup", "create", "--to", &backups_arg]);
    assert!(
        refused
            .assert_failure("backup create without a recipient")
            .contains("no backup recipient"),
        "{}",
        refused.stderr
    );
    let created = dir.run(&[
        "backup",
        "create",
        "--to",
        &backups_arg,
        "--recipient",
        &recipient,
    ]);
    created.assert_success("backup create");
    assert!(created.stdout.contains("backup written:"), "{}", created.stdout);
    let archives: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(archives.len(), 1, "one archive and nothing else: {archives:?}");
    let archive = archives[0].display().to_string();
    assert!(archive.ends_with(".backup.age"), "{archive}");
    assert_eq!(mode(&archives[0]), 0o600);

    let verified = dir.run(&["backup", "verify", &archive, "--identity", &identity_arg]);
    verified.assert_success("backup verify");
    assert!(verified.stdout.contains("backup verified"), "{}", verified.stdout);
    assert!(
        verified.stdout.contains("audit trail intact"),
        "{}",
        verified.stdout
    );

    // An identity file other users can read is refused.
    let shared = dir.root.join("shared-identity.txt");
    std::fs::write(&shared, &secret).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o644)).unwrap();
    let exposed = dir.run(&[
        "backup",
        "verify",
        &archive,
        "--identity",
        &shared.display().to_string(),
    ]);
    assert!(
        exposed
            .assert_failure("verify with an exposed identity")
            .contains("readable by other users"),
        "{}",
        exposed.stderr
    );

    // Never over the desk it came from.
    let over = dir.run(&["restore", &archive, "--identity", &identity_arg]);
    assert!(
        over.assert_failure("restore over a database")
            .contains("already holds a database"),
        "{}",
        over.stderr
    );

    // Elsewhere, with the same master key: restored, verified, and the trail intact.
    let elsewhere = TestDir::new("restored");
    elsewhere.install_master_key(std::fs::read_to_string(dir.master_key()).unwrap().trim());
    let restored = elsewhere.run(&["restore", &archive, "--identity", &identity_arg]);
    restored.assert_success("restore");
    assert!(
        restored.stdout.contains("backup restored and verified"),
        "{}",
        restored.stdout
    );
    elsewhere
        .run(&["audit", "verify"])
        .assert_success("audit verify on the restored desk");
    // The restored trail says so, as its next entry, under a signed checkpoint.
    let restored_at = query_i64(
        &elsewhere,
        "SELECT seq FROM audit_log WHERE action = 'operations.backup_restored'",
    )
    .await;
    assert_eq!(
        restored_at,
        query_i64(&elsewhere, "SELECT MAX(seq) FROM audit_log").await
    );
    assert_eq!(
        query_i64(&elsewhere, "SELECT MAX(seq) FROM audit_checkpoints").await,
        restored_at
    );

    // With another master key, the backup is not this desk's: refused.
    let stranger = TestDir::new("stranger");
    stranger.install_master_key(&"ab".repeat(32));
    let foreign = stranger.run(&["restore", &archive, "--identity", &identity_arg]);
    assert!(
        foreign
            .assert_failure("restore with another master key")
            .contains("signature"),
        "{}",
        foreign.stderr
    );
    assert!(
        !stranger.db_path().exists(),
        "nothing is left where the restore was refused"
    );
}
