//! Master-key rotation on both backends: a node holding the old key keeps reading and
//! writing while data keys move; a rotating process that dies mid-way is resumed; the
//! rotation cannot finish while a key is left behind; afterwards the old key opens
//! nothing in the database and a node that starts with it is refused, while the new
//! key opens everything and the audit trail verifies.

use std::sync::Arc;

use palisade_core::{EmailAddress, Role, UserId};
use palisade_crypto::{Keyring, MasterKey, WrappedDataKey};
use palisade_store::{NewUser, Store, StoreError};
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(a_rotation_moves_every_data_key_online_resumes_and_retires_the_old_key);

async fn customer(store: &Store, n: usize) -> UserId {
    let mut tx = store.begin().await.unwrap();
    let id = store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Customer,
                email: EmailAddress::parse(&format!("customer-{n}@example.org")).unwrap(),
                name: format!("Customer {n}"),
                phone: Some("+44 20 7946 0000".into()),
                company: None,
                password_hash: None,
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn all_open(store: &Store, customers: &[UserId]) {
    for (n, id) in customers.iter().enumerate() {
        let user = store.get_user(id).await.unwrap();
        assert_eq!(user.name, format!("Customer {n}"));
    }
}

async fn wrapped_rows(url: &str) -> Vec<(String, Vec<u8>, Option<String>)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let rows = sqlx::query_as("SELECT id, wrapped, kek_id FROM data_keys")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rows
}

async fn a_rotation_moves_every_data_key_online_resumes_and_retires_the_old_key(backend: Backend) {
    sqlx::any::install_default_drivers();
    let db = TestDatabase::new(backend).await.unwrap();
    let old = MasterKey::generate().unwrap();
    let next = old.rotated().unwrap();
    let serving = Store::connect(&db.url, Arc::new(Keyring::new(&old)))
        .await
        .unwrap();
    let mut customers = Vec::new();
    for n in 0..5 {
        customers.push(customer(&serving, n).await);
    }
    let keys_before = wrapped_rows(&db.url).await.len();
    assert!(keys_before >= 6, "the organisation's key and one per customer");

    // The rotation starts in another process holding the old key; it dies after one
    // small batch.
    let rotating = Store::connect(&db.url, Arc::new(Keyring::new(&old)))
        .await
        .unwrap();
    let rotation = rotating.begin_master_rotation(&next).await.unwrap();
    assert_eq!(rotation.old_kek_id, Keyring::new(&old).kek_id());
    let other = old.rotated().unwrap();
    assert!(
        rotating.begin_master_rotation(&other).await.is_err(),
        "a second rotation to another key is refused while one is under way"
    );
    // The serving node learns the new key (as `serve` looks every 2.5 s, and the
    // rotation waits longer than that before moving anything).
    assert_eq!(serving.learn_wrapping_keys().await.unwrap(), 1);
    assert_eq!(serving.learn_wrapping_keys().await.unwrap(), 0, "learned once");
    assert_eq!(
        rotating.rewrap_data_keys(&rotation.new_kek_id, 2).await.unwrap(),
        2
    );
    rotating.close().await;
    all_open(&serving, &customers).await;
    customers.push(customer(&serving, 5).await);
    let newest = wrapped_rows(&db.url)
        .await
        .into_iter()
        .find(|(id, _, _)| id.ends_with(customers[5].as_str()))
        .unwrap();
    assert_eq!(
        newest.2.as_deref(),
        Some(rotation.new_kek_id.as_str()),
        "new data keys go under the new key"
    );

    // Resumed by a fresh process with the same new key: it carries on.
    let resumed = Store::connect(&db.url, Arc::new(Keyring::new(&old)))
        .await
        .unwrap();
    let again = resumed.begin_master_rotation(&next).await.unwrap();
    assert_eq!(
        (again.new_kek_id.as_str(), again.rewrapped),
        (rotation.new_kek_id.as_str(), 2)
    );
    assert!(
        !resumed
            .finish_master_rotation(&rotation.new_kek_id)
            .await
            .unwrap(),
        "cannot finish with keys left under the old key"
    );
    while resumed.rewrap_data_keys(&rotation.new_kek_id, 2).await.unwrap() > 0 {}
    assert_eq!(
        resumed.data_keys_not_under(&rotation.new_kek_id).await.unwrap(),
        0
    );
    assert!(
        resumed
            .finish_master_rotation(&rotation.new_kek_id)
            .await
            .unwrap()
    );
    let finished = resumed.rotation(&rotation.new_kek_id).await.unwrap().unwrap();
    assert!(finished.finished_at.is_some());
    assert_eq!(
        finished.rewrapped,
        i64::try_from(keys_before).unwrap(),
        "every key made before the rotation moved; the one made during it was born under the new key"
    );
    resumed.close().await;

    // The node that was running all along still serves.
    all_open(&serving, &customers).await;
    serving.close().await;

    // The old key opens nothing in the database now, and cannot start a node.
    let retired = Keyring::new(&old);
    for (id, wrapped, kek_id) in wrapped_rows(&db.url).await {
        assert_eq!(kek_id.as_deref(), Some(rotation.new_kek_id.as_str()));
        assert!(
            retired.unwrap(&WrappedDataKey(wrapped), &id).is_err(),
            "{id} opens with the retired key"
        );
    }
    assert!(matches!(
        Store::connect(&db.url, Arc::new(Keyring::new(&old))).await,
        Err(StoreError::RetiredMasterKey)
    ));
    assert!(matches!(
        Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap()))).await,
        Err(StoreError::WrongMasterKey)
    ));

    // The new key opens everything; the trail (with both rotation entries) verifies.
    let ring = Arc::new(Keyring::new(&next));
    let after = Store::connect(&db.url, ring.clone()).await.unwrap();
    all_open(&after, &customers).await;
    assert!(
        after
            .find_user_by_email(&EmailAddress::parse("customer-3@example.org").unwrap())
            .await
            .unwrap()
            .is_some(),
        "lookups by email still find people"
    );
    after
        .verify_audit_trail(ring.audit_verifying_key())
        .await
        .unwrap();
    let actions: Vec<String> = {
        use sqlx::Connection as _;
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'keys.%' ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(
        actions,
        ["keys.master_rotation_started", "keys.master_rotation_finished"]
    );
    after.close().await;
}
