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

async fn raw_insert_rotation(
    url: &str,
    new_kek_id: &str,
    old_kek_id: &str,
    sealed: &[u8],
    under_way: Option<i64>,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let done = sqlx::query(
        "INSERT INTO master_rotations (new_kek_id, old_kek_id, next_sealed, started_at, under_way) VALUES ($1, $2, $3, 0, $4)",
    )
    .bind(new_kek_id)
    .bind(old_kek_id)
    .bind(sealed.to_vec())
    .bind(under_way)
    .execute(&mut conn)
    .await
    .map(|_| ());
    conn.close().await?;
    done
}

async fn published_sealed(url: &str, new_kek_id: &str) -> Vec<u8> {
    use sqlx::Connection as _;
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let sealed = sqlx::query_scalar("SELECT next_sealed FROM master_rotations WHERE new_kek_id = $1")
        .bind(new_kek_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    sealed
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

    // A node that started before the rotation and never looks again (its last look
    // is recent, and it never misses a key).
    let stale = Store::connect(&db.url, Arc::new(Keyring::new(&old)))
        .await
        .unwrap();

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
    let (other_id, other_sealed) = Keyring::new(&old).seal_next(&other).unwrap();
    assert!(
        raw_insert_rotation(
            &db.url,
            &other_id,
            Keyring::new(&old).kek_id(),
            &other_sealed,
            Some(1)
        )
        .await
        .is_err(),
        "the database itself holds at most one rotation under way"
    );
    let published = published_sealed(&db.url, &rotation.new_kek_id).await;
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
    if backend == Backend::Sqlite {
        let bytes = db.raw_dump().await.unwrap();
        assert!(
            !bytes.windows(published.len()).any(|w| w == published.as_slice()),
            "the published key is gone from the database file and its WAL"
        );
    }
    // The node that kept running on the old key without learning cannot add a data
    // key under the retired key.
    let mut tx = stale.begin().await.unwrap();
    let refused = stale
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Customer,
                email: EmailAddress::parse("late@example.org").unwrap(),
                name: "Late".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::RetiredMasterKey)),
        "{refused:?}"
    );
    drop(tx);
    stale.close().await;
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
        .verify_audit_trail(after.audit_trusted_keys())
        .await
        .unwrap();

    // Someone with the retired key and write access plants a "rotation" sealed under it:
    // the new key's nodes are not told a successor by a key they moved away from.
    let planted = next.rotated().unwrap();
    let (planted_id, planted_sealed) = Keyring::new(&old).seal_next(&planted).unwrap();
    raw_insert_rotation(
        &db.url,
        &planted_id,
        Keyring::new(&old).kek_id(),
        &planted_sealed,
        None,
    )
    .await
    .unwrap();
    let (forged_id, forged_sealed) = Keyring::new(&old).seal_next(&planted.rotated().unwrap()).unwrap();
    raw_insert_rotation(&db.url, &forged_id, ring.kek_id(), &forged_sealed, None)
        .await
        .unwrap();
    assert_eq!(after.learn_wrapping_keys().await.unwrap(), 0);
    assert!(!ring.knows(&planted_id) && !ring.knows(&forged_id));
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
