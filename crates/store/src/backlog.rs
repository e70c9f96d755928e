//! What the metrics listener reads at each scrape: the outbox's queue, how far each
//! event subscriber is behind, and the connection pools. Each is one indexed query (or
//! none), so a scrape every few seconds costs the database nothing it notices.

use palisade_core::UnixMillis;
use sqlx::Row as _;

use crate::{Store, StoreError};

/// The outbox's queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub queued: i64,
    pub failed: i64,
    /// When the oldest queued mail was queued.
    pub oldest_queued_at: Option<i64>,
}

/// One event subscriber's position against the newest event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventBacklog {
    pub behind: i64,
    /// When the oldest event it has not handled happened.
    pub oldest_at: Option<i64>,
}

/// Connections open and idle in each pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub read_open: u32,
    pub read_idle: u32,
    pub write_open: u32,
    pub write_idle: u32,
}

impl Store {
    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog, StoreError> {
        let queued = sqlx::query("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'queued'")
            .fetch_one(&self.read)
            .await?;
        let failed = sqlx::query("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")
            .fetch_one(&self.read)
            .await?;
        Ok(OutboxBacklog {
            queued: queued.try_get(0)?,
            failed: failed.try_get(0)?,
            oldest_queued_at: queued.try_get(1)?,
        })
    }

    /// How far the subscriber `name` is behind; `None` before it first ran.
    pub async fn event_backlog(&self, name: &str) -> Result<Option<EventBacklog>, StoreError> {
        let Some(position) = self.subscription_position(name).await? else {
            return Ok(None);
        };
        let newest = self.last_event().await?;
        let oldest_at = sqlx::query("SELECT at FROM domain_events WHERE seq > $1 ORDER BY seq LIMIT 1")
            .bind(position)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?;
        Ok(Some(EventBacklog {
            behind: (newest - position).max(0),
            oldest_at,
        }))
    }

    pub fn pool_stats(&self) -> PoolStats {
        let idle = |pool: &sqlx::AnyPool| u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
        PoolStats {
            read_open: self.read.size(),
            read_idle: idle(&self.read),
            write_open: self.write.size(),
            write_idle: idle(&self.write),
        }
    }
}

/// Seconds from `at` (Unix milliseconds) to now; zero for none.
pub fn age_seconds(at: Option<i64>) -> f64 {
    at.map_or(0.0, |at| {
        let millis = UnixMillis::now().0.saturating_sub(at).max(0);
        // Milliseconds to seconds; exact to the millisecond for any age a backlog has.
        f64::from(u32::try_from(millis / 1000).unwrap_or(u32::MAX))
            + f64::from(u32::try_from(millis % 1000).unwrap_or(0)) / 1000.0
    })
}
