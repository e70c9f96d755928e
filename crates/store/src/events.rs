//! Domain events: one row per change, written by the service layer in the change's own
//! transaction, read back in order by whoever reacts to them.

use palisade_core::UnixMillis;
use sqlx::Row;

use crate::{Store, StoreError, Tx};

/// An event to record. `detail` is JSON of ids and states, never content.
#[derive(Clone, Debug)]
pub struct NewDomainEvent {
    pub kind: String,
    pub subject: String,
    pub channel: String,
    pub actor: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainEventRecord {
    pub seq: i64,
    pub kind: String,
    pub subject: String,
    pub channel: String,
    pub actor: String,
    pub detail: String,
    pub at: UnixMillis,
}

impl Store {
    /// Records `event` in `tx`; returns its number. The counter row stays locked until
    /// the transaction ends, so numbers are handed out in commit order.
    pub async fn record_event(&self, tx: &mut Tx, event: &NewDomainEvent) -> Result<i64, StoreError> {
        let seq: i64 =
            sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'domain_event' RETURNING value")
                .fetch_one(tx.conn())
                .await?
                .try_get(0)?;
        sqlx::query(
            "INSERT INTO domain_events (seq, kind, subject, channel, actor, detail, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(&event.kind)
        .bind(&event.subject)
        .bind(&event.channel)
        .bind(&event.actor)
        .bind(&event.detail)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        Ok(seq)
    }

    /// Events numbered after `after`, oldest first, at most `limit`.
    pub async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<DomainEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, subject, channel, actor, detail, at FROM domain_events \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DomainEventRecord {
                    seq: r.try_get("seq")?,
                    kind: r.try_get("kind")?,
                    subject: r.try_get("subject")?,
                    channel: r.try_get("channel")?,
                    actor: r.try_get("actor")?,
                    detail: r.try_get("detail")?,
                    at: UnixMillis(r.try_get("at")?),
                })
            })
            .collect()
    }
}
