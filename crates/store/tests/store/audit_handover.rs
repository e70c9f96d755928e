//! Moving checkpoint signing to a new key on both backends: a node with the new key
//! signs nothing before the handover (a copy from then still verifies, the live trail
//! asks for the handover); the first node to hand over records and confirms it; a node
//! still holding the old key stops signing and no command starts with it; the trail
//! verifies with the old key's checkpoints before the handover (including those that
//! name no key); someone holding the old key cannot sign after the handover, renaming a
//! checkpoint's signer is caught (and no node hands over from it), an earlier
//! release's unnamed checkpoint after the handover is dropped, an unconfirmed handover
//! does not count, and a node trusting neither key is refused.

use std::sync::Arc;

use crate::common::exec;
use palisade_audit::{
    AuditAction, AuditContext, AuditError, AuditEvent, Outcome, SigningKey, sign_checkpoint,
};
use palisade_crypto::{Keyring, MasterKey};
use palisade_store::{HeadCheckpoint, Store, StoreError};
use palisade_testkit::{Backend, TestDatabase};

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
    let old_hex = hex::encode(old_ring.audit_verifying_key().to_bytes());
    let old_node = Store::connect(&db.url, old_ring.clone()).await.unwrap();
    // 300 entries sign a checkpoint at 256 on the way; one more at the head.
    append(&old_node, 300).await;
    assert_eq!(
        old_node.checkpoint_audit_head().await.unwrap(),
        HeadCheckpoint::Signed(300)
    );
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

    // A node (or a CLI command) with the new key writes before any handover: it signs
    // nothing, and until the handover the trail's newest stretch is the old key's.
    let new_key = SigningKey::from_bytes(&palisade_crypto::random_bytes().unwrap());
    let new_node = Store::connect(&db.url, with_audit_key(&master, &new_key))
        .await
        .unwrap();
    append(&new_node, 212).await; // reaches 512
    assert_eq!(checkpoint_count(&new_node).await, 2, "not the new key's turn yet");
    assert!(matches!(
        new_node.verify_audit_trail(new_node.audit_trusted_keys()).await,
        Err(StoreError::AuditTrail(AuditError::NotCurrent))
    ));
    let copy = new_node
        .verify_audit_trail_of_copy(new_node.audit_trusted_keys())
        .await
        .unwrap();
    assert_eq!(copy.entries, 512, "a backup taken now still verifies");

    let handover = new_node
        .hand_over_audit_signing()
        .await
        .unwrap()
        .expect("a handover");
    assert_eq!(handover, 513);
    assert_eq!(
        new_node.hand_over_audit_signing().await.unwrap(),
        None,
        "recorded once"
    );
    let entry = &new_node.audit_entries(512, 1).await.unwrap()[0];
    assert_eq!(entry.action, "audit.signing_key_rotated");
    assert_eq!(
        entry.detail,
        palisade_audit::handover_detail(&old_ring.audit_verifying_key(), &new_key.verifying_key())
            .to_string()
    );

    // The node still holding the old key keeps appending but signs nothing, and no
    // command starts with it any more.
    append(&old_node, 10).await;
    assert_eq!(
        old_node.checkpoint_audit_head().await.unwrap(),
        HeadCheckpoint::NotThisNodesTurn
    );
    assert!(matches!(
        Store::connect(&db.url, old_ring.clone()).await,
        Err(StoreError::RetiredAuditKey { retired_seq: 513 })
    ));
    append(&new_node, 250).await; // crosses 768: signed in the transaction, by the new key
    assert_eq!(
        new_node.checkpoint_audit_head().await.unwrap(),
        HeadCheckpoint::Signed(773)
    );
    let report = new_node
        .verify_audit_trail(new_node.audit_trusted_keys())
        .await
        .unwrap();
    assert_eq!(
        (report.entries, report.checkpoints, report.key_handovers),
        (773, 5, 1)
    );
    let signers: Vec<Option<String>> = new_node
        .audit_checkpoints()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect();
    let new_hex = Some(hex::encode(new_key.verifying_key().to_bytes()));
    assert_eq!(signers[..2], [None, Some(old_hex.clone())]);
    assert!(signers[2..].iter().all(|s| *s == new_hex), "{signers:?}");

    // Someone with the old key (and write access) signs the head after the handover.
    let head = new_node.audit_entries(772, 1).await.unwrap().remove(0);
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
            seq: 773,
            retired_at: 513
        }))
    ));
    exec(&db.url, "DELETE FROM audit_checkpoints WHERE seq = 773").await;
    new_node
        .verify_audit_trail(new_node.audit_trusted_keys())
        .await
        .unwrap();

    // Renaming the latest checkpoint's signer to the old key makes the old node sign
    // again, but the renamed checkpoint no longer verifies: nothing is trusted from the
    // column without its signature.
    exec(
        &db.url,
        &format!("UPDATE audit_checkpoints SET public_key = '{old_hex}' WHERE seq = 768"),
    )
    .await;
    append(&old_node, 1).await;
    assert_eq!(
        old_node.checkpoint_audit_head().await.unwrap(),
        HeadCheckpoint::Signed(774)
    );
    assert!(matches!(
        new_node.verify_audit_trail(new_node.audit_trusted_keys()).await,
        Err(StoreError::AuditTrail(AuditError::CheckpointSignature {
            seq: 768
        }))
    ));
    // Nor does a node with the new key hand over again from the old key's checkpoint.
    assert!(matches!(
        new_node.hand_over_audit_signing().await,
        Err(StoreError::AuditTrail(AuditError::RetiredKey {
            seq: 774,
            retired_at: 513
        }))
    ));
    exec(
        &db.url,
        &format!("UPDATE audit_checkpoints SET public_key = '{}' WHERE seq = 768; DELETE FROM audit_checkpoints WHERE seq = 774", new_hex.clone().unwrap()),
    )
    .await;
    new_node
        .verify_audit_trail(new_node.audit_trusted_keys())
        .await
        .unwrap();

    // A node of an earlier release signs with the root's key and names none: after a
    // handover the database drops such a checkpoint instead of letting it break the trail.
    append(&old_node, 1).await;
    let head = new_node.audit_entries(774, 1).await.unwrap().remove(0);
    let unnamed = sign_checkpoint(old_ring.audit_signing_key(), head.seq, &head.hash, 1);
    exec(
        &db.url,
        &format!(
            "INSERT INTO audit_checkpoints (seq, hash, at, signature) VALUES ({}, '{}', 1, '{}') ON CONFLICT DO NOTHING",
            head.seq, unnamed.hash, unnamed.signature
        ),
    )
    .await;
    assert_eq!(
        checkpoint_count(&new_node).await,
        4,
        "the unnamed checkpoint was dropped"
    );
    new_node
        .verify_audit_trail(new_node.audit_trusted_keys())
        .await
        .unwrap();

    // A node with a third key that does not list the current one as retired.
    let stranger = SigningKey::from_bytes(&palisade_crypto::random_bytes().unwrap());
    let third = Store::connect(&db.url, with_audit_key(&master, &stranger))
        .await
        .unwrap();
    assert!(matches!(
        third.hand_over_audit_signing().await,
        Err(StoreError::UnknownAuditSigner { .. })
    ));

    // Without the new key's checkpoint at the handover, the handover does not count.
    exec(&db.url, "DELETE FROM audit_checkpoints WHERE seq = 513").await;
    assert!(matches!(
        new_node.verify_audit_trail(new_node.audit_trusted_keys()).await,
        Err(StoreError::AuditTrail(AuditError::HandoverUnconfirmed {
            seq: 513
        }))
    ));
    for store in [old_node, new_node, third] {
        store.close().await;
    }
}
