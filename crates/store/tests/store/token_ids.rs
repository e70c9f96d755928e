//! Single use of token ids, on SQLite and PostgreSQL: the first use is recorded, a
//! replay is refused (also from another issuer's identical id only for that issuer),
//! and records of expired tokens are dropped.

use std::sync::Arc;

use palisade_core::UnixMillis;
use palisade_crypto::{Keyring, MasterKey};
use palisade_store::Store;
use palisade_testkit::{Backend, TestDatabase};

palisade_testkit::on_both_backends!(a_token_id_is_accepted_once_until_it_expires);

async fn a_token_id_is_accepted_once_until_it_expires(backend: Backend) {
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let later = UnixMillis::now().plus_secs(600);
    assert!(
        store
            .first_use_of_token_id("https://shop.example", "t-1", later)
            .await
            .unwrap()
    );
    assert!(
        !store
            .first_use_of_token_id("https://shop.example", "t-1", later)
            .await
            .unwrap(),
        "a replay"
    );
    assert!(
        store
            .first_use_of_token_id("https://other.example", "t-1", later)
            .await
            .unwrap()
    );
    assert!(
        store
            .first_use_of_token_id("https://shop.example", "t-2", later)
            .await
            .unwrap()
    );
    // A record whose token already expired is dropped by the next use; no token can be
    // replayed after expiry anyway, because the verifier refuses expired tokens.
    let past = UnixMillis(UnixMillis::now().0 - 1_000);
    assert!(
        store
            .first_use_of_token_id("https://shop.example", "old", past)
            .await
            .unwrap()
    );
    assert!(
        store
            .first_use_of_token_id("https://shop.example", "t-3", later)
            .await
            .unwrap()
    );
    assert_eq!(
        store.count_rows("used_token_ids").await.unwrap(),
        4,
        "the expired record is gone"
    );
}
