//! Failure counters behind sign-in throttling. The policy (how many failures, how long
//! a block) lives in `palisade-identity`; this module only counts atomically, in the
//! database, so every node sees the same state.

use palisade_core::UnixMillis;
use sqlx::Row;

use crate::{Store, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures within the current window.
    pub failures: i64,
    pub blocked_until: UnixMillis,
}

impl Store {
    /// The state of `key`; failures older than `window_ms` no longer count.
    pub async fn throttle_state(&self, key: &str, window_ms: i64) -> Result<ThrottleState, StoreError> {
        let now = UnixMillis::now().0;
        let row = sqlx::query("SELECT failures, last_failure_at, blocked_until FROM throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(r) if r.try_get::<i64, _>("last_failure_at")? > now - window_ms => ThrottleState {
                failures: r.try_get("failures")?,
                blocked_until: UnixMillis(r.try_get("blocked_until")?),
            },
            Some(r) => ThrottleState {
                failures: 0,
                blocked_until: UnixMillis(r.try_get("blocked_until")?),
            },
            None => ThrottleState {
                failures: 0,
                blocked_until: UnixMillis(0),
            },
        })
    }

    /// Counts one failure for `key` (restarting the count when the last failure is older
    /// than `window_ms`) and sets the block that `block_for(failures)` returns, in ms.
    pub async fn record_failure(
        &self,
        key: &str,
        window_ms: i64,
        block_for: impl Fn(i64) -> i64,
    ) -> Result<ThrottleState, StoreError> {
        let now = UnixMillis::now().0;
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO throttle (key, failures, last_failure_at, blocked_until) VALUES ($1, 1, $2, 0) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN throttle.last_failure_at > $3 THEN throttle.failures + 1 ELSE 1 END, \
               last_failure_at = $2 \
             RETURNING failures, blocked_until",
        )
        .bind(key)
        .bind(now)
        .bind(now - window_ms)
        .fetch_one(tx.conn())
        .await?;
        let failures: i64 = row.try_get("failures")?;
        let previous_block: i64 = row.try_get("blocked_until")?;
        let block_ms = block_for(failures);
        let blocked_until = if block_ms > 0 {
            (now + block_ms).max(previous_block)
        } else {
            previous_block
        };
        if blocked_until != previous_block {
            sqlx::query("UPDATE throttle SET blocked_until = $1 WHERE key = $2")
                .bind(blocked_until)
                .bind(key)
                .execute(tx.conn())
                .await?;
        }
        tx.commit().await?;
        Ok(ThrottleState {
            failures,
            blocked_until: UnixMillis(blocked_until),
        })
    }

    pub async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM throttle WHERE key = $1")
            .bind(key)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
