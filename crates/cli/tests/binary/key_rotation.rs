//! `palisade keys rotate-master` against a running desk: while the rotation runs the
//! desk keeps reading sealed tickets and creating people (new data keys); afterwards
//! the old key file is refused by every command, the new one opens everything
//! (tickets made before, during and after), the trail verifies and records the
//! rotation. A key file that is not a rotation of the current key is refused.

use std::time::{Duration, Instant};

use super::common::{TestDir, query_i64};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_key_rotates_while_the_desk_serves_and_the_old_key_is_retired() {
    let dir = TestDir::new("rotate-master").with_config("[scan]\nclamd = \"off\"\n");
    let setup = dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    let token = server.admin_token(&setup, "ada@example.com").await;
    let mut tickets = Vec::new();
    for n in 0..3 {
        let person = server
            .create_customer(&token, &format!("before-{n}@customer.test"))
            .await;
        tickets.push((
            server
                .create_ticket(&token, &person, &format!("before {n}"))
                .await,
            format!("before {n}"),
        ));
    }

    let next_key = dir.root.join("next.key");
    let mut rotation = dir
        .command(&[
            "keys",
            "rotate-master",
            "--new-key-file",
            next_key.to_str().unwrap_or_default(),
            "--settle-seconds",
            "6",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The desk keeps working throughout: reads open re-wrapped keys, and new people
    // get data keys of their own.
    let started = Instant::now();
    let mut during = 0;
    let status = loop {
        if let Some(status) = rotation.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the rotation did not finish"
        );
        server.assert_subjects(&token, &tickets).await;
        let person = server
            .create_customer(&token, &format!("during-{during}@customer.test"))
            .await;
        let subject = format!("during {during}");
        tickets.push((server.create_ticket(&token, &person, &subject).await, subject));
        during += 1;
        let ready = server
            .get(&rustls::version::TLS13, "/health/ready")
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(ready.status, 200, "ready throughout: {}", ready.text());
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let output = rotation.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        status.success() && stdout.contains("Rotation finished"),
        "{status}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        during >= 10,
        "the desk was used during the rotation ({during} rounds)"
    );
    // The running node holds the new key too: it goes on after the old one is retired.
    let person = server.create_customer(&token, "after@customer.test").await;
    tickets.push((
        server.create_ticket(&token, &person, "after").await,
        "after".into(),
    ));
    assert!(server.terminate(Duration::from_secs(30)).success());

    // The old key file is retired: nothing starts with it.
    let refused = dir.run(&["audit", "verify"]);
    let stderr = refused.assert_failure("audit verify with the retired key");
    assert!(stderr.contains("retired"), "{stderr}");

    // A key file that is not a rotation of this one is refused.
    let stranger = dir.root.join("stranger.key");
    std::fs::write(&stranger, format!("{}\n", "7".repeat(64))).unwrap_or_else(|e| panic!("{e}"));
    set_private(&stranger);
    let wrong = dir.run(&[
        "keys",
        "rotate-master",
        "--new-key-file",
        stranger.to_str().unwrap_or_default(),
    ]);
    let wrong = wrong.assert_failure("rotating to an unrelated key");
    assert!(wrong.contains("not a rotation"), "{wrong}");

    // The new key opens everything.
    std::fs::copy(&next_key, dir.master_key()).unwrap_or_else(|e| panic!("{e}"));
    let verified = dir.run(&["audit", "verify"]);
    verified.assert_success("audit verify with the new key");
    let server = dir.serve().await;
    server.assert_subjects(&token, &tickets).await;
    for action in ["keys.master_rotation_started", "keys.master_rotation_finished"] {
        assert_eq!(
            query_i64(
                &dir,
                &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")
            )
            .await,
            1,
            "{action} audited once"
        );
    }
}

fn set_private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap_or_else(|e| panic!("{e}"));
}

/// The rotating process killed outright (SIGKILL) after it has moved data keys: running
/// the command again with the same key file resumes and finishes, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_outright_resumes_with_the_same_key_file() {
    use std::io::BufRead as _;
    let dir = TestDir::new("rotate-killed").with_config("[scan]\nclamd = \"off\"\n");
    let setup = dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    let token = server.admin_token(&setup, "ada@example.com").await;
    let person = server.create_customer(&token, "killed@customer.test").await;
    let tickets = vec![(
        server.create_ticket(&token, &person, "before the crash").await,
        "before the crash".to_owned(),
    )];
    assert!(server.terminate(Duration::from_secs(30)).success());

    let next_key = dir.root.join("next.key");
    let next = next_key.to_str().unwrap_or_default().to_owned();
    let args = [
        "keys",
        "rotate-master",
        "--new-key-file",
        &next,
        "--settle-seconds",
        "6",
    ];
    let mut first = dir
        .command(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = first.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let moved = std::thread::spawn(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.starts_with("re-wrapped"))
    });
    assert!(
        moved.join().unwrap_or(false),
        "the first run reported moving data keys"
    );
    first.kill().unwrap_or_else(|e| panic!("{e}"));
    assert!(!first.wait().unwrap_or_else(|e| panic!("{e}")).success());
    assert_eq!(
        query_i64(
            &dir,
            "SELECT COUNT(*) FROM master_rotations WHERE finished_at IS NULL"
        )
        .await,
        1,
        "killed before it finished"
    );

    let resumed = dir.run(&args);
    resumed.assert_success("the rotation run again");
    assert!(
        resumed.stdout.contains("Resuming") && resumed.stdout.contains("Rotation finished"),
        "{}",
        resumed.stdout
    );
    std::fs::copy(&next_key, dir.master_key()).unwrap_or_else(|e| panic!("{e}"));
    dir.run(&["audit", "verify"])
        .assert_success("audit verify after the resumed rotation");
    let server = dir.serve().await;
    server.assert_subjects(&token, &tickets).await;
}
