//! `/health/ready`'s database checks: each turns false for its own cause, the others
//! staying true, on both backends.

use std::sync::Arc;

use palisade_crypto::{Keyring, MasterKey};
use palisade_store::{Readiness, Store};
use palisade_testkit::{Backend, TestDatabase};
use sqlx::{AssertSqlSafe, Connection as _};

palisade_testkit::on_both_backends!(each_readiness_check_fails_for_its_own_cause);

async fn raw(db: &TestDatabase, sql: &str) {
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn each_readiness_check_fails_for_its_own_cause(backend: Backend) {
    sqlx::any::install_default_drivers();
    let db = TestDatabase::new(backend).await.unwrap();
    let store = Store::connect(&db.url, Arc::new(Keyring::new(&MasterKey::generate().unwrap())))
        .await
        .unwrap();
    let all = Readiness {
        database: true,
        migrated: true,
        master_key: true,
    };
    assert_eq!(store.readiness().await, all);

    // A schema newer than this build's (a rolling upgrade's new node migrated): ready.
    raw(
        &db,
        "INSERT INTO palisade_migrations (version, applied_at) VALUES (100000, 0)",
    )
    .await;
    assert_eq!(store.readiness().await, all);
    // One this build's migrations have not reached: not.
    raw(
        &db,
        &format!(
            "DELETE FROM palisade_migrations WHERE version >= {}",
            palisade_store::schema_version()
        ),
    )
    .await;
    assert_eq!(
        store.readiness().await,
        Readiness {
            migrated: false,
            ..all
        }
    );

    // The organisation's key re-wrapped under a master key this node lacks.
    let other_wrapping = match backend {
        Backend::Sqlite => "X'0102030405060708090a0b0c0d0e0f10111213141516171819'",
        Backend::Postgres => "'\\x0102030405060708090a0b0c0d0e0f10111213141516171819'::bytea",
    };
    raw(
        &db,
        &format!("UPDATE data_keys SET wrapped = {other_wrapping} WHERE id = 'dk_org'"),
    )
    .await;
    assert_eq!(
        store.readiness().await,
        Readiness {
            migrated: false,
            master_key: false,
            ..all
        }
    );

    store.close().await;
    assert_eq!(
        store.readiness().await,
        Readiness {
            database: false,
            migrated: false,
            master_key: false,
        }
    );
}
