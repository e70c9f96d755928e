//! Moving checkpoint signing to a new key on both backends: the first node with the
//! new key records the handover; a node still holding the old key stops signing and
//! would be refused at start; the trail verifies with the old key's checkpoints before
//! the handover (including those that name no key, from before checkpoints named it);
//! someone holding the old key cannot sign after the handover, even after clearing the
//! database's list of retired keys; a node trusting neither key is refused.

use std::sync::Arc;

use palisade_audit::{
    AuditAction, AuditContext, AuditError, AuditEvent, Outcome, SigningKey, sign_checkpoint,
};
use palisade_crypto::{Keyring, MasterKey};
use palisade_store::{Store, StoreError};
use palisade_testkit::{Backend, TestDatabase};
use sqlx::{AssertSqlSafe, Connection};

palisade_testkit::on_both_backends!(checkpoint_signing_is_handed_over_and_the_old_key_cannot_sign_after);

async fn append(store: &Store, n: usize) {
    let ctx = AuditContext::system();
    let events: Vec<AuditEvent> = (0..n)
        .map(|i| AuditEvent::new(AuditAction::TicketUpdated, format!("tkt_{i}"), Outcome::Success))
        .collect();
    let mut tx = store.begin().await.unwrap();
    store.append_audit_many(&mut tx, &ctx, &events).await.unwrap();
    tx.commit().await.unwrap();
}

async fn exec(url: &str, sql: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}

async fn checkpoint_count(store: &Store) -> usize {
    store.audit_checkpoints().await.unwrap().len()
}

fn with_audit_key(master: &MasterKey, key: &SigningKey) -> Arc<Keyring> {
    Arc::new(Keyring::new(master).with_audit_signing_key(key.clone(), Vec::new()))
}

async fn checkpoint_signing_is_handed_over_and_the_old_key_cannot_sign_after(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let master = MasterKey::generate().unwrap();
    let old_ring = Arc::new(Keyring::new(&master));
    let old_node = Store::connect(&db.url, old_ring.clone()).await.unwrap();
    // 300 entries sign a checkpoint at 256 on the way; one more at the head.
    append(&old_node, 300).await;
    assert_eq!(old_node.checkpoint_audit_head().await.unwrap(), Some(300));
    assert_eq!(
        old_node.hand_over_audit_signing().await.unwrap(),
        None,
        "nothing to hand over"
    );
    // The first checkpoint as an older release wrote it, naming no key.
    exec(
        &db.url,
        "UPDATE audit_checkpoints SET public_key = NULL WHERE seq = 256",
    )
    .await;

    let new_key = SigningKey::from_bytes(&palisade_crypto::random_bytes().unwrap());
    let new_node = Store::connect(&db.url, with_audit_key(&master, &new_key))
        .await
        .unwrap();
    let handover = new_node
        .hand_over_audit_signing()
        .await
        .unwrap()
        .expect("a handover");
    assert_eq!(handover, 301);
    assert_eq!(
        new_node.hand_over_audit_signing().await.unwrap(),
        None,
        "recorded once"
    );
    let entry = &new_node.audit_entries(300, 1).await.unwrap()[0];
    assert_eq!(entry.action, "audit.signing_key_rotated");
    assert_eq!(
        entry.detail,
        palisade_audit::handover_detail(&old_ring.audit_verifying_key(), &new_key.verifying_key())
            .to_string()
    );

    // The node still holding the old key keeps appending but signs nothing, and would
    // be refused at its next start.
    append(&old_node, 10).await;
    let before = checkpoint_count(&new_node).await;
    assert_eq!(old_node.checkpoint_audit_head().await.unwrap(), None);
    assert_eq!(
        checkpoint_count(&new_node).await,
        before,
        "no checkpoint by the retired key"
    );
    assert!(matches!(
        old_node.hand_over_audit_signing().await,
        Err(StoreError::RetiredAuditKey { retired_seq: 301 })
    ));
    append(&new_node, 250).await; // crosses 512: signed in the transaction, by the new key
    new_node.checkpoint_audit_head().await.unwrap();
    let report = new_node
        .verify_audit_trail(new_node.audit_trusted_keys())
        .await
        .unwrap();
    assert_eq!(
        (report.entries, report.checkpoints, report.key_handovers),
        (561, 5, 1)
    );
    let signers: Vec<Option<String>> = new_node
        .audit_checkpoints()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect();
    let new_hex = Some(hex::encode(new_key.verifying_key().to_bytes()));
    assert_eq!(signers[0], None);
    assert_eq!(
        signers[1],
        Some(hex::encode(old_ring.audit_verifying_key().to_bytes()))
    );
    assert!(signers[2..].iter().all(|s| *s == new_hex), "{signers:?}");

    // Someone with the old key (and write access) signs the head after the handover.
    let head = new_node.audit_entries(560, 1).await.unwrap().remove(0);
    let forged = sign_checkpoint(old_ring.audit_signing_key(), head.seq, &head.hash, 1);
    exec(
        &db.url,
        &format!(
            "DELETE FROM audit_checkpoints WHERE seq = {seq}; INSERT INTO audit_checkpoints (seq, hash, at, signature, public_key) \
             VALUES ({seq}, '{}', 1, '{}', '{}')",
            forged.hash,
            forged.signature,
            forged.key.unwrap(),
            seq = head.seq
        ),
    )
    .await;
    assert!(matches!(
        new_node.verify_audit_trail(new_node.audit_trusted_keys()).await,
        Err(StoreError::AuditTrail(AuditError::RetiredKey {
            seq: 561,
            retired_at: 301
        }))
    ));
    exec(&db.url, "DELETE FROM audit_checkpoints WHERE seq = 561").await;
    new_node
        .verify_audit_trail(new_node.audit_trusted_keys())
        .await
        .unwrap();

    // Clearing the list of retired keys lets the old node sign again, but the trail
    // still says its key was retired: verification trusts the trail, not the table.
    exec(&db.url, "DELETE FROM audit_retired_keys").await;
    append(&old_node, 1).await;
    assert_eq!(old_node.checkpoint_audit_head().await.unwrap(), Some(562));
    assert!(matches!(
        new_node.verify_audit_trail(new_node.audit_trusted_keys()).await,
        Err(StoreError::AuditTrail(AuditError::RetiredKey {
            seq: 562,
            retired_at: 301
        }))
    ));

    // A node with a third key that does not list the current one as retired.
    let stranger = SigningKey::from_bytes(&palisade_crypto::random_bytes().unwrap());
    let third = Store::connect(&db.url, with_audit_key(&master, &stranger))
        .await
        .unwrap();
    exec(&db.url, "DELETE FROM audit_checkpoints WHERE seq = 562").await;
    assert!(matches!(
        third.hand_over_audit_signing().await,
        Err(StoreError::UnknownAuditSigner { .. })
    ));
    for store in [old_node, new_node, third] {
        store.close().await;
    }
}
