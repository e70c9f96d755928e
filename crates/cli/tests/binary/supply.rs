//! `version --sbom` lists the crates compiled in as CycloneDX; `advisories check`
//! passes on the real advisory database (the reviewed acceptance listed apart), fails
//! naming the crate when an advisory applies, records its result and raises an alert;
//! `serve` with `[advisories] database` does the same at start.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::common::{TestDir, query_i64};

fn shared_advisory_db() -> PathBuf {
    let db = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/advisory-db");
    assert!(
        db.join("crates").is_dir(),
        "the advisory database CI uses is missing at {}",
        db.display()
    );
    db
}

/// An advisory database with one advisory that no tokio release fixes yet.
#[allow(clippy::unwrap_used)] // test helper: a panic is the failure report
fn poisoned_db(root: &Path) -> PathBuf {
    let db = root.join("advisory-db");
    let dir = db.join("crates/tokio");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("RUSTSEC-2099-0001.md"),
        "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"tokio\"\ndate = \"2099-01-01\"\n\n[versions]\npatched = [\">= 999.0.0\"]\n```\n\n# A drill advisory\n",
    )
    .unwrap();
    db
}

#[test]
fn version_lists_the_compiled_in_crates_as_cyclonedx() {
    let dir = TestDir::new("version");
    let plain = dir.run(&["version"]);
    plain.assert_success("version");
    assert!(plain.stdout.starts_with("palisade "), "{}", plain.stdout);
    let sbom = dir.run(&["version", "--sbom"]);
    sbom.assert_success("version --sbom");
    let document: serde_json::Value = serde_json::from_str(&sbom.stdout).unwrap();
    assert_eq!(document["bomFormat"], "CycloneDX");
    assert_eq!(document["metadata"]["component"]["name"], "palisade");
    let components = document["components"].as_array().unwrap();
    let tokio = components.iter().find(|c| c["name"] == "tokio").unwrap();
    assert!(tokio["purl"].as_str().unwrap().starts_with("pkg:cargo/tokio@"));
    assert!(
        !components.iter().any(|c| c["name"] == "palisade-testkit"),
        "test-only crates are not in the binary"
    );
    assert!(!dir.data_dir().exists(), "no configuration or database needed");
}

#[test]
fn the_check_passes_on_the_real_database_and_fails_naming_an_affected_crate() {
    let dir = TestDir::new("advisories");
    let real = shared_advisory_db();
    let clean = dir.run(&[
        "advisories",
        "check",
        "--db",
        &real.display().to_string(),
        "--no-record",
    ]);
    clean.assert_success("advisories check on the real database");
    assert!(clean.stdout.contains("0 vulnerable"), "{}", clean.stdout);
    assert!(
        clean.stdout.contains("accepted (see SECURITY.md): rsa"),
        "the reviewed acceptance is still shown: {}",
        clean.stdout
    );

    let poisoned = poisoned_db(&dir.root);
    let failed = dir.run(&[
        "advisories",
        "check",
        "--db",
        &poisoned.display().to_string(),
        "--no-record",
    ]);
    let stderr = failed.assert_failure("advisories check with an affected crate");
    assert!(stderr.contains("1 vulnerable"), "{stderr}");
    assert!(
        failed.stdout.contains("VULNERABLE: tokio") && failed.stdout.contains("RUSTSEC-2099-0001"),
        "{}",
        failed.stdout
    );

    let nowhere = dir.run(&[
        "advisories",
        "check",
        "--db",
        "/nonexistent/advisory-db",
        "--no-record",
    ]);
    assert!(
        nowhere
            .assert_failure("a missing database")
            .contains("not a RustSec advisory database"),
        "{}",
        nowhere.stderr
    );
}

#[tokio::test]
async fn a_recorded_vulnerable_check_raises_an_alert_once_and_serve_checks_at_start() {
    let dir = TestDir::new("advisories-recorded");
    let poisoned = poisoned_db(&dir.root);
    let dir = dir.with_config(&format!("[advisories]\ndatabase = \"{}\"\n", poisoned.display()));
    dir.create_admin("ada@example.com", "Ada");
    let db_arg = poisoned.display().to_string();
    dir.run(&["advisories", "check", "--db", &db_arg])
        .assert_failure("a recorded vulnerable check");
    assert_eq!(query_i64(&dir, "SELECT COUNT(*) FROM advisory_checks").await, 1);
    assert_eq!(query_i64(&dir, "SELECT vulnerable FROM advisory_checks").await, 1);
    let alerts = "SELECT COUNT(*) FROM security_alerts WHERE kind = 'vulnerable_dependency'";
    assert_eq!(query_i64(&dir, alerts).await, 1);

    // serve checks at start: a second record, but the same advisories raise no second alert.
    let mut server = dir.serve().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while query_i64(
        &dir,
        "SELECT COUNT(*) FROM advisory_checks WHERE checked_by = 'serve'",
    )
    .await
        == 0
    {
        assert!(Instant::now() < deadline, "serve did not check\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        query_i64(&dir, alerts).await,
        1,
        "one alert per set of advisories"
    );
    assert_eq!(
        query_i64(
            &dir,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'operations.advisories_checked' AND outcome = 'failure'"
        )
        .await,
        2
    );
    assert!(server.terminate(Duration::from_secs(20)).success());
}
