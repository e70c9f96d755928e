//! Audit-trail tampering on SQLite, detected by `palisade audit verify`: an edited,
//! deleted, reordered or forged entry is named, entries removed after a checkpoint are
//! found, and newest entries removed together with the checkpoint that covered them are
//! found by comparing with the head an earlier run printed (`--expect`).

use super::common::{TestDir, exec_sql, query_i64};

/// A data directory with some history (two administrators created) and a signed
/// checkpoint at the head. Returns it with the number of entries.
async fn audited_dir(label: &str) -> (TestDir, i64) {
    let dir = TestDir::new(label);
    dir.create_admin("ada@example.com", "Ada");
    dir.create_admin("grace@example.com", "Grace");
    let out = dir.run(&["audit", "checkpoint"]);
    out.assert_success("audit checkpoint");
    let entries = query_i64(&dir, "SELECT MAX(seq) FROM audit_log").await;
    assert_eq!(query_i64(&dir, "SELECT COUNT(*) FROM audit_log").await, entries);
    assert!(entries >= 5, "expected at least 5 audit entries, got {entries}");
    assert!(
        out.stdout
            .contains(&format!("signed a checkpoint at entry {entries}")),
        "audit checkpoint printed {:?}",
        out.stdout
    );
    (dir, entries)
}

/// Runs `audit verify`, which must fail; returns its stderr.
fn verify_fails(dir: &TestDir) -> String {
    dir.run(&["audit", "verify"])
        .assert_failure("audit verify")
        .to_owned()
}

fn assert_names(stderr: &str, expected: &str) {
    assert!(
        stderr.contains(expected),
        "audit verify should report {expected:?}, stderr was:\n{stderr}"
    );
}

#[tokio::test]
async fn audit_verify_accepts_an_untouched_trail() {
    let (dir, entries) = audited_dir("audit-ok").await;
    let out = dir.run(&["audit", "verify"]);
    out.assert_success("audit verify");
    assert!(
        out.stdout.contains(&format!(
            "audit trail intact: {entries} entries, 1 signed checkpoints"
        )),
        "audit verify printed {:?}",
        out.stdout
    );
}

#[tokio::test]
async fn audit_verify_names_an_edited_entry() {
    for (column, value) in [("outcome", "failure"), ("actor", "usr_someone_else")] {
        let (dir, _) = audited_dir("audit-edit").await;
        exec_sql(
            &dir,
            &[format!("UPDATE audit_log SET {column} = '{value}' WHERE seq = 3")],
        )
        .await;
        let stderr = verify_fails(&dir);
        assert_names(
            &stderr,
            "entry 3: content does not match its hash (the entry was changed)",
        );
    }
}

#[tokio::test]
async fn audit_verify_names_the_gap_left_by_a_deleted_entry() {
    let (dir, _) = audited_dir("audit-delete").await;
    exec_sql(&dir, &["DELETE FROM audit_log WHERE seq = 3".to_owned()]).await;
    let stderr = verify_fails(&dir);
    assert_names(
        &stderr,
        "entry 4: expected sequence number 3 (an entry was removed",
    );
}

#[tokio::test]
async fn audit_verify_detects_reordered_entries() {
    let (dir, _) = audited_dir("audit-reorder").await;
    exec_sql(
        &dir,
        &[
            "UPDATE audit_log SET seq = -1 WHERE seq = 2".to_owned(),
            "UPDATE audit_log SET seq = 2 WHERE seq = 3".to_owned(),
            "UPDATE audit_log SET seq = 3 WHERE seq = -1".to_owned(),
        ],
    )
    .await;
    let stderr = verify_fails(&dir);
    assert_names(&stderr, "entry 2: does not link to the previous entry");
}

#[tokio::test]
async fn audit_verify_detects_a_forged_appended_entry() {
    const COLUMNS: &str = "at, actor, action, object, outcome, ip, user_agent, session_id, detail";
    // A verbatim copy of entry 2 appended at the end: it links to entry 1, not the head.
    let (dir, entries) = audited_dir("audit-forge").await;
    let next = entries + 1;
    exec_sql(
        &dir,
        &[format!(
            "INSERT INTO audit_log (seq, {COLUMNS}, prev_hash, hash) \
             SELECT {next}, {COLUMNS}, prev_hash, hash FROM audit_log WHERE seq = 2"
        )],
    )
    .await;
    let stderr = verify_fails(&dir);
    assert_names(
        &stderr,
        &format!("entry {next}: does not link to the previous entry"),
    );

    // The same copy relinked to the head, its hash left as it was.
    let (dir, entries) = audited_dir("audit-forge-linked").await;
    let next = entries + 1;
    exec_sql(
        &dir,
        &[format!(
            "INSERT INTO audit_log (seq, {COLUMNS}, prev_hash, hash) \
             SELECT {next}, {COLUMNS}, (SELECT hash FROM audit_log WHERE seq = {entries}), hash \
             FROM audit_log WHERE seq = 2"
        )],
    )
    .await;
    let stderr = verify_fails(&dir);
    assert_names(
        &stderr,
        &format!("entry {next}: content does not match its hash (the entry was changed)"),
    );
}

#[tokio::test]
async fn audit_verify_detects_entries_removed_after_a_checkpoint() {
    let (dir, entries) = audited_dir("audit-truncate").await;
    let kept = entries - 2;
    exec_sql(&dir, &[format!("DELETE FROM audit_log WHERE seq > {kept}")]).await;
    let stderr = verify_fails(&dir);
    assert_names(
        &stderr,
        &format!(
            "checkpoint at entry {entries}: the trail ends at entry {kept} (entries after it were removed)"
        ),
    );
}

#[tokio::test]
async fn audit_verify_expecting_an_earlier_head_finds_a_tail_cut_with_its_checkpoint() {
    let (dir, entries) = audited_dir("audit-expect").await;
    let first = dir.run(&["audit", "verify"]);
    first.assert_success("audit verify");
    let expect = first
        .stdout
        .split("--expect ")
        .nth(1)
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_else(|| panic!("no --expect line printed:\n{}", first.stdout));
    assert!(expect.starts_with(&format!("{entries}:")), "{expect}");
    dir.run(&["audit", "verify", "--expect", &expect])
        .assert_success("audit verify expecting its own head");

    // The newest entries removed with the checkpoint that covered them, and the head
    // put back: the trail alone shows nothing.
    let kept = entries - 2;
    exec_sql(
        &dir,
        &[
            format!("DELETE FROM audit_log WHERE seq > {kept}"),
            format!("DELETE FROM audit_checkpoints WHERE seq > {kept}"),
            format!(
                "UPDATE audit_head SET seq = {kept}, hash = (SELECT hash FROM audit_log WHERE seq = {kept})"
            ),
        ],
    )
    .await;
    dir.run(&["audit", "verify"])
        .assert_success("audit verify without the earlier head (the limit of checkpoints in the database)");
    let stderr = dir
        .run(&["audit", "verify", "--expect", &expect])
        .assert_failure("audit verify expecting the earlier head")
        .to_owned();
    assert_names(
        &stderr,
        &format!("entry {entries}: missing, or not the entry recorded elsewhere"),
    );
    let malformed = dir
        .run(&["audit", "verify", "--expect", "12:not-a-hash"])
        .assert_failure("a malformed --expect")
        .to_owned();
    assert!(malformed.contains("SEQ:HASH"), "{malformed}");
}
