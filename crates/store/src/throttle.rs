//! Failure counters behind sign-in throttling. The policy (how many failures, how long
//! a block) lives in `palisade-identity`; this module only counts atomically, in the
//! database, so every node sees the same state.

use palisade_core::UnixMillis;
use sqlx::Row;

use crate::{Store, StoreError};

/// The answer to [`Store::reserve_attempt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The attempt may be evaluated; it is the `failures`-th in the window.
    Granted { failures: i64 },
    /// Refused unevaluated until then.
    Blocked { until: UnixMillis },
}

impl Reservation {
    /// Whole seconds until a blocked key may try again (at least one).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Granted { .. } => None,
            Self::Blocked { until } => Some(
                u64::try_from((until.0 - UnixMillis::now().0 + 999) / 1000)
                    .unwrap_or(1)
                    .max(1),
            ),
        }
    }
}

impl Store {
    /// Reserves one attempt for `key` before it is evaluated: atomically, unless `key`
    /// is blocked, counts it as a failure (restarting the count when the last one is
    /// older than `window_ms`) and blocks the *next* attempt for `block_for(count + 1)`
    /// ms. Every concurrent attempt gets its own count under the row lock (PostgreSQL)
    /// or the single writer (SQLite), so no burst evaluates more attempts than the
    /// policy allows, on one node or many. An attempt that turns out genuine gives its
    /// reservation back with [`Store::release_attempt`] or [`Store::clear_throttle`].
    pub async fn reserve_attempt(
        &self,
        key: &str,
        window_ms: i64,
        block_for: impl Fn(i64) -> i64,
    ) -> Result<Reservation, StoreError> {
        let now = UnixMillis::now().0;
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO throttle (key, failures, last_failure_at, blocked_until) VALUES ($1, 1, $2, 0) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN throttle.last_failure_at > $3 THEN throttle.failures + 1 ELSE 1 END, \
               last_failure_at = $2 \
             WHERE throttle.blocked_until <= $2 \
             RETURNING failures, blocked_until",
        )
        .bind(key)
        .bind(now)
        .bind(now - window_ms)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            let blocked_until: i64 = sqlx::query("SELECT blocked_until FROM throttle WHERE key = $1")
                .bind(key)
                .fetch_one(tx.conn())
                .await?
                .try_get(0)?;
            tx.commit().await?;
            return Ok(Reservation::Blocked {
                until: UnixMillis(blocked_until),
            });
        };
        let failures: i64 = row.try_get("failures")?;
        let previous_block: i64 = row.try_get("blocked_until")?;
        let block_ms = block_for(failures + 1);
        if block_ms > 0 {
            sqlx::query("UPDATE throttle SET blocked_until = $1 WHERE key = $2")
                .bind((now + block_ms).max(previous_block))
                .bind(key)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await?;
        Ok(Reservation::Granted { failures })
    }

    /// Gives back one reserved attempt that turned out genuine (a correct sign-in from
    /// a shared address must not count against the others there). The block the
    /// reservation set is lifted when the count it leaves would not have set one.
    pub async fn release_attempt(&self, key: &str, block_for: impl Fn(i64) -> i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "UPDATE throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END \
             WHERE key = $1 RETURNING failures",
        )
        .bind(key)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(row) = row {
            let failures: i64 = row.try_get(0)?;
            if block_for(failures + 1) == 0 {
                sqlx::query("UPDATE throttle SET blocked_until = 0 WHERE key = $1")
                    .bind(key)
                    .execute(tx.conn())
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM throttle WHERE key = $1")
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
