//! The wrapping key moved into a PKCS#11 token (SoftHSM v2) on a desk that already
//! holds data: the key is generated in the token, the node restarted with `[hsm]`
//! reads what the file wrapped and wraps what is new in the token, `rotate-master
//! --to-hsm` moves every data key in while the desk serves, and afterwards the master
//! key file alone starts nothing, a wrong PIN starts nothing, and with the token every
//! ticket opens. Then the wrapping key moves again, to a second key in the token: the
//! old token key is retired, and a node configured with it alone is refused.

use std::time::Duration;

use palisade_testkit::softhsm::Token;

use super::common::{Server, TestDir, query_i64};

const FIRST_KEY: &str = "palisade-wrapping";

/// `[hsm]` with `token` (and its PIN in `pin_file`), wrapping with `labels.0` and
/// opening with `labels.1` too.
fn write_config(dir: &TestDir, hsm: Option<(&Token, &std::path::Path)>, labels: (&str, &[&str])) {
    let mut text = String::from("[scan]\nclamd = \"off\"\n");
    if let Some((token, pin_file)) = hsm {
        let previous: Vec<String> = labels.1.iter().map(|l| format!("\"{l}\"")).collect();
        text.push_str(&format!(
            "\n[hsm]\nmodule = \"{}\"\ntoken_label = \"{}\"\npin_file = \"{}\"\nkey_label = \"{}\"\n\
             previous_key_labels = [{}]\n",
            token.module.display(),
            token.label,
            pin_file.display(),
            labels.0,
            previous.join(", ")
        ));
    }
    std::fs::write(dir.root.join("palisade.toml"), text).unwrap_or_else(|e| panic!("{e}"));
}

fn private_file(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap_or_else(|e| panic!("{e}"));
}

async fn ticket(server: &Server, token: &str, email: &str, subject: &str) -> String {
    let person = server.create_customer(token, email).await;
    server.create_ticket(token, &person, subject).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrapping_key_moves_into_the_token_and_the_file_alone_then_opens_nothing() {
    let token = Token::init("palisade").unwrap_or_else(|e| panic!("{e:#}"));
    let dir = TestDir::new("hsm").with_config("[scan]\nclamd = \"off\"\n");
    let pin_file = dir.root.join("hsm.pin");
    private_file(&pin_file, &format!("{}\n", token.pin));
    let setup = dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    let api = server.admin_token(&setup, "ada@example.com").await;
    let mut tickets = vec![(
        ticket(&server, &api, "file@customer.test", "wrapped by the file").await,
        "wrapped by the file".to_owned(),
    )];
    assert!(server.terminate(Duration::from_secs(30)).success());

    write_config(&dir, Some((&token, &pin_file)), (FIRST_KEY, &[]));
    let key_id = generate_key(&dir);
    dir.run(&["keys", "hsm-generate"])
        .assert_failure("a second key under the same label");

    // With [hsm]: what the file wrapped still opens, what is new goes into the token.
    let server = dir.serve().await;
    server.assert_subjects(&api, &tickets).await;
    tickets.push((
        ticket(&server, &api, "token@customer.test", "wrapped in the token").await,
        "wrapped in the token".to_owned(),
    ));
    move_into_token(&dir, server, &api, &tickets, &key_id, "Rotation finished").await;

    // Offline, with the database and the master key file, not one data key opens.
    let file_keys = palisade_crypto::Keyring::new(
        &palisade_crypto::MasterKey::load(&dir.master_key()).unwrap_or_else(|e| panic!("{e}")),
    );
    let mut conn = super::common::open_db(&dir).await;
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT id, wrapped FROM data_keys")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(rows.len() >= 3);
    for (id, wrapped) in rows {
        assert!(
            file_keys
                .unwrap(&palisade_crypto::WrappedDataKey(wrapped), &id)
                .is_err(),
            "{id} opens with the file alone"
        );
    }

    // The master key file alone is retired; a wrong PIN opens nothing.
    write_config(&dir, None, (FIRST_KEY, &[]));
    let alone = dir.run(&["audit", "verify"]);
    let stderr = alone.assert_failure("the file without the token");
    assert!(stderr.contains("retired"), "{stderr}");
    let wrong_pin = dir.root.join("wrong.pin");
    private_file(&wrong_pin, "000000\n");
    write_config(&dir, Some((&token, &wrong_pin)), (FIRST_KEY, &[]));
    let refused = dir.run(&["audit", "verify"]);
    let stderr = refused.assert_failure("a wrong PIN");
    assert!(stderr.contains("PIN"), "{stderr}");

    // With the token, everything opens and the trail verifies.
    write_config(&dir, Some((&token, &pin_file)), (FIRST_KEY, &[]));
    dir.run(&["audit", "verify"])
        .assert_success("audit verify with the token");
    let server = dir.serve().await;
    server.assert_subjects(&api, &tickets).await;
    tickets.push((
        ticket(&server, &api, "second@customer.test", "before the second move").await,
        "before the second move".to_owned(),
    ));
    let mut server = server;
    assert!(server.terminate(Duration::from_secs(30)).success());

    // To a second key in the token: generated, configured with the first as previous.
    write_config(
        &dir,
        Some((&token, &pin_file)),
        ("palisade-wrapping-2", &[FIRST_KEY]),
    );
    let second_id = generate_key(&dir);
    assert_ne!(second_id, key_id);
    let server = dir.serve().await;
    server.assert_subjects(&api, &tickets).await;
    let retired = format!("key {key_id} is retired");
    move_into_token(&dir, server, &api, &tickets, &second_id, &retired).await;
    let again = dir.run(&["keys", "rotate-master", "--to-hsm", "--settle-seconds", "6"]);
    assert!(
        again
            .assert_failure("a rotation with nothing left to move")
            .contains("nothing to move"),
        "{}",
        again.stderr
    );
    write_config(&dir, Some((&token, &pin_file)), (FIRST_KEY, &[]));
    let first_alone = dir.run(&["audit", "verify"]);
    assert!(
        first_alone
            .assert_failure("the first token key, retired")
            .contains("retired"),
        "{}",
        first_alone.stderr
    );
    write_config(&dir, Some((&token, &pin_file)), ("palisade-wrapping-2", &[]));
    dir.run(&["audit", "verify"])
        .assert_success("audit verify with the second key alone");
    let server = dir.serve().await;
    server.assert_subjects(&api, &tickets).await;
}

/// Runs `keys rotate-master --to-hsm` beside `server` (which keeps opening every
/// ticket), expecting `said` in its report, stops the server and checks that every data
/// key is wrapped by the token key `key_id`.
async fn move_into_token(
    dir: &TestDir,
    mut server: Server,
    api: &str,
    tickets: &[(String, String)],
    key_id: &str,
    said: &str,
) {
    let rotation = dir.run(&["keys", "rotate-master", "--to-hsm", "--settle-seconds", "6"]);
    rotation.assert_success("keys rotate-master --to-hsm");
    assert!(rotation.stdout.contains(said), "{}", rotation.stdout);
    server.assert_subjects(api, tickets).await;
    assert!(server.terminate(Duration::from_secs(30)).success());
    assert_eq!(
        query_i64(
            dir,
            &format!("SELECT COUNT(*) FROM data_keys WHERE kek_id IS NULL OR kek_id <> '{key_id}'")
        )
        .await,
        0,
        "every data key is wrapped by token key {key_id}"
    );
}

/// `keys hsm-generate` for the configured label: the new key's id.
fn generate_key(dir: &TestDir) -> String {
    let generated = dir.run(&["keys", "hsm-generate"]);
    generated.assert_success("keys hsm-generate");
    let key_id = generated
        .stdout
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    assert_eq!(key_id.len(), 16, "{}", generated.stdout);
    key_id
}
