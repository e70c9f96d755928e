//! Who has a ticket open, and who is typing on it. Written by every page view and live
//! stream of a ticket, read back as "everyone else seen since"; never history.

use palisade_core::{TicketId, UnixMillis, UserId};
use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// Records that `user` has `ticket` open now, typing for the next `typing_for_ms`
    /// milliseconds when that is more than zero (a later call without typing does not
    /// cut it short).
    pub async fn touch_presence(
        &self,
        ticket: &TicketId,
        user: &UserId,
        typing_for_ms: i64,
    ) -> Result<(), StoreError> {
        let now = UnixMillis::now().0;
        let typing_until = if typing_for_ms > 0 { now + typing_for_ms } else { 0 };
        sqlx::query(
            "INSERT INTO ticket_presence (ticket_id, user_id, seen_at, typing_until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ticket_id, user_id) DO UPDATE SET seen_at = excluded.seen_at, \
             typing_until = CASE WHEN excluded.typing_until > ticket_presence.typing_until \
             THEN excluded.typing_until ELSE ticket_presence.typing_until END",
        )
        .bind(ticket.as_str())
        .bind(user.as_str())
        .bind(now)
        .bind(typing_until)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Everyone but `me` seen on `ticket` since `since`, with whether they are typing.
    pub async fn present_on(
        &self,
        ticket: &TicketId,
        me: &UserId,
        since: UnixMillis,
    ) -> Result<Vec<(UserId, bool)>, StoreError> {
        let now = UnixMillis::now().0;
        let rows = sqlx::query(
            "SELECT user_id, typing_until FROM ticket_presence \
             WHERE ticket_id = $1 AND user_id <> $2 AND seen_at >= $3 ORDER BY user_id",
        )
        .bind(ticket.as_str())
        .bind(me.as_str())
        .bind(since.0)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let typing_until: i64 = r.try_get("typing_until")?;
                Ok((
                    UserId::parse(&r.try_get::<String, _>("user_id")?)?,
                    typing_until > now,
                ))
            })
            .collect()
    }
}
