//! Moving audit checkpoint signing from the master key's root to a key file of its
//! own, as an operator would: `keys audit-generate` prints the `[audit]` settings, the
//! desk started with them records the handover, `audit verify` passes with the old
//! checkpoints (configured, or with both public keys given by hand) and fails when
//! only the new key is trusted; every command started with the old configuration is
//! refused.

use std::time::Duration;

use super::common::{TestDir, free_port};

const BASE: &str = "[scan]\nclamd = \"off\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_signing_moves_to_a_key_file_and_the_old_configuration_is_refused() {
    let dir = TestDir::new("audit-key").with_config(BASE);
    let config = dir.root.join("palisade.toml");
    let setup = dir.create_admin("ada@example.com", "Ada");
    let mut server = dir.serve().await;
    let token = server.admin_token(&setup, "ada@example.com").await;
    let person = server.create_customer(&token, "before@customer.test").await;
    let before = server.create_ticket(&token, &person, "before").await;
    assert!(server.terminate(Duration::from_secs(30)).success());
    let old_public = std::fs::read_to_string(dir.data_dir().join("audit-signing.pub")).unwrap();
    let old_public = old_public.trim().to_owned();

    let key_file = dir.root.join("audit-signing.key");
    let printed = dir.generate_audit_key(&key_file);
    assert!(
        printed.contains(&old_public),
        "the current key is listed as retired:\n{printed}"
    );
    std::fs::write(&config, format!("{BASE}[audit]{printed}\n")).unwrap();
    assert!(
        dir.run(&[
            "keys",
            "audit-generate",
            "--out",
            key_file.to_str().unwrap_or_default()
        ])
        .assert_failure("a second audit-generate to the same file")
        .contains("exists"),
        "an existing key file is never replaced"
    );

    let mut server = dir.serve().await;
    assert!(
        server
            .log()
            .contains("audit checkpoints are signed with a new key"),
        "the handover is logged:\n{}",
        server.log()
    );
    let after = server.create_ticket(&token, &person, "after").await;
    server
        .assert_subjects(&token, &[(before, "before".into()), (after, "after".into())])
        .await;
    assert!(server.terminate(Duration::from_secs(30)).success());
    let new_public = std::fs::read_to_string(dir.data_dir().join("audit-signing.pub")).unwrap();
    let new_public = new_public.trim().to_owned();
    assert_ne!(new_public, old_public);

    let verified = dir.run(&["audit", "verify"]);
    verified.assert_success("audit verify with the new configuration");
    assert!(
        verified.stdout.contains("1 signing-key handovers"),
        "{}",
        verified.stdout
    );
    dir.run(&[
        "audit",
        "verify",
        "--public-key",
        &new_public,
        "--public-key",
        &old_public,
    ])
    .assert_success("audit verify with both public keys given by hand");
    let only_new = dir
        .run(&["audit", "verify", "--public-key", &new_public])
        .assert_failure("audit verify trusting only the new key")
        .to_owned();
    assert!(only_new.contains("does not trust"), "{only_new}");

    // A node still configured with the old key (here: the root's) is refused.
    std::fs::write(&config, BASE).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let refused = dir
        .run(&["serve", "--listen", &listen])
        .assert_failure("serve with the retired audit key")
        .to_owned();
    assert!(refused.contains("audit signing key was retired"), "{refused}");
    let verify_refused = dir
        .run(&["audit", "verify"])
        .assert_failure("audit verify with the retired audit key")
        .to_owned();
    assert!(
        verify_refused.contains("audit signing key was retired"),
        "{verify_refused}"
    );
}
