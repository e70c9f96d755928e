//! Data keys: one per customer, one shared by staff and organisation records. Stored
//! only wrapped by the master-derived key-encryption key.

use palisade_core::UnixMillis;
use palisade_crypto::{DataKey, FieldAad, WrappedDataKey, open_field, seal_field};
use sqlx::Row;

use crate::{Store, StoreError, Tx};

pub(crate) const ORG_KEY_ID: &str = "dk_org";

impl Store {
    pub(crate) async fn ensure_org_key(&self) -> Result<(), StoreError> {
        let existing = sqlx::query("SELECT wrapped FROM data_keys WHERE id = $1")
            .bind(ORG_KEY_ID)
            .fetch_optional(&self.read)
            .await?;
        match existing {
            Some(row) => {
                let wrapped = WrappedDataKey(row.try_get("wrapped")?);
                self.keys
                    .unwrap(&wrapped, ORG_KEY_ID)
                    .map_err(|_| StoreError::WrongMasterKey)?;
            }
            None => {
                let (wrapped, kek_id) = self.keys.wrap_tagged(&DataKey::generate()?, ORG_KEY_ID)?;
                sqlx::query(
                    "INSERT INTO data_keys (id, wrapped, created_at, kek_id) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                )
                .bind(ORG_KEY_ID)
                .bind(wrapped.0)
                .bind(UnixMillis::now().0)
                .bind(kek_id)
                .execute(&self.write)
                .await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn load_key(&self, id: &str) -> Result<DataKey, StoreError> {
        let row = sqlx::query("SELECT wrapped FROM data_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("data key {id} missing")))?;
        self.open_wrapped(id, WrappedDataKey(row.try_get("wrapped")?))
            .await
    }

    pub(crate) async fn load_key_tx(&self, tx: &mut Tx, id: &str) -> Result<DataKey, StoreError> {
        let row = sqlx::query("SELECT wrapped FROM data_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("data key {id} missing")))?;
        self.open_wrapped(id, WrappedDataKey(row.try_get("wrapped")?))
            .await
    }

    /// Opens a wrapped data key; one that opens under no key held may have been
    /// re-wrapped by a rotation this node has not learned of yet, so it looks once.
    async fn open_wrapped(&self, id: &str, wrapped: WrappedDataKey) -> Result<DataKey, StoreError> {
        match self.keys.unwrap(&wrapped, id) {
            Ok(key) => Ok(key),
            Err(palisade_crypto::CryptoError::Decrypt) if self.learn_wrapping_keys().await? > 0 => {
                Ok(self.keys.unwrap(&wrapped, id)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn unwrap_key(&self, id: &str, wrapped: Vec<u8>) -> Result<DataKey, StoreError> {
        Ok(self.keys.unwrap(&WrappedDataKey(wrapped), id)?)
    }

    /// Creates and stores a fresh data key; its id is derived from the owner so that a
    /// wrapped key cannot be moved to another owner.
    pub(crate) async fn create_key(&self, tx: &mut Tx, owner: &str) -> Result<(String, DataKey), StoreError> {
        let id = format!("dk_{owner}");
        let key = DataKey::generate()?;
        // Wrapped under the newest key: during a rotation, that is the new one.
        self.learn_if_due().await?;
        let (wrapped, kek_id) = self.keys.wrap_tagged(&key, &id)?;
        sqlx::query("INSERT INTO data_keys (id, wrapped, created_at, kek_id) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(wrapped.0)
            .bind(UnixMillis::now().0)
            .bind(&kek_id)
            .execute(tx.conn())
            .await
            .map_err(StoreError::from_insert)?;
        // Checked after the insert, not before: the row's lock makes a rotation's finish
        // (which locks the table) wait for this transaction, and a finish that committed
        // first is seen by this later statement. Either way no key lands under a
        // retired one.
        self.refuse_retired_wrapping(tx, &kek_id).await?;
        Ok((id, key))
    }
}

pub(crate) fn seal(
    key: &DataKey,
    table: &str,
    column: &str,
    row: &str,
    value: &[u8],
) -> Result<Vec<u8>, StoreError> {
    Ok(seal_field(key, FieldAad { table, column, row }, value)?)
}

pub(crate) fn open_text(
    key: &DataKey,
    table: &str,
    column: &str,
    row: &str,
    sealed: &[u8],
) -> Result<String, StoreError> {
    let plain = open_field(key, FieldAad { table, column, row }, sealed)?;
    String::from_utf8(plain).map_err(|_| StoreError::Corrupt(format!("{table}.{column} is not UTF-8")))
}

pub(crate) fn open_bytes(
    key: &DataKey,
    table: &str,
    column: &str,
    row: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, StoreError> {
    Ok(open_field(key, FieldAad { table, column, row }, sealed)?)
}
