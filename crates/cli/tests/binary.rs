//! End-to-end tests of the real `palisade` binary: first start with no configuration,
//! TLS, the one-time setup link, sign-in, audit-trail tampering detected by
//! `audit verify`, and the start-up refusals (unknown environment variables, wrong or
//! exposed master key), and backups made, verified and restored. Every test has its own temp data directory, talks to 127.0.0.1
//! only, bounds every wait and kills every process it starts.

#[path = "binary/audit_key.rs"]
mod audit_key;
#[path = "binary/audit_trail.rs"]
mod audit_trail;
#[path = "binary/backup.rs"]
mod backup;
mod common;
#[path = "binary/durability.rs"]
mod durability;
#[path = "binary/failover.rs"]
mod failover;
#[path = "binary/hsm.rs"]
mod hsm;
#[path = "binary/key_rotation.rs"]
mod key_rotation;
#[path = "binary/metrics.rs"]
mod metrics;
#[path = "binary/root_rotation.rs"]
mod root_rotation;
#[path = "binary/scheduled_backup.rs"]
mod scheduled_backup;
#[path = "binary/shutdown.rs"]
mod shutdown;
#[path = "binary/siem.rs"]
mod siem;
#[path = "binary/supply.rs"]
mod supply;
#[path = "binary/tls_reload.rs"]
mod tls_reload;
#[path = "binary/upgrade.rs"]
mod upgrade;

use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::time::{Duration, Instant};

use common::{PASSWORD, TestDir, exec_sql, free_port, now_millis, query_i64, random_hex};
use rustls::ProtocolVersion;
use rustls::version::{TLS12, TLS13};
use serde_json::json;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn serve_starts_with_no_configuration_and_speaks_tls12_and_tls13() {
    let dir = TestDir::new("tls");
    assert!(!dir.data_dir().exists());
    dir.create_admin("ada@example.com", "Ada");

    // The data directory, master key and database were created with private modes.
    assert_eq!(mode(&dir.data_dir()), 0o700, "data directory mode");
    assert!(dir.master_key().is_file(), "master.key was not created");
    assert_eq!(mode(&dir.master_key()), 0o600, "master.key mode");
    assert!(dir.db_path().is_file(), "palisade.db was not created");

    let server = dir.serve().await;
    assert!(server.cert.is_file(), "tls/cert.pem was not generated");
    let key_pem = dir.data_dir().join("tls").join("key.pem");
    assert_eq!(mode(&key_pem), 0o600, "tls/key.pem mode");

    let request = b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    for (version, expected) in [
        (&TLS13, ProtocolVersion::TLSv1_3),
        (&TLS12, ProtocolVersion::TLSv1_2),
    ] {
        let response = server
            .raw(version, request)
            .await
            .unwrap_or_else(|e| panic!("{expected:?}: {e:#}\n--- server log\n{}", server.log()));
        assert_eq!(response.status, 200, "{expected:?}: {}", response.text());
        assert_eq!(response.protocol, Some(expected));
        assert_eq!(response.text().trim(), "ok");
        let hsts = response
            .header("strict-transport-security")
            .unwrap_or_else(|| panic!("{expected:?}: no HSTS header in {:?}", response.headers));
        assert!(hsts.contains("max-age="), "HSTS header {hsts:?}");
        assert!(
            response.header("content-security-policy").is_some(),
            "{expected:?}: no CSP header in {:?}",
            response.headers
        );
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert!(
            response
                .header("cache-control")
                .is_some_and(|v| v.contains("no-store")),
            "{expected:?}: cache-control {:?}",
            response.header("cache-control")
        );
    }
}

/// A flood of new connections: the node handshakes them at its configured rate, holds
/// at most 512 in line and closes the rest before any TLS work, while a connection
/// opened before the flood is still answered at once.
#[tokio::test]
async fn a_connection_flood_waits_in_line_or_is_closed_while_open_connections_are_served() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    const FLOOD: usize = 700;
    const IN_LINE: usize = 512;
    let dir = TestDir::new("handshakes").with_config("[limits]\ntls_handshakes_per_second = 10\n");
    let server = dir.serve().await;
    let config = common::client_config(&server.cert, &TLS13).unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let mut open = tokio_rustls::TlsConnector::from(config)
        .connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();

    // The attack: connections that never say anything, far more than the line holds.
    let flood_began = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        flood.push(
            tokio::net::TcpStream::connect(("127.0.0.1", server.port))
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut closed = 0;
    for stream in &mut flood {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(2), stream.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    // What the line could not hold was closed; what it holds waits (admitted ones wait
    // for a hello they never get): at most 10 a second were admitted, plus the burst.
    let admitted_at_most = 10 + 10 * (flood_began.elapsed().as_secs() as usize + 1);
    assert!(
        (FLOOD - IN_LINE - admitted_at_most..=FLOOD - IN_LINE).contains(&closed),
        "{closed} of {FLOOD} closed\n--- server log\n{}",
        server.log()
    );

    let started = Instant::now();
    open.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), open.read_to_end(&mut buf)).await;
    let response = common::parse_response(&buf).unwrap();
    assert_eq!(response.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the open connection waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn setup_link_works_once_then_sign_in_succeeds() {
    let dir = TestDir::new("setup");
    let token = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let link = format!("/setup/{token}");
    let form = format!("password={PASSWORD}");
    let form_type = "application/x-www-form-urlencoded";

    let page = server.get(&TLS13, &link).await.unwrap();
    assert_eq!(page.status, 200, "fresh link: {}", page.text());

    let set = server.post(&link, form_type, &form).await.unwrap();
    assert_eq!(set.status, 200, "first use: {}", set.text());
    assert!(set.text().contains("Password saved"), "first use: {}", set.text());

    let again = server
        .post(&link, form_type, "password=another-long-password-9")
        .await
        .unwrap();
    assert_eq!(again.status, 404, "second use: {}", again.text());
    let page = server.get(&TLS13, &link).await.unwrap();
    assert_eq!(page.status, 404, "used link: {}", page.text());

    let signed_in = server
        .post_json(
            "/api/v1/sessions",
            &json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(signed_in.status, 201, "sign-in: {}", signed_in.text());
    let body = signed_in.json();
    let session = body["token"].as_str().unwrap_or_default();
    assert!(session.len() >= 32, "session token {session:?} in {body}");
    let cookie = signed_in.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "session cookie {cookie:?}"
    );

    // The password chosen by the second (refused) use of the link does not work.
    let wrong = server
        .post_json(
            "/api/v1/sessions",
            &json!({"email": "ada@example.com", "password": "another-long-password-9"}),
        )
        .await
        .unwrap();
    let unknown = server
        .post_json(
            "/api/v1/sessions",
            &json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(wrong.status, 401, "wrong password: {}", wrong.text());
    assert_eq!(unknown.status, 401, "unknown email: {}", unknown.text());
    let (mut wrong, mut unknown) = (wrong.json(), unknown.json());
    assert!(wrong.get("detail").is_some(), "no detail in {wrong}");
    assert_eq!(wrong["detail"], unknown["detail"]);
    // Apart from the per-request correlation id, the two answers are identical.
    for body in [&mut wrong, &mut unknown] {
        if let Some(object) = body.as_object_mut() {
            object.remove("correlation_id");
        }
    }
    assert_eq!(
        wrong, unknown,
        "a wrong password and an unknown email must look alike"
    );
}

#[tokio::test]
async fn expired_setup_link_is_refused() {
    let dir = TestDir::new("expired");
    let token = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let link = format!("/setup/{token}");

    let page = server.get(&TLS13, &link).await.unwrap();
    assert_eq!(page.status, 200, "fresh link: {}", page.text());

    // Expire it behind the running server's back.
    let past = now_millis() - 60_000;
    exec_sql(
        &dir,
        &[format!(
            "UPDATE setup_tokens SET expires_at = {past}, created_at = {}",
            past - 1_800_000
        )],
    )
    .await;
    assert_eq!(
        query_i64(&dir, "SELECT COUNT(*) FROM setup_tokens WHERE used_at IS NULL").await,
        1
    );

    let page = server.get(&TLS13, &link).await.unwrap();
    assert_eq!(page.status, 404, "expired link GET: {}", page.text());
    let set = server
        .post(
            &link,
            "application/x-www-form-urlencoded",
            &format!("password={PASSWORD}"),
        )
        .await
        .unwrap();
    assert_eq!(set.status, 404, "expired link POST: {}", set.text());

    let signed_in = server
        .post_json(
            "/api/v1/sessions",
            &json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(
        signed_in.status, 401,
        "the expired link must not have set a password"
    );
}

// --- start-up refusals -----------------------------------------------------------

#[test]
fn unknown_environment_variable_is_refused() {
    let dir = TestDir::new("env");
    let mut cmd = dir.command(&["serve", "--listen", &format!("127.0.0.1:{}", free_port())]);
    cmd.env("PALISADE_LISTN", "1");
    let started = Instant::now();
    let out = dir.run_command(cmd, "serve (with PALISADE_LISTN)");
    let elapsed = started.elapsed();
    let stderr = out.assert_failure("serve with PALISADE_LISTN set");
    assert!(
        stderr.contains("unknown environment variables") && stderr.contains("PALISADE_LISTN"),
        "stderr: {stderr}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?} to refuse");
    assert!(
        !dir.data_dir().exists(),
        "nothing should be created before the configuration is accepted"
    );
}

#[test]
fn wrong_master_key_is_refused() {
    let dir = TestDir::new("wrongkey");
    dir.create_admin("ada@example.com", "Ada");
    let key_path = dir.master_key();
    std::fs::remove_file(&key_path).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .unwrap();
    std::io::Write::write_all(&mut file, format!("{}\n", random_hex(32)).as_bytes()).unwrap();
    drop(file);
    assert_eq!(mode(&key_path), 0o600);

    // Bounded: if the server started anyway, the run times out and the test fails.
    let listen = format!("127.0.0.1:{}", free_port());
    let out = dir.run(&["serve", "--listen", &listen]);
    let stderr = out.assert_failure("serve with another master key");
    assert!(
        stderr.contains("master key does not open this database"),
        "stderr: {stderr}"
    );
    assert!(
        !dir.cert_path().exists(),
        "serve should refuse before generating a certificate"
    );
}

#[test]
fn master_key_readable_by_others_is_refused() {
    let dir = TestDir::new("keymode");
    dir.create_admin("ada@example.com", "Ada");
    std::fs::set_permissions(dir.master_key(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dir.run(&["audit", "verify"]);
    let stderr = out.assert_failure("audit verify with master.key mode 0644");
    assert!(
        stderr.contains("readable by other users") && stderr.contains("chmod 600"),
        "stderr: {stderr}"
    );
}

#[test]
fn audit_verify_on_a_missing_database_fails_instead_of_reporting_an_empty_trail() {
    let dir = TestDir::new("nodb");
    dir.create_admin("ada@example.com", "Ada");
    std::fs::remove_file(dir.db_path()).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", dir.db_path().display()));
    }
    let out = dir.run(&["audit", "verify"]);
    out.assert_failure("audit verify without a database");
    assert!(!dir.db_path().exists(), "verify must not create a database");
}

#[test]
fn dkim_generate_writes_a_private_key_and_prints_the_record_to_publish() {
    let dir = TestDir::new("dkim");
    let key = dir.data_dir().with_extension("dkim.pem");
    let key_arg = key.display().to_string();
    let out = dir.run(&[
        "dkim",
        "generate",
        "--domain",
        "desk.example",
        "--selector",
        "s1",
        "--out",
        &key_arg,
    ]);
    out.assert_success("dkim generate");
    assert!(
        out.stdout.contains("s1._domainkey.desk.example"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("v=DKIM1; k=rsa; p="), "{}", out.stdout);
    assert_eq!(mode(&key), 0o600);
    let pem = std::fs::read_to_string(&key).unwrap_or_else(|e| panic!("{e}"));
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    // An existing key is never overwritten.
    let again = dir.run(&["dkim", "generate", "--domain", "desk.example", "--out", &key_arg]);
    again.assert_failure("dkim generate over an existing key");
    assert_eq!(std::fs::read_to_string(&key).unwrap_or_default(), pem);
    // The key is accepted by the [mail] configuration.
    let config = dir.data_dir().with_extension("toml");
    std::fs::write(
        &config,
        format!(
            "[mail]\nrelay_host = \"127.0.0.1\"\nrelay_tls = \"none\"\nfrom_address = \"support@desk.example\"\n\
             dkim_key_file = \"{key_arg}\"\ndkim_selector = \"s1\"\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    dir.create_admin("ada@desk.example", "Ada");
    let checked = dir.run(&["--config", &config.display().to_string(), "audit", "verify"]);
    checked.assert_success("configuration with the generated DKIM key");
}

/// The client address the audit trail and throttles use: the socket peer by default,
/// whatever `X-Forwarded-For` claims; behind a configured trusted proxy, the nearest
/// untrusted address the proxy appended — never what the client put first.
#[tokio::test]
async fn client_addresses_come_from_forwarding_headers_only_behind_trusted_proxies() {
    for (label, proxy, expected) in [
        ("proxy-none", "", "127.0.0.1"),
        (
            "proxy-trusted",
            "[proxy]\ntrusted = [\"127.0.0.0/8\"]\nheader = \"x-forwarded-for\"\n",
            "203.0.113.5",
        ),
    ] {
        let dir = TestDir::new(label);
        let config = dir.data_dir().with_extension("toml");
        std::fs::write(&config, proxy).unwrap_or_else(|e| panic!("{e}"));
        let dir = dir.with_env("PALISADE_CONFIG", &config.display().to_string());
        dir.create_admin("ada@example.com", "Ada");
        let server = dir.serve().await;
        let body =
            json!({"email": "nobody@example.com", "password": "not the right password at all"}).to_string();
        let request = format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\
             X-Forwarded-For: 198.51.100.1, 203.0.113.5\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            server.port,
            body.len()
        );
        let r = server
            .raw(&TLS13, request.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.status, 401, "{}", r.text());
        let filed = query_i64(
            &dir,
            &format!("SELECT COUNT(*) FROM audit_log WHERE ip = '{expected}' AND action LIKE 'auth.%'"),
        )
        .await;
        assert!(
            filed >= 1,
            "{label}: the failed sign-in is filed under {expected}"
        );
        let spoofed = query_i64(&dir, "SELECT COUNT(*) FROM audit_log WHERE ip = '198.51.100.1'").await;
        assert_eq!(spoofed, 0, "{label}: the client's own claim is never believed");
    }
}

/// The OpenAPI document is a contract: `schemathesis` (PyPI, installed by
/// `scripts/test.sh`) generates requests from the document the real server serves and
/// checks every answer against it — no 5xx, every status code and content type
/// declared, responses matching their schemas, valid requests accepted and invalid ones
/// refused — in all four phases (examples, coverage, fuzzing, stateful). Bounded: a
/// fixed seed, 25 examples per operation, one worker, on loopback (about 40 s).
#[tokio::test]
async fn the_served_openapi_document_holds_against_schemathesis() {
    let schemathesis = std::env::var("PALISADE_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let dir = TestDir::new("contract");
    // Generated traffic is far above what one integration does; the token rate limit
    // is raised so the run tests the contract rather than the limiter.
    let config = dir.root.join("palisade.toml");
    std::fs::write(&config, "[api_tokens]\nrequests_per_minute = 1000000\n").unwrap();
    let dir = dir.with_env("PALISADE_CONFIG", config.to_str().unwrap());
    let token = dir.create_admin("ada@example.com", "Ada");
    let server = dir.serve().await;
    let set = server
        .post(
            &format!("/setup/{token}"),
            "application/x-www-form-urlencoded",
            &format!("password={PASSWORD}"),
        )
        .await
        .unwrap();
    assert_eq!(set.status, 200, "{}", set.text());
    let session = server.sign_in_and_enrol("ada@example.com", PASSWORD).await;
    let scopes = json!([
        "tickets:read",
        "tickets:write",
        "people:read",
        "people:write",
        "audit:read",
        "articles:read",
        "articles:write"
    ]);
    let created = server
        .api(
            "POST",
            "/api/v1/me/tokens",
            Some(&session),
            Some(&json!({"name": "contract", "scopes": scopes})),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.text());
    let api_token = created.json()["token"].as_str().unwrap().to_owned();
    let report = std::env::temp_dir().join("palisade-schemathesis.txt");
    let args = [
        "--config-file".to_owned(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml").to_owned(),
        "run".to_owned(),
        format!("{}/api/v1/openapi.json", server.origin),
        "--header".into(),
        format!("Authorization: Bearer {api_token}"),
        "--tls-verify".into(),
        "false".into(),
        "--checks".into(),
        "all".into(),
        "--max-examples".into(),
        std::env::var("PALISADE_CONTRACT_EXAMPLES").unwrap_or_else(|_| "25".into()),
        "--seed".into(),
        "20261204".into(),
        "--workers".into(),
        "1".into(),
        "--request-timeout".into(),
        "20".into(),
        // The server closes keep-alive connections idle for 30 s (hyper's header read
        // timeout); a POST sent on such a connection just as it closes meets an EOF
        // that no server answer caused. Retried; a server that failed would fail again.
        "--request-retries".into(),
        "2".into(),
    ];
    // Bounded by the number of examples (a time budget would make schemathesis fuzz
    // until it is spent), and killed if it ever ran past ten minutes.
    let child = tokio::process::Command::new(&schemathesis)
        .args(&args)
        // Its cache of found failures goes to the test's own directory, not the repository.
        .current_dir(&dir.root)
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running schemathesis (scripts/test.sh installs it): {e}"));
    let out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output())
        .await
        .expect("schemathesis finished within ten minutes")
        .unwrap();
    let transcript = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&report, &transcript).unwrap();
    assert!(
        out.status.success(),
        "schemathesis found failures (copy at {}):\n{transcript}\n--- server log\n{}",
        report.display(),
        server.log()
    );
}

/// hyper takes a bare LF as a line end; a proxy in front that does not would read the
/// same bytes as other requests. The real server ends such a connection without an
/// answer, and answers the same request written with CR LF.
#[tokio::test]
async fn request_heads_with_bare_line_feeds_get_no_answer() {
    let dir = TestDir::new("framing");
    let server = dir.serve().await;
    let genuine = server
        .raw(
            &TLS13,
            b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    assert_eq!(genuine.status, 200);
    for smuggled in [
        &b"GET /health HTTP/1.1\nHost: localhost\r\nConnection: close\r\n\r\n"[..],
        b"GET /health HTTP/1.1\r\nHost: localhost\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\n\n",
    ] {
        let answer = server.raw(&TLS13, smuggled).await;
        assert!(
            answer.as_ref().is_err(),
            "{:?} was answered: {:?}",
            String::from_utf8_lossy(smuggled),
            answer.map(|r| r.status)
        );
    }
}

#[tokio::test]
async fn serve_on_an_empty_database_prints_a_first_run_link_that_works_once() {
    let dir = TestDir::new("first-run");
    let server = dir.serve().await;
    let log = server.log();
    let at = log.find("/welcome/").expect("serve prints the first-run link");
    let link: String = log[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    let form_type = "application/x-www-form-urlencoded";

    // A guessed or altered link gets nothing.
    let guessed = format!("/welcome/{}", "A".repeat(43));
    assert_eq!(server.get(&TLS13, &guessed).await.unwrap().status, 404);
    let r = server
        .post(&guessed, form_type, "name=Eve&email=eve%40example.com")
        .await
        .unwrap();
    assert_eq!(r.status, 404);

    let page = server.get(&TLS13, &link).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.text());
    // A typo does not use the link up.
    let r = server
        .post(&link, form_type, "name=Ada&email=not-an-address")
        .await
        .unwrap();
    assert_eq!(r.status, 400);
    let r = server
        .post(&link, form_type, "name=Ada&email=ada%40example.com")
        .await
        .unwrap();
    assert_eq!(r.status, 303, "{}", r.text());
    let setup = r.header("location").unwrap_or_default();
    assert!(setup.starts_with("/setup/"), "{setup}");
    let set = server
        .post(setup, form_type, &format!("password={PASSWORD}"))
        .await
        .unwrap();
    assert!(set.text().contains("Password saved"), "{}", set.text());

    // Used: a second person cannot become an administrator with it.
    assert_eq!(server.get(&TLS13, &link).await.unwrap().status, 404);
    let r = server
        .post(&link, form_type, "name=Mallory&email=mallory%40example.com")
        .await
        .unwrap();
    assert_eq!(r.status, 404);
    let signed_in = server
        .post_json(
            "/api/v1/sessions",
            &json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(signed_in.status, 201, "{}", signed_in.text());
    let refused = server
        .post_json(
            "/api/v1/sessions",
            &json!({"email": "mallory@example.com", "password": PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 401);
    drop(server);

    // A restart with an administrator in place prints no link.
    let again = dir.serve().await;
    assert!(!again.log().contains("/welcome/"), "{}", again.log());
}
