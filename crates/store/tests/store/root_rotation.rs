//! Root rotation on both backends: a desk indexed under one root is rewritten under a
//! new one. Lookups, search and sealed values work afterwards under the new root alone;
//! what cannot be recomputed (recovery codes, received `Message-ID`s, used token ids)
//! still matches; nothing keyed under the old root is left to probe; the old root is
//! refused, and so is every node while the rotation is under way; the trail verifies.
//! The attacks: starting from a root the database was not indexed with, dropping
//! trust in the old root's checkpoints, and joining mid-rotation with either key.

use std::sync::Arc;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome, SigningKey};
use palisade_core::UnixMillis;
use palisade_crypto::{Keyring, MasterKey};
use palisade_store::{HeadCheckpoint, Store, StoreError};
use palisade_testkit::{Backend, TestDatabase};
use sqlx::Connection as _;

use crate::storage::{found, seed, seed_with_subject};

palisade_testkit::on_both_backends!(a_new_root_rewrites_every_keyed_value_and_retires_the_old_one);

fn ring(master: &MasterKey, audit: Option<(&SigningKey, &Keyring)>) -> Arc<Keyring> {
    let ring = Keyring::new(master);
    Arc::new(match audit {
        None => ring,
        Some((key, retired)) => {
            ring.with_audit_signing_key(key.clone(), vec![retired.audit_derived_verifying_key()])
        }
    })
}

async fn count_where(url: &str, sql: &str, value: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(value)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
}

async fn a_new_root_rewrites_every_keyed_value_and_retires_the_old_one(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let old_key = MasterKey::generate().unwrap();
    let plain_old = Keyring::new(&old_key);
    let store = Store::connect(&db.url, ring(&old_key, None)).await.unwrap();
    let marker = "Rootq7Marker";
    // An erased customer, the oldest account: the rotation passes over them (their
    // address is gone, so nothing of theirs is indexed again).
    let (gone, _) = seed(&store, "Rootq7Gone").await;
    let mut tx = store.begin().await.unwrap();
    let proof = crate::erasure::erase_proof(
        &palisade_policy::PolicyEngine::load().unwrap(),
        &gone,
        palisade_core::Role::Customer,
    );
    store.erase_person(&mut tx, &proof, &gone).await.unwrap();
    tx.commit().await.unwrap();
    let (customer, ticket) = seed(&store, marker).await;
    let email = store.get_user(&customer).await.unwrap().email;
    // A ticket merged into that one: its subject's words belong to the survivor.
    let (_, duplicate) = seed_with_subject(&store, "Rootq7Dup", "Wombatq7 invoice").await;
    merge(&store, &duplicate, &ticket).await;
    assert_eq!(found(&store, "wombatq7", false).await, vec![ticket.clone()]);
    let old_code_hashes = plain_old.blind_indexes("recovery_codes", &format!("{customer}:abcd-efgh"));
    let mut tx = store.begin().await.unwrap();
    let event = AuditEvent::new(AuditAction::TicketUpdated, ticket.as_str(), Outcome::Success);
    store
        .append_audit(&mut tx, &AuditContext::system(), &event)
        .await
        .unwrap();
    store
        .replace_recovery_codes(&mut tx, &customer, &old_code_hashes)
        .await
        .unwrap();
    assert!(
        store
            .first_receipt(&mut tx, "ann@example.net", "<m1@example.net>")
            .await
            .unwrap()
    );
    store.remember_domain(&mut tx, "example.net").await.unwrap();
    tx.commit().await.unwrap();
    let far = UnixMillis(UnixMillis::now().0 + 3_600_000);
    assert!(
        store
            .first_use_of_token_id("https://idp.test", "jti-1", far)
            .await
            .unwrap()
    );
    let checkpoint = store.checkpoint_audit_head().await.unwrap();
    assert!(matches!(checkpoint, HeadCheckpoint::Signed(_)), "{checkpoint:?}");
    store.close().await;
    // As an earlier release left it: naming no key (the root's signed it).
    crate::common::exec(&db.url, "UPDATE audit_checkpoints SET public_key = NULL").await;

    // The root's own audit key signed that checkpoint: a rotation that would leave it
    // unverifiable is refused.
    let new_key = old_key.rerooted().unwrap();
    let rotating = Store::connect_rotating_root(&db.url, ring(&new_key, None))
        .await
        .unwrap();
    let refused = rotating.begin_root_rotation(&plain_old, far).await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(m)) if m.contains("audit")),
        "{refused:?}"
    );
    rotating.close().await;

    // The operator's path: checkpoints get a key of their own first (the root's is kept
    // as retired), handed over by the old node.
    let audit_key = SigningKey::from_bytes(&palisade_crypto::random_bytes().unwrap());
    let old_ring = ring(&old_key, Some((&audit_key, &plain_old)));
    let serving = Store::connect(&db.url, old_ring.clone()).await.unwrap();
    serving.hand_over_audit_signing().await.unwrap().unwrap();
    assert!(!serving.root_retired().await.unwrap());

    let new_ring = ring(&new_key, Some((&audit_key, &plain_old)));
    let rotating = Store::connect_rotating_root(&db.url, new_ring.clone())
        .await
        .unwrap();
    // A root the database was not indexed with (same wrapping key) is refused.
    let unrelated = Keyring::new(&old_key.rerooted().unwrap());
    let refused = rotating.begin_root_rotation(&unrelated, far).await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(m)) if m.contains("indexed")),
        "{refused:?}"
    );
    // A key with another wrapping secret is not a root rotation.
    let rewrapped = Keyring::new(&MasterKey::generate().unwrap());
    assert!(rotating.begin_root_rotation(&rewrapped, far).await.is_err());

    // Begun and abandoned: nothing was rewritten, and the old key serves again.
    rotating.begin_root_rotation(&old_ring, far).await.unwrap();
    assert!(matches!(
        Store::connect(&db.url, old_ring.clone()).await,
        Err(StoreError::RetiredRoot)
    ));
    let refused = rotating.abort_root_rotation().await;
    assert!(
        matches!(&refused, Err(StoreError::Invalid(m)) if m.contains("old")),
        "only the old file abandons it: {refused:?}"
    );
    let aborting = Store::connect_rotating_root(&db.url, old_ring.clone())
        .await
        .unwrap();
    assert!(aborting.abort_root_rotation().await.unwrap().is_some());
    assert!(aborting.abort_root_rotation().await.unwrap().is_none(), "once");
    aborting.close().await;
    Store::connect(&db.url, old_ring.clone())
        .await
        .unwrap()
        .close()
        .await;

    let begun = rotating.begin_root_rotation(&old_ring, far).await.unwrap();
    assert_eq!(begun.old_root_id, old_ring.root_id());
    assert_eq!(
        rotating.begin_root_rotation(&old_ring, far).await.unwrap(),
        begun,
        "running it again resumes"
    );
    // A transaction the serving node began before it saw the rotation, committed
    // after: rolled back.
    let mut straggler = serving.begin().await.unwrap();
    let event = AuditEvent::new(AuditAction::TicketUpdated, ticket.as_str(), Outcome::Success);
    serving
        .append_audit(&mut straggler, &AuditContext::system(), &event)
        .await
        .unwrap();
    // Serving nodes with the old root see it and stop writing; no node starts meanwhile.
    assert!(serving.root_retired().await.unwrap());
    assert!(
        matches!(serving.begin().await, Err(StoreError::RetiredRoot)),
        "a node that saw the rotation begins no transaction"
    );
    assert!(
        matches!(straggler.commit().await, Err(StoreError::RetiredRoot)),
        "nor commits one it began before"
    );
    assert!(matches!(
        Store::connect(&db.url, old_ring.clone()).await,
        Err(StoreError::RetiredRoot)
    ));
    assert!(matches!(
        Store::connect(&db.url, new_ring.clone()).await,
        Err(StoreError::RootRotationUnderWay)
    ));
    serving.close().await;

    let done = rotating.finish_root_rotation(&old_ring, false).await.unwrap();
    // Six accounts, the erased one not among those indexed; three tickets.
    assert_eq!((done.accounts, done.known_domains, done.tickets), (5, 1, 3));
    assert_eq!(
        done.checkpoints_named, 1,
        "the root's unnamed checkpoint now names its key"
    );
    assert!(
        rotating.finish_root_rotation(&old_ring, false).await.is_err(),
        "finished once"
    );
    let again = rotating.begin_root_rotation(&old_ring, far).await;
    assert!(
        matches!(&again, Err(StoreError::Invalid(m)) if m.contains("already finished")),
        "{again:?}"
    );
    rotating.close().await;

    // Afterwards: the old root is refused for good; the new one serves everything.
    assert!(matches!(
        Store::connect(&db.url, old_ring.clone()).await,
        Err(StoreError::RetiredRoot)
    ));
    let store = Store::connect(&db.url, new_ring.clone()).await.unwrap();
    let found_user = store.find_user_by_email(&email).await.unwrap().unwrap();
    assert_eq!(found_user.id, customer);
    assert_eq!(
        found(&store, &format!("Body {marker}"), false).await,
        vec![ticket.clone()]
    );
    assert_eq!(
        found(&store, "wombatq7", false).await,
        vec![ticket.clone()],
        "a merged ticket's subject still finds the survivor"
    );
    assert_eq!(
        found(&store, &format!("Note {marker}"), true).await,
        vec![ticket.clone()]
    );
    assert!(
        found(&store, &format!("Note {marker}"), false).await.is_empty(),
        "internal words stay internal"
    );
    let people = store
        .find_people(
            palisade_store::UserKind::Customers,
            &format!("Name {marker}"),
            false,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        people.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![customer.clone()]
    );
    assert_eq!(
        store.known_domains(10).await.unwrap(),
        vec!["example.net".to_owned()]
    );

    // Nothing keyed under the old root is left to probe with the old file.
    let old_email_index = plain_old.blind_index().compute("users.email", email.as_str());
    assert_eq!(
        count_where(
            &db.url,
            "SELECT COUNT(*) FROM users WHERE email_index = $1",
            &old_email_index
        )
        .await,
        0
    );
    let old_term = plain_old
        .search_index()
        .compute("tickets.terms", &marker.to_lowercase());
    for table in ["search_terms", "search_pending"] {
        let column = if table == "search_terms" { "term" } else { "terms" };
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {column} LIKE '%' || $1 || '%'");
        assert_eq!(count_where(&db.url, &sql, &old_term).await, 0, "{table}");
    }
    let old_domain = plain_old
        .blind_index()
        .compute("known_domains.domain", "example.net");
    assert_eq!(
        count_where(
            &db.url,
            "SELECT COUNT(*) FROM known_domains WHERE domain_index = $1",
            &old_domain
        )
        .await,
        0
    );

    // What could not be recomputed still matches under the kept key.
    assert!(
        !store
            .first_use_of_token_id("https://idp.test", "jti-1", far)
            .await
            .unwrap(),
        "a token used before the rotation is still a replay"
    );
    let mut tx = store.begin().await.unwrap();
    assert!(
        !store
            .first_receipt(&mut tx, "ann@example.net", "<m1@example.net>")
            .await
            .unwrap(),
        "a message received before is still a duplicate"
    );
    tx.commit().await.unwrap();
    let hashes = new_ring.blind_indexes("recovery_codes", &format!("{customer}:abcd-efgh"));
    assert_eq!(hashes[1], old_code_hashes[0]);
    assert!(
        store.use_recovery_code(&customer, &hashes).await.unwrap(),
        "a code issued before works"
    );
    assert!(
        !store.use_recovery_code(&customer, &hashes).await.unwrap(),
        "once"
    );

    // Old reply addresses verify during the grace period, under the kept key only.
    let capability = [3u8; palisade_crypto::CAPABILITY_ID_LEN];
    let old_token = plain_old
        .capabilities()
        .mint(palisade_crypto::CapabilityPurpose::Reply, 1, &capability);
    let now = UnixMillis::now().0;
    assert_eq!(
        new_ring.verify_capability(palisade_crypto::CapabilityPurpose::Reply, &old_token, &[1], now),
        Some((1, capability))
    );
    // Someone with write access to the database extends the grace period: the kept
    // key's name (bound into its wrapping) no longer matches, so nothing verifies.
    crate::common::exec(
        &db.url,
        "UPDATE root_rotations SET replies_until = replies_until + 86400000",
    )
    .await;
    let extended = Store::connect(&db.url, ring(&new_key, Some((&audit_key, &plain_old))))
        .await
        .unwrap();
    assert!(
        extended
            .keys()
            .verify_capability(palisade_crypto::CapabilityPurpose::Reply, &old_token, &[1], now)
            .is_none()
    );
    assert_eq!(
        extended.keys().blind_indexes("x", "y").len(),
        2,
        "the kept index key still matches"
    );
    extended.close().await;

    // The trail verifies with the new root's keys: the old root's checkpoint under the
    // key the configuration keeps as retired.
    assert!(matches!(
        store.checkpoint_audit_head().await.unwrap(),
        HeadCheckpoint::Signed(_) | HeadCheckpoint::AlreadySigned
    ));
    store
        .verify_audit_trail(store.audit_trusted_keys())
        .await
        .unwrap();
    let actions: Vec<String> = {
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'keys.root%' ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(
        actions,
        [
            "keys.root_rotation_started",
            "keys.root_rotation_aborted",
            "keys.root_rotation_started",
            "keys.root_rotation_finished"
        ]
    );
    assert_eq!(store.root_rotations().await.unwrap().len(), 1);
    store.close().await;
}

async fn merge(store: &Store, duplicate: &palisade_core::TicketId, survivor: &palisade_core::TicketId) {
    use palisade_policy::{Action, PolicyEngine, Resource};
    let policy = PolicyEngine::load().unwrap();
    let admin = palisade_core::Principal {
        user_id: palisade_core::UserId::generate(),
        role: palisade_core::Role::Admin,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    };
    let survivor = store.get_ticket(survivor).await.unwrap();
    let duplicate = store.get_ticket(duplicate).await.unwrap();
    let proofs: Vec<_> = [&survivor, &duplicate]
        .iter()
        .map(|t| {
            policy
                .authorize(&admin, Action::TicketMerge, &Resource::Ticket(t.facts()))
                .unwrap()
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    store
        .merge_tickets(&mut tx, &proofs, &duplicate, &survivor)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}
