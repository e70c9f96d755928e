//! Domain events: one row per change, written by the service layer in the change's own
//! transaction, read back in order by whoever reacts to them.

use palisade_core::UnixMillis;
use sqlx::Row;

use crate::{Dialect, Store, StoreError, Tx};

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
        // PostgreSQL takes the number and writes the event in one round trip while the
        // counter is held; SQLite's one writer asks for the number first.
        let (sql, seq) = match tx.dialect {
            Dialect::Postgres => (
                "WITH counter AS (UPDATE counters SET value = value + 1 WHERE name = 'domain_event' RETURNING value) \
                 INSERT INTO domain_events (seq, kind, subject, channel, actor, detail, at) \
                 SELECT value, $1, $2, $3, $4, $5, $6 FROM counter RETURNING seq",
                None,
            ),
            Dialect::Sqlite => (
                "INSERT INTO domain_events (kind, subject, channel, actor, detail, at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
                Some(
                    sqlx::query(
                        "UPDATE counters SET value = value + 1 WHERE name = 'domain_event' RETURNING value",
                    )
                    .fetch_one(tx.conn())
                    .await?
                    .try_get::<i64, _>(0)?,
                ),
            ),
        };
        let mut insert = sqlx::query(sql)
            .bind(&event.kind)
            .bind(&event.subject)
            .bind(&event.channel)
            .bind(&event.actor)
            .bind(&event.detail)
            .bind(self.now().0);
        if let Some(seq) = seq {
            insert = insert.bind(seq);
        }
        Ok(insert.fetch_one(tx.conn()).await?.try_get(0)?)
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
        rows.iter().map(event_from).collect()
    }

    /// What happened to `subject` (a ticket's id), oldest first, up to event `until`
    /// (inclusive): the history its service-level clocks replay.
    pub async fn events_of(&self, subject: &str, until: i64) -> Result<Vec<DomainEventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, subject, channel, actor, detail, at FROM domain_events \
             WHERE subject = $1 AND seq <= $2 ORDER BY seq",
        )
        .bind(subject)
        .bind(until)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(event_from).collect()
    }
}

impl Store {
    /// Takes (or renews) the lease on subscriber `name` for `owner` until `lease_ms`
    /// from now, if nobody else holds it; returns the subscriber's position then. A new
    /// subscriber starts at `start` (the events before it are not its business).
    pub async fn lease_subscription(
        &self,
        name: &str,
        owner: &str,
        lease_ms: i64,
        start: i64,
    ) -> Result<Option<i64>, StoreError> {
        let now = UnixMillis::now().0;
        sqlx::query(
            "INSERT INTO event_subscriptions (name, position, lease_owner, lease_until) VALUES ($1, $2, NULL, 0) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(start)
        .execute(&self.write)
        .await?;
        let row = sqlx::query(
            "UPDATE event_subscriptions SET lease_owner = $1, lease_until = $2 \
             WHERE name = $3 AND (lease_until <= $4 OR lease_owner = $1) RETURNING position",
        )
        .bind(owner)
        .bind(now + lease_ms)
        .bind(name)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
    }

    /// Moves subscriber `name` to `position` in the transaction of what it did with the
    /// events up to there; false (and the caller rolls back) if `owner` lost the lease.
    pub async fn advance_subscription(
        &self,
        tx: &mut Tx,
        name: &str,
        owner: &str,
        position: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        // Each step also renews the lease, so a long batch is not taken over midway.
        let now = UnixMillis::now().0;
        let done = sqlx::query(
            "UPDATE event_subscriptions SET position = $1, lease_until = $4 \
             WHERE name = $2 AND lease_owner = $3 AND position < $1 AND lease_until > $5",
        )
        .bind(position)
        .bind(name)
        .bind(owner)
        .bind(now + lease_ms)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Moves `name` to `position` on its own, for work whose result lies outside the
    /// database (a backup written, entries exported); false if `owner` lost the lease.
    pub async fn advance_lease(
        &self,
        name: &str,
        owner: &str,
        position: i64,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let advanced = self
            .advance_subscription(&mut tx, name, owner, position, lease_ms)
            .await?;
        tx.commit().await?;
        Ok(advanced)
    }

    /// Where subscriber (or scheduled work) `name` stands; `None` before it first ran.
    pub async fn subscription_position(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT position FROM event_subscriptions WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
    }

    /// Gives up every lease `owner` holds (a node stopping): its subscribers, export
    /// cursors and scheduled work pass to another node at once.
    pub async fn release_leases_of(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE event_subscriptions SET lease_until = 0 WHERE lease_owner = $1 AND lease_until > 0",
        )
        .bind(owner)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    /// Gives up `owner`'s lease on `name` (for work that takes one per round).
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE event_subscriptions SET lease_until = 0 WHERE name = $1 AND lease_owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The newest event's number (0 before the first).
    pub async fn last_event(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT value FROM counters WHERE name = 'domain_event'")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get(0)?)
    }
}

fn event_from(r: &sqlx::any::AnyRow) -> Result<DomainEventRecord, StoreError> {
    Ok(DomainEventRecord {
        seq: r.try_get("seq")?,
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        channel: r.try_get("channel")?,
        actor: r.try_get("actor")?,
        detail: r.try_get("detail")?,
        at: UnixMillis(r.try_get("at")?),
    })
}
