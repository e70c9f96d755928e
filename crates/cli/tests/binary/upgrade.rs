//! Upgrades from earlier releases (`upgrade/PREVIOUS` and `upgrade/OLDER`, built by
//! scripts/previous-release.sh): a SQLite desk each of them made migrates and keeps
//! everything; and on PostgreSQL a rolling upgrade from the previous release, where a
//! node of the new build migrates the shared database while a node of the old one keeps
//! serving, and both read and write each other's tickets until the old one is replaced.

use std::path::PathBuf;
use std::time::Duration;

use palisade_testkit::{Backend, TestDatabase};

use super::common::{TestDir, query_i64, random_hex};

fn previous_release() -> PathBuf {
    let path = std::env::var_os("PALISADE_TEST_PREVIOUS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("PALISADE_TEST_PREVIOUS_BIN is not set (scripts/test.sh builds the previous release)")
        });
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// The releases before the previous one (`upgrade/OLDER`), oldest last.
fn older_releases() -> Vec<PathBuf> {
    let paths = std::env::var("PALISADE_TEST_OLDER_BINS").unwrap_or_else(|_| {
        panic!("PALISADE_TEST_OLDER_BINS is not set (scripts/test.sh builds the older releases)")
    });
    let paths: Vec<PathBuf> = paths
        .split(':')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    for path in &paths {
        assert!(path.is_file(), "{} is missing", path.display());
    }
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_made_by_the_previous_release_migrates_and_keeps_everything() {
    let previous = previous_release();
    let dir = TestDir::new("upgrade-sqlite").with_config("[scan]\nclamd = \"off\"\n");
    // The two builds really differ: only this one rotates keys.
    dir.use_binary(Some(&previous));
    dir.run(&["keys", "--help"])
        .assert_failure("the previous release has no keys command");
    migrates_and_keeps_everything(&dir, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desks_made_by_older_releases_migrate_through_every_later_schema() {
    let older = older_releases();
    assert!(!older.is_empty(), "upgrade/OLDER names no release");
    for (n, binary) in older.iter().enumerate() {
        let dir = TestDir::new(&format!("upgrade-older-{n}")).with_config("[scan]\nclamd = \"off\"\n");
        dir.use_binary(Some(binary));
        dir.create_admin("grace@example.com", "Grace");
        let schema = query_i64(&dir, "SELECT MAX(version) FROM palisade_migrations").await;
        let newest = palisade_store::schema_version();
        assert!(
            schema < newest - 2,
            "release {} made schema {schema}: not old enough to be worth its build",
            binary.display()
        );
        migrates_and_keeps_everything(&dir, false).await;
        assert_eq!(
            query_i64(&dir, "SELECT COUNT(*) FROM palisade_migrations WHERE version > 0").await,
            newest,
            "every migration from {schema} on applied"
        );
    }
}

/// With `dir` on an earlier release: makes a desk with a customer and a ticket, then
/// switches to this build, which migrates it; the trail verifies, the old ticket reads
/// and a new one is written beside it.
/// `graceful`: the release stops on SIGTERM with success (the previous one does).
async fn migrates_and_keeps_everything(dir: &TestDir, graceful: bool) {
    let setup = dir.create_admin("ada@example.com", "Ada");
    let mut old = dir.serve().await;
    let token = old.admin_token(&setup, "ada@example.com").await;
    let requester = old.create_customer(&token, "before@customer.test").await;
    let mut tickets = vec![(
        old.create_ticket(&token, &requester, "made by the old release")
            .await,
        "made by the old release".to_owned(),
    )];
    // Releases before graceful shutdown end on SIGTERM's default action: committed
    // writes are on disk either way.
    let stopped = old.terminate(Duration::from_secs(30));
    let by_signal = std::os::unix::process::ExitStatusExt::signal(&stopped) == Some(15);
    assert!(stopped.success() || (!graceful && by_signal), "{stopped}");

    dir.use_binary(None);
    dir.run(&["audit", "verify"])
        .assert_success("audit verify after the upgrade");
    let new = dir.serve().await;
    new.assert_subjects(&token, &tickets).await;
    let later = new.create_customer(&token, "after@customer.test").await;
    tickets.push((
        new.create_ticket(&token, &later, "made by the new release").await,
        "made by the new release".to_owned(),
    ));
    new.assert_subjects(&token, &tickets).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_on_postgres_serves_from_old_and_new_nodes_side_by_side() {
    let previous = previous_release();
    let db = TestDatabase::new(Backend::Postgres)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let key = random_hex(32);
    let nodes: Vec<TestDir> = ["old", "new"]
        .iter()
        .map(|label| {
            let dir = TestDir::new(&format!("rolling-{label}"))
                .with_env("PALISADE_DATABASE_URL", &db.url)
                .with_config("[scan]\nclamd = \"off\"\n");
            dir.install_master_key(&key);
            dir
        })
        .collect();
    nodes[0].use_binary(Some(&previous));
    nodes[1].use_binary(Some(&previous));
    let setup = nodes[0].create_admin("ada@example.com", "Ada");
    let mut a = nodes[0].serve().await;
    let mut b = nodes[1].serve().await;
    let token = a.admin_token(&setup, "ada@example.com").await;
    let requester = a.create_customer(&token, "rolling@customer.test").await;
    let mut tickets = vec![(
        b.create_ticket(&token, &requester, "both old").await,
        "both old".to_owned(),
    )];

    // Node B is replaced by the new build: it migrates the database under node A.
    assert!(b.terminate(Duration::from_secs(30)).success());
    nodes[1].use_binary(None);
    let b = nodes[1].serve().await;
    for (writer, reader, subject) in [
        (&a, &b, "old writes, new reads"),
        (&b, &a, "new writes, old reads"),
    ] {
        let person = writer
            .create_customer(&token, &format!("{}@customer.test", random_hex(4)))
            .await;
        tickets.push((
            writer.create_ticket(&token, &person, subject).await,
            subject.to_owned(),
        ));
        reader.assert_subjects(&token, &tickets).await;
    }
    let ready = a
        .get(&rustls::version::TLS13, "/health/ready")
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        ready.status,
        200,
        "the old node stays ready on the newer schema: {}",
        ready.text()
    );

    // Then node A.
    let old_log = a.log();
    assert!(
        !old_log.contains(" ERROR "),
        "the old node logged errors beside the new schema:\n{old_log}"
    );
    assert!(a.terminate(Duration::from_secs(30)).success());
    nodes[0].use_binary(None);
    let a = nodes[0].serve().await;
    a.assert_subjects(&token, &tickets).await;
    b.assert_subjects(&token, &tickets).await;
    nodes[0]
        .run(&["audit", "verify"])
        .assert_success("audit verify after the rolling upgrade");
    for node in [&a, &b] {
        assert!(
            !node.log().contains(" ERROR "),
            "no errors during the upgrade:\n{}",
            node.log()
        );
    }
}
