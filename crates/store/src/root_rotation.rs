//! Root rotation: a new root for every key derived from the master key (blind indexes,
//! search terms, reply tokens, audit and backup signing), with the wrapping key left as
//! it is. Unlike a wrapping rotation this one cannot run beside serving nodes: a node
//! holding the old root would write lookups and terms nobody finds again. So the
//! rotation is recorded first; nodes with the old root see it within a look-up interval
//! and stop, and every node is refused at start until it finishes. The rewrite itself
//! (`root_reindex`) is one transaction: a crash leaves nothing half done, and running
//! the command again with the same new key file starts it afresh. Afterwards a node
//! with the old root is refused for good.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::UnixMillis;
use palisade_crypto::{Keyring, WrappedDataKey};
use serde_json::json;
use sqlx::Row as _;

use crate::{Store, StoreError};

/// A root rotation as the database records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootRotation {
    pub new_root_id: String,
    pub old_root_id: String,
    pub started_at: UnixMillis,
    pub finished_at: Option<UnixMillis>,
    /// Reply addresses minted under the old root are accepted until then.
    pub replies_until: UnixMillis,
}

/// The data keys that hold what a rotation kept of the root `root_id`. The reply
/// key's id (bound into its wrapping) names the end of its grace period, so a changed
/// `replies_until` in the database finds no key rather than extending it.
pub(crate) fn kept_key_ids(root_id: &str, replies_until: UnixMillis) -> (String, String) {
    (
        format!("rk_index_{root_id}"),
        format!("rk_reply_{root_id}_{}", replies_until.0),
    )
}

pub(crate) const COLUMNS: &str = "new_root_id, old_root_id, started_at, finished_at, replies_until";

impl Store {
    /// Refused at start: a node whose root a rotation retired (or is retiring), and,
    /// while a rotation is under way, every node but the rotating command (`rotating`).
    /// True when that command holds the old root (to abort the rotation).
    pub(crate) async fn refuse_root_in_rotation(&self, rotating: bool) -> Result<bool, StoreError> {
        let mine = self.keys.root_id();
        let rows = sqlx::query(
            "SELECT new_root_id, old_root_id, finished_at FROM root_rotations \
             WHERE old_root_id = $1 OR finished_at IS NULL",
        )
        .bind(mine)
        .fetch_all(&self.read)
        .await?;
        let mut aborting = false;
        for row in rows {
            let old: String = row.try_get("old_root_id")?;
            let new: String = row.try_get("new_root_id")?;
            let under_way = row.try_get::<Option<i64>, _>("finished_at")?.is_none();
            // The rotating command may hold either root: the new one to finish the
            // rotation, the old one to abort it.
            if under_way && rotating && (new == mine || old == mine) {
                aborting |= old == mine;
                continue;
            }
            if old == mine {
                return Err(StoreError::RetiredRoot);
            }
            return Err(StoreError::RootRotationUnderWay);
        }
        Ok(aborting)
    }

    /// Whether a root rotation retired, or is retiring, the root this node holds: a
    /// serving node that finds so stops.
    /// Once it has, this handle (and its clones) begins no transaction any more.
    pub async fn root_retired(&self) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM root_rotations WHERE old_root_id = $1")
            .bind(self.keys.root_id())
            .fetch_optional(&self.read)
            .await?;
        if found.is_some() {
            self.fenced.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(found.is_some())
    }

    /// Gives this node's keyring what finished rotations kept of earlier roots.
    pub(crate) async fn hold_retired_roots(&self) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT old_root_id, replies_until FROM root_rotations WHERE finished_at IS NOT NULL",
        )
        .fetch_all(&self.read)
        .await?;
        let now = UnixMillis::now();
        for row in rows {
            let root_id: String = row.try_get("old_root_id")?;
            let until = UnixMillis(row.try_get("replies_until")?);
            let (index_id, reply_id) = kept_key_ids(&root_id, until);
            let index = self.load_key(&index_id).await?;
            let stored: Option<Vec<u8>> = sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE id = $1")
                .bind(&reply_id)
                .fetch_optional(&self.read)
                .await?;
            let reply = match stored {
                Some(wrapped) if now < until => Some(self.unwrap_key(&reply_id, wrapped)?),
                Some(_) => {
                    // The grace period is over: the key goes for good. Best effort: a
                    // node starting while another writes must not fail for it (the
                    // expired key is not held either way, and the next start retries).
                    if let Err(e) = sqlx::query("DELETE FROM data_keys WHERE id = $1")
                        .bind(&reply_id)
                        .execute(&self.write)
                        .await
                    {
                        tracing::warn!(error = %e, "deleting an expired reply key of a retired root");
                    }
                    None
                }
                None => None,
            };
            self.keys
                .hold_retired_root(&root_id, &index, reply.as_ref(), until.0)?;
        }
        Ok(())
    }

    /// The root rotation under way, if one is.
    pub async fn root_rotation_under_way(&self) -> Result<Option<RootRotation>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM root_rotations WHERE under_way = 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| root_rotation_from_row(&row)).transpose()
    }

    /// The root rotations recorded, newest first.
    pub async fn root_rotations(&self) -> Result<Vec<RootRotation>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM root_rotations ORDER BY started_at DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(root_rotation_from_row).collect()
    }

    /// Records a rotation from `old` (the keyring of the root in use until now) to this
    /// store's own root, or finds the one to it under way; audited when it starts. From
    /// then on no node with the old root serves. Refused when `old` does not wrap with
    /// the same key, is not the root the database's lookups were made with, or the
    /// audit trail's earlier checkpoints would lose the key that verifies them.
    pub async fn begin_root_rotation(
        &self,
        old: &Keyring,
        replies_until: UnixMillis,
    ) -> Result<RootRotation, StoreError> {
        let new_root = self.keys.root_id().to_owned();
        if old.root_id() == new_root {
            return Err(StoreError::Invalid("the new key file has the root in use".into()));
        }
        if old.kek_id() != self.keys.kek_id() {
            return Err(StoreError::Invalid(
                "a root rotation keeps the wrapping key: the new key file must wrap with the current one"
                    .into(),
            ));
        }
        if self.rotation_under_way().await?.is_some() {
            return Err(StoreError::Invalid(
                "a master-key rotation is under way: finish it first".into(),
            ));
        }
        let finished: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM root_rotations WHERE new_root_id = $1 AND finished_at IS NOT NULL",
        )
        .bind(&new_root)
        .fetch_optional(&self.read)
        .await?;
        if finished.is_some() {
            return Err(StoreError::Invalid(
                "the rotation to this root has already finished: install the new key file".into(),
            ));
        }
        if let Some(under_way) = self.root_rotation_under_way().await? {
            if under_way.new_root_id == new_root && under_way.old_root_id == old.root_id() {
                // Resumed: the grace period runs from now, as this run was asked.
                sqlx::query("UPDATE root_rotations SET replies_until = $1 WHERE under_way = 1")
                    .bind(replies_until.0)
                    .execute(&self.write)
                    .await?;
                return self.root_rotation_under_way().await?.ok_or(StoreError::NotFound);
            }
            return Err(StoreError::Invalid(format!(
                "another root rotation is under way (to root {}): finish it with its key file",
                under_way.new_root_id
            )));
        }
        self.refuse_unrelated_root(old).await?;
        self.refuse_losing_audit_trust(old).await?;
        let mut tx = self.begin().await?;
        let now = UnixMillis::now();
        sqlx::query(
            "INSERT INTO root_rotations (new_root_id, old_root_id, started_at, replies_until, under_way) \
             VALUES ($1, $2, $3, $4, 1)",
        )
        .bind(&new_root)
        .bind(old.root_id())
        .bind(now.0)
        .bind(replies_until.0)
        .execute(tx.conn())
        .await
        .map_err(|e| match StoreError::from_insert(e) {
            StoreError::Conflict => {
                StoreError::Invalid("another root rotation is under way, or this root was used before".into())
            }
            other => other,
        })?;
        let event = AuditEvent::new(AuditAction::RootRotationStarted, &new_root, Outcome::Success)
            .with_detail(json!({"old_root": old.root_id(), "replies_until": replies_until.0}));
        self.append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        tx.commit().await?;
        self.root_rotation_under_way().await?.ok_or(StoreError::NotFound)
    }

    /// The database's lookups were made with `old`'s root: the first account's address
    /// must index alike (an empty desk has nothing to compare).
    async fn refuse_unrelated_root(&self, old: &Keyring) -> Result<(), StoreError> {
        let first: Option<(String, String)> = sqlx::query_as(
            "SELECT id, email_index FROM users WHERE erased_at IS NULL ORDER BY created_at, id LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        let Some((id, stored)) = first else {
            return Ok(());
        };
        let user = self.get_user(&palisade_core::UserId::parse(&id)?).await?;
        let expected = old
            .blind_index()
            .compute(crate::users::EMAIL_INDEX_DOMAIN, user.email.as_str());
        if expected != stored {
            return Err(StoreError::Invalid(
                "the configured master key file's root is not the one this database was indexed with".into(),
            ));
        }
        Ok(())
    }

    /// Checkpoints signed by the old root's own audit key (named by it, or naming none)
    /// verify after the rotation only if the configuration lists that key as retired.
    async fn refuse_losing_audit_trust(&self, old: &Keyring) -> Result<(), StoreError> {
        let old_key = old.audit_derived_verifying_key();
        let old_hex = hex::encode(old_key.to_bytes());
        let signed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_checkpoints WHERE public_key IS NULL OR public_key = $1",
        )
        .bind(&old_hex)
        .fetch_one(&self.read)
        .await?;
        let trusted = self.audit_trusted_keys();
        if signed > 0 && trusted.current != old_key && !trusted.retired.contains(&old_key) {
            return Err(StoreError::Invalid(format!(
                "{signed} audit checkpoints were signed by the current root's own key {old_hex}, which the new root \
                 no longer derives: give checkpoints a key of their own first (`palisade keys audit-generate` \
                 prints [audit] settings that keep this one as retired), restart serve once, then rotate the root"
            )));
        }
        Ok(())
    }

    /// Stores what the rotation keeps of `old`'s root, as data keys wrapped like the
    /// others, inside the rotation's transaction.
    pub(crate) async fn keep_retired_root_keys(
        &self,
        tx: &mut crate::Tx,
        old: &Keyring,
        replies_until: UnixMillis,
    ) -> Result<(), StoreError> {
        let (index, reply) = old.keys_kept_after_root_rotation();
        let (index_id, reply_id) = kept_key_ids(old.root_id(), replies_until);
        let mut kept = vec![(index_id, index)];
        // No grace period: the reply key is not kept at all.
        if UnixMillis::now() < replies_until {
            kept.push((reply_id, reply));
        }
        for (id, key) in kept {
            let (wrapped, kek_id): (WrappedDataKey, String) = self.keys.wrap_tagged(&key, &id)?;
            sqlx::query(
                "INSERT INTO data_keys (id, wrapped, created_at, kek_id) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET wrapped = excluded.wrapped, kek_id = excluded.kek_id",
            )
            .bind(&id)
            .bind(wrapped.0)
            .bind(UnixMillis::now().0)
            .bind(kek_id)
            .execute(tx.conn())
            .await?;
        }
        Ok(())
    }
}

impl Store {
    /// Abandons the root rotation under way (nothing was rewritten before it
    /// finishes), audited; nodes with the old root may start again. For an operator
    /// who lost the new key file, or started the rotation by mistake.
    pub async fn abort_root_rotation(&self) -> Result<Option<RootRotation>, StoreError> {
        let Some(under_way) = self.root_rotation_under_way().await? else {
            return Ok(None);
        };
        // Only the old root may abandon it: nodes with the new file would otherwise
        // serve a database still indexed under the old one.
        if under_way.old_root_id != self.keys.root_id() {
            return Err(StoreError::Invalid(
                "abort a root rotation with the current (old) key file configured, not the new one".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let gone = sqlx::query(
            "DELETE FROM root_rotations WHERE under_way = 1 AND finished_at IS NULL AND old_root_id = $1",
        )
        .bind(self.keys.root_id())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if gone != 1 {
            return Ok(None);
        }
        let event = AuditEvent::new(
            AuditAction::RootRotationAborted,
            &under_way.new_root_id,
            Outcome::Success,
        )
        .with_detail(json!({"old_root": under_way.old_root_id}));
        self.append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        tx.commit().await?;
        Ok(Some(under_way))
    }
}

pub(crate) fn root_rotation_from_row(row: &sqlx::any::AnyRow) -> Result<RootRotation, StoreError> {
    Ok(RootRotation {
        new_root_id: row.try_get("new_root_id")?,
        old_root_id: row.try_get("old_root_id")?,
        started_at: UnixMillis(row.try_get("started_at")?),
        finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(UnixMillis),
        replies_until: UnixMillis(row.try_get("replies_until")?),
    })
}
