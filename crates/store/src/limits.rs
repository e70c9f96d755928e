//! Counters behind the limits on public surfaces (help centre, assistant), and the
//! security alerts raised when a source crosses one. Both live in the database so
//! that they hold across nodes.

use palisade_core::UnixMillis;
use sqlx::Row;

use crate::{Store, StoreError, Tx};

/// One alert, as administrators see it.
#[derive(Clone, Debug)]
pub struct SecurityAlert {
    pub id: String,
    pub raised_at: UnixMillis,
    pub kind: String,
    pub source: String,
    pub detail: String,
}

/// The one upsert of a window's count, on the pool or inside a transaction.
async fn add_to_window<'e, E>(
    executor: E,
    key: &str,
    window_start: i64,
    amount: i64,
) -> Result<i64, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(
        "INSERT INTO rate_windows (key, window_start, hits) VALUES ($1, $2, $3) \
         ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_windows.hits + $3 RETURNING hits",
    )
    .bind(key)
    .bind(window_start)
    .bind(amount)
    .fetch_one(executor)
    .await?;
    Ok(row.try_get(0)?)
}

impl Store {
    /// The start of the current window of `window_ms`, to correct that same window
    /// later with [`Store::add_to_window_starting`] even after it has ended.
    pub fn rate_window_start(window_ms: i64) -> i64 {
        let now = UnixMillis::now().0;
        now - now.rem_euclid(window_ms.max(1))
    }

    /// Adds `amount` to `key`'s window that starts at `window_start`.
    pub async fn add_to_window_starting(
        &self,
        key: &str,
        window_start: i64,
        amount: i64,
    ) -> Result<i64, StoreError> {
        add_to_window(&self.write, key, window_start, amount).await
    }

    /// Counts one for `key` in the current window of `window_ms` inside `tx`, and
    /// returns the count so far: the row stays locked until `tx` ends, so concurrent
    /// transactions counting the same key each see their own number.
    pub async fn hit_rate_window_in(
        &self,
        tx: &mut Tx,
        key: &str,
        window_ms: i64,
    ) -> Result<i64, StoreError> {
        add_to_window(tx.conn(), key, Self::rate_window_start(window_ms), 1).await
    }

    /// The count so far in the current window of `window_ms`, without counting.
    pub async fn rate_window_hits(&self, key: &str, window_ms: i64) -> Result<i64, StoreError> {
        let now = UnixMillis::now().0;
        let window_start = now - now.rem_euclid(window_ms.max(1));
        let row = sqlx::query("SELECT hits FROM rate_windows WHERE key = $1 AND window_start = $2")
            .bind(key)
            .bind(window_start)
            .fetch_optional(&self.read)
            .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }

    /// Milliseconds until the current window of `window_ms` ends.
    pub fn rate_window_left(window_ms: i64) -> i64 {
        let now = UnixMillis::now().0;
        window_ms - now.rem_euclid(window_ms.max(1))
    }

    /// Forgets windows that started before `before`.
    pub async fn prune_rate_windows(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
            .bind(before.0)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records an alert unless one with the same `dedupe_key` exists; true when new.
    pub async fn raise_alert(
        &self,
        tx: &mut Tx,
        kind: &str,
        source: &str,
        detail: &str,
        dedupe_key: &str,
    ) -> Result<bool, StoreError> {
        let id = format!("alr_{}", hex::encode(palisade_crypto::random_bytes::<12>()?));
        let done = sqlx::query(
            "INSERT INTO security_alerts (id, raised_at, kind, source, detail, dedupe_key) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&id)
        .bind(UnixMillis::now().0)
        .bind(kind)
        .bind(source)
        .bind(detail)
        .bind(dedupe_key)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets alerts raised before `before` (they stay in the audit trail).
    pub async fn prune_alerts(&self, before: UnixMillis) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM security_alerts WHERE raised_at < $1")
            .bind(before.0)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// The newest alerts first.
    pub async fn security_alerts(&self, limit: u32) -> Result<Vec<SecurityAlert>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, raised_at, kind, source, detail FROM security_alerts ORDER BY raised_at DESC, id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SecurityAlert {
                    id: r.try_get("id")?,
                    raised_at: UnixMillis(r.try_get("raised_at")?),
                    kind: r.try_get("kind")?,
                    source: r.try_get("source")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
