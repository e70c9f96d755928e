//! Master-key rotation, online: the new wrapping key is published sealed under the
//! old one (nodes holding the old key learn it and keep serving), every data key is
//! re-wrapped under it in batches that each commit on their own (so a crash loses at
//! most one batch's work and the next run carries on), and the rotation finishes only
//! when no data key is left under the old key. Then the published copy is erased and
//! the old key is retired: a node that starts with it is refused.

use std::sync::atomic::Ordering;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::UnixMillis;
use palisade_crypto::{MasterKey, WrappedDataKey};
use serde_json::json;
use sqlx::Row as _;

use crate::{Dialect, Store, StoreError, Tx};

/// How long a node goes at most without looking for a rotation under way before it
/// wraps a new data key. A rotation waits longer than this before it re-wraps and
/// again before it finishes, so no node wraps a new key under a retired one.
pub const LEARN_EVERY_MS: i64 = 5_000;

/// A rotation as the database records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterRotation {
    pub new_kek_id: String,
    pub old_kek_id: String,
    pub started_at: UnixMillis,
    pub finished_at: Option<UnixMillis>,
    pub rewrapped: i64,
}

const NOT_UNDER: &str = "(kek_id IS NULL OR kek_id <> $1)";

impl Store {
    /// Learns the wrapping keys of rotations under way, sealed in the database under a
    /// key this node holds; returns how many were new.
    pub async fn learn_wrapping_keys(&self) -> Result<usize, StoreError> {
        // Only a rotation away from the key this node uses may introduce a new one: a
        // row sealed under a retired key (which someone may still hold) is not trusted.
        let rows = sqlx::query(
            "SELECT new_kek_id, next_sealed FROM master_rotations \
             WHERE finished_at IS NULL AND next_sealed IS NOT NULL AND old_kek_id = $1",
        )
        .bind(self.keys.kek_id())
        .fetch_all(&self.read)
        .await?;
        let mut learned = 0;
        for row in rows {
            let id: String = row.try_get("new_kek_id")?;
            if self.keys.knows(&id) {
                continue;
            }
            let sealed: Vec<u8> = row.try_get("next_sealed")?;
            match self.keys.learn(&id, &sealed) {
                Ok(()) => {
                    learned += 1;
                    tracing::info!(kek = %id, "learned the new wrapping key of a master-key rotation under way");
                }
                Err(_) => {
                    tracing::error!(kek = %id, "a rotation's new key does not open under the key in use: altered?");
                }
            }
        }
        self.learned_at.store(UnixMillis::now().0, Ordering::Relaxed);
        Ok(learned)
    }

    /// Refuses, inside the transaction that would insert it, a data key wrapped under a
    /// key a finished rotation retired (a node that kept running on it).
    pub(crate) async fn refuse_retired_wrapping(&self, tx: &mut Tx, kek_id: &str) -> Result<(), StoreError> {
        let retired: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM master_rotations WHERE old_kek_id = $1 AND finished_at IS NOT NULL",
        )
        .bind(kek_id)
        .fetch_optional(tx.conn())
        .await?;
        match retired {
            Some(_) => Err(StoreError::RetiredMasterKey),
            None => Ok(()),
        }
    }

    /// Looks for a rotation under way unless this node looked within [`LEARN_EVERY_MS`].
    pub(crate) async fn learn_if_due(&self) -> Result<(), StoreError> {
        let last = self.learned_at.load(Ordering::Relaxed);
        if UnixMillis::now().0 - last >= LEARN_EVERY_MS {
            self.learn_wrapping_keys().await?;
        }
        Ok(())
    }

    /// When the key this node holds was retired by a finished rotation, when that was.
    pub(crate) async fn retired_at(&self) -> Result<Option<UnixMillis>, StoreError> {
        self.retired_kek_at(self.keys.kek_id()).await
    }

    /// When the wrapping key `kek_id` was retired, if it was.
    async fn retired_kek_at(&self, kek_id: &str) -> Result<Option<UnixMillis>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT finished_at FROM master_rotations WHERE old_kek_id = $1 AND finished_at IS NOT NULL",
        )
        .bind(kek_id)
        .fetch_optional(&self.read)
        .await?
        .flatten();
        Ok(at.map(UnixMillis))
    }

    /// Starts a rotation to `next` (or finds the one to it already under way), audited
    /// when it starts. Refused while a rotation to another key is under way.
    pub async fn begin_master_rotation(&self, next: &MasterKey) -> Result<MasterRotation, StoreError> {
        // The data keys would leave the token and its key be retired.
        if self.keys.wraps_in_token() {
            return Err(StoreError::Invalid(
                "with [hsm], the wrapping key is the token's: rotating to a key file is not supported".into(),
            ));
        }
        let (new_kek_id, sealed) = self.keys.seal_next(next)?;
        if new_kek_id == self.keys.kek_id() {
            return Err(StoreError::Invalid("the new master key is the one in use".into()));
        }
        let old = self.keys.kek_id().to_owned();
        let rotation = self.begin_rotation(new_kek_id, old, Some(sealed)).await?;
        // Only once the database took it: a refused rotation must not leave this node
        // wrapping new data keys under a key no other node holds.
        self.keys.learn_key(next)?;
        Ok(rotation)
    }

    /// Starts (or finds) the rotation that moves every data key into the HSM key this
    /// node uses, from the one other key that still wraps data keys: the master key
    /// file's, or a token key configured as previous. Nothing is published: every node
    /// must be configured with the token's keys first.
    pub async fn begin_rotation_into_token(&self) -> Result<MasterRotation, StoreError> {
        if !self.keys.wraps_in_token() {
            return Err(StoreError::Invalid("no HSM wrapping key is configured".into()));
        }
        let new = self.keys.kek_id().to_owned();
        if let Some(under_way) = self.rotation_under_way().await?
            && under_way.new_kek_id == new
        {
            return Ok(under_way);
        }
        // Rows from before data keys named their wrapping key were wrapped by the file.
        let file = self
            .keys
            .previous_kek_ids()
            .into_iter()
            .next()
            .unwrap_or_default();
        let wrapping: Vec<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT kek_id FROM data_keys WHERE {NOT_UNDER}"
        )))
        .bind(&new)
        .fetch_all(&self.read)
        .await?;
        let mut olds: Vec<String> = wrapping
            .into_iter()
            .map(|id| id.unwrap_or_else(|| file.clone()))
            .collect();
        olds.sort();
        olds.dedup();
        let old = match olds.as_slice() {
            [] => {
                return Err(StoreError::Invalid(
                    "every data key is already wrapped by the token's key in use: nothing to move".into(),
                ));
            }
            [old] if self.keys.knows(old) => old.clone(),
            [old] => {
                return Err(StoreError::Invalid(format!(
                    "data keys are wrapped by key {old}, which this node does not hold: list its label in \
                     [hsm] previous_key_labels"
                )));
            }
            _ => {
                return Err(StoreError::Invalid(format!(
                    "data keys are wrapped by several earlier keys ({}): finish the rotation that was moving them",
                    olds.join(", ")
                )));
            }
        };
        self.begin_rotation(new, old, None).await
    }

    async fn begin_rotation(
        &self,
        new_kek_id: String,
        old_kek_id: String,
        sealed: Option<Vec<u8>>,
    ) -> Result<MasterRotation, StoreError> {
        let sealed_is_none = sealed.is_none();
        let mut tx = self.begin().await?;
        let under_way: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT new_kek_id, finished_at FROM master_rotations WHERE finished_at IS NULL OR new_kek_id = $1")
                .bind(&new_kek_id)
                .fetch_all(tx.conn())
                .await?;
        match under_way.first() {
            Some((id, None)) if *id == new_kek_id => {}
            Some((_, Some(_))) => {
                return Err(StoreError::Invalid(
                    "a rotation to this key has already finished".into(),
                ));
            }
            Some(_) => {
                return Err(StoreError::Invalid(
                    "another master-key rotation is under way: finish it first (run the same rotate-master command again)"
                        .into(),
                ));
            }
            None => {
                let now = UnixMillis::now();
                sqlx::query(
                    "INSERT INTO master_rotations (new_kek_id, old_kek_id, next_sealed, started_at, under_way) \
                     VALUES ($1, $2, $3, $4, 1)",
                )
                .bind(&new_kek_id)
                .bind(&old_kek_id)
                .bind(sealed)
                .bind(now.0)
                .execute(tx.conn())
                .await
                .map_err(|e| match StoreError::from_insert(e) {
                    StoreError::Conflict => StoreError::Invalid("another master-key rotation is under way".into()),
                    other => other,
                })?;
                let remaining: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_keys")
                    .fetch_one(tx.conn())
                    .await?;
                let event = AuditEvent::new(
                    AuditAction::MasterKeyRotationStarted,
                    &new_kek_id,
                    Outcome::Success,
                )
                .with_detail(
                    json!({"old_key": old_kek_id, "data_keys": remaining, "into_hsm": sealed_is_none}),
                );
                self.append_audit(&mut tx, &AuditContext::system(), &event)
                    .await?;
            }
        }
        tx.commit().await?;
        self.rotation(&new_kek_id).await?.ok_or(StoreError::NotFound)
    }

    /// The rotation to the wrapping key named `new_kek_id`.
    pub async fn rotation(&self, new_kek_id: &str) -> Result<Option<MasterRotation>, StoreError> {
        let row = sqlx::query(
            "SELECT new_kek_id, old_kek_id, started_at, finished_at, rewrapped FROM master_rotations WHERE new_kek_id = $1",
        )
        .bind(new_kek_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| rotation_from_row(&row)).transpose()
    }

    /// The rotation under way, if one is (at most one can be).
    pub async fn rotation_under_way(&self) -> Result<Option<MasterRotation>, StoreError> {
        let row = sqlx::query(
            "SELECT new_kek_id, old_kek_id, started_at, finished_at, rewrapped FROM master_rotations \
             WHERE under_way = 1",
        )
        .fetch_optional(&self.read)
        .await?;
        row.map(|row| rotation_from_row(&row)).transpose()
    }

    /// Data keys not yet wrapped under `new_kek_id`.
    pub async fn data_keys_not_under(&self, new_kek_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM data_keys WHERE {NOT_UNDER}"
        )))
        .bind(new_kek_id)
        .fetch_one(&self.read)
        .await?)
    }

    /// Re-wraps up to `batch` data keys under `new_kek_id`, in one transaction; returns
    /// how many. A row changed meanwhile (by another rotating process) is left for the
    /// next batch rather than overwritten.
    pub async fn rewrap_data_keys(&self, new_kek_id: &str, batch: i64) -> Result<usize, StoreError> {
        let mut tx = self.begin().await?;
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, wrapped FROM data_keys WHERE {NOT_UNDER} ORDER BY id LIMIT $2"
        )))
        .bind(new_kek_id)
        .bind(batch)
        .fetch_all(tx.conn())
        .await?;
        let mut moved = 0;
        for (id, wrapped) in rows {
            let key = self
                .keys
                .unwrap(&WrappedDataKey(wrapped.clone()), &id)
                .map_err(|_| {
                    StoreError::Corrupt(format!("data key {id} opens under no key this node holds"))
                })?;
            let rewrapped = self.keys.wrap_under(new_kek_id, &key, &id)?;
            let changed =
                sqlx::query("UPDATE data_keys SET wrapped = $1, kek_id = $2 WHERE id = $3 AND wrapped = $4")
                    .bind(rewrapped.0)
                    .bind(new_kek_id)
                    .bind(&id)
                    .bind(wrapped)
                    .execute(tx.conn())
                    .await?
                    .rows_affected();
            moved += usize::try_from(changed).unwrap_or(0);
        }
        sqlx::query("UPDATE master_rotations SET rewrapped = rewrapped + $1 WHERE new_kek_id = $2")
            .bind(i64::try_from(moved).unwrap_or(i64::MAX))
            .bind(new_kek_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Finishes the rotation when no data key is left under another key: erases the
    /// published copy of the new key and retires the old one, audited. `false` when
    /// some are left (re-wrap them and try again).
    pub async fn finish_master_rotation(&self, new_kek_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        // No data key may be written between the count and the retirement: on
        // PostgreSQL this waits for transactions inserting one and holds off new ones
        // (SQLite's write transactions already exclude each other). Those committed
        // later see the retirement and are refused (`refuse_retired_wrapping`).
        if self.dialect == Dialect::Postgres {
            sqlx::query("LOCK TABLE data_keys IN SHARE MODE")
                .execute(tx.conn())
                .await?;
        }
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM data_keys WHERE {NOT_UNDER}"
        )))
        .bind(new_kek_id)
        .fetch_one(tx.conn())
        .await?;
        if left > 0 {
            return Ok(false);
        }
        let now = UnixMillis::now();
        if self.dialect == Dialect::Sqlite {
            // The erased key's bytes are overwritten in the page, not merely freed.
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(tx.conn())
                .await?;
        }
        let rewrapped: Option<i64> = sqlx::query_scalar(
            "UPDATE master_rotations SET finished_at = $1, next_sealed = NULL, under_way = NULL \
             WHERE new_kek_id = $2 AND finished_at IS NULL RETURNING rewrapped",
        )
        .bind(now.0)
        .bind(new_kek_id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(rewrapped) = rewrapped else {
            return Err(StoreError::Invalid("no rotation to this key is under way".into()));
        };
        let event = AuditEvent::new(
            AuditAction::MasterKeyRotationFinished,
            new_kek_id,
            Outcome::Success,
        )
        .with_detail(json!({"rewrapped": rewrapped}));
        self.append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        tx.commit().await?;
        self.scrub_published_key().await;
        Ok(true)
    }

    /// Best effort to leave no readable copy of the published (now erased) key in the
    /// database files: SQLite zeroed the freed space and its WAL is checkpointed and
    /// truncated; PostgreSQL's dead row versions are vacuumed. Physical copies made during
    /// the rotation (WAL archives, base backups, snapshots) still hold it sealed under
    /// the old key: they are old-key material.
    async fn scrub_published_key(&self) {
        let statements: &[&'static str] = match self.dialect {
            // secure_delete was on for the update that erased it (see above).
            Dialect::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA secure_delete = OFF"],
            Dialect::Postgres => &["VACUUM master_rotations"],
        };
        for statement in statements {
            if let Err(e) = sqlx::query(*statement).execute(&self.write).await {
                tracing::warn!(error = %e, "scrubbing the erased rotation key from the database files");
            }
        }
    }
}

fn rotation_from_row(row: &sqlx::any::AnyRow) -> Result<MasterRotation, StoreError> {
    Ok(MasterRotation {
        new_kek_id: row.try_get("new_kek_id")?,
        old_kek_id: row.try_get("old_kek_id")?,
        started_at: UnixMillis(row.try_get("started_at")?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(UnixMillis),
        rewrapped: row.try_get("rewrapped")?,
    })
}
