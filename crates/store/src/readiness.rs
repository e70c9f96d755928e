//! What `/health/ready` asks of the database: that it answers, that it holds at least
//! this build's schema (a newer one is fine: during a rolling upgrade the new nodes
//! migrate first and the old ones keep serving), and that the master key opens the
//! data keys, so a node started with the wrong key is never put into rotation.

use sqlx::Row as _;

use crate::{Store, StoreError};

/// The database's side of readiness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub database: bool,
    pub migrated: bool,
    pub master_key: bool,
}

impl Store {
    pub async fn readiness(&self) -> Readiness {
        let mut ready = Readiness {
            database: false,
            migrated: false,
            master_key: false,
        };
        let applied = match self.applied_schema_version().await {
            Ok(applied) => applied,
            Err(e) => {
                tracing::warn!(error = %e, "readiness: the database did not answer");
                return ready;
            }
        };
        ready.database = true;
        ready.migrated = applied >= crate::schema_version();
        if !ready.migrated {
            tracing::warn!(
                applied,
                needed = crate::schema_version(),
                "readiness: the schema is older than this build's"
            );
        }
        ready.master_key = match self.org_key_opens().await {
            Ok(true) => true,
            Ok(false) => {
                tracing::warn!("readiness: the master key does not open the organisation's data key");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "readiness: reading the organisation's data key failed");
                false
            }
        };
        ready
    }

    async fn applied_schema_version(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM palisade_migrations")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The organisation's key is made when the store first connects; if it no longer
    /// opens, the keys were re-wrapped under a master key this node does not hold.
    async fn org_key_opens(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT wrapped FROM data_keys WHERE id = $1")
            .bind(crate::keys::ORG_KEY_ID)
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(false) };
        Ok(self
            .unwrap_key(crate::keys::ORG_KEY_ID, row.try_get("wrapped")?)
            .is_ok())
    }
}
