//! Agents' notifications, their preferences per kind, and who follows which ticket.
//! A notification names a kind and a ticket, nothing of the ticket's content: the
//! service layer reads the ticket (authorising the reader) whenever one is shown or
//! mailed.

use std::collections::HashMap;

use palisade_core::{NotificationId, TicketId, UnixMillis, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct NotificationRecord {
    pub id: NotificationId,
    pub user: UserId,
    pub kind: String,
    pub ticket: TicketId,
    pub created_at: UnixMillis,
    pub read: bool,
}

fn notification_from_row(row: &AnyRow) -> Result<NotificationRecord, StoreError> {
    Ok(NotificationRecord {
        id: NotificationId::parse(&row.try_get::<String, _>("id")?)?,
        user: UserId::parse(&row.try_get::<String, _>("user_id")?)?,
        kind: row.try_get("kind")?,
        ticket: TicketId::parse(&row.try_get::<String, _>("ticket_id")?)?,
        created_at: UnixMillis(row.try_get("created_at")?),
        read: row.try_get::<Option<i64>, _>("read_at")?.is_some(),
    })
}

const COLUMNS: &str = "id, user_id, kind, ticket_id, created_at, read_at";

impl Store {
    /// Records a notification; `digest` when the agent gets this kind by digest mail.
    pub async fn add_notification(
        &self,
        tx: &mut Tx,
        user: &UserId,
        kind: &str,
        ticket: &TicketId,
        digest: bool,
    ) -> Result<NotificationId, StoreError> {
        let id = NotificationId::generate();
        sqlx::query(
            "INSERT INTO notifications (id, user_id, kind, ticket_id, created_at, digest) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(user.as_str())
        .bind(kind)
        .bind(ticket.as_str())
        .bind(UnixMillis::now().0)
        .bind(digest.then_some("pending"))
        .execute(tx.conn())
        .await?;
        Ok(id)
    }

    /// The agent's latest notifications, newest first.
    pub async fn notifications_of(
        &self,
        user: &UserId,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(user.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(notification_from_row).collect()
    }

    /// Marks every notification of the agent read.
    pub async fn mark_notifications_read(&self, tx: &mut Tx, user: &UserId) -> Result<u64, StoreError> {
        let done =
            sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
                .bind(UnixMillis::now().0)
                .bind(user.as_str())
                .execute(tx.conn())
                .await?;
        Ok(done.rows_affected())
    }

    /// Agents with notifications waiting for their digest mail.
    pub async fn digest_recipients(&self) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT user_id FROM notifications WHERE digest = 'pending'")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// Takes the agent's pending digest notifications, marking them sent in `tx`: one
    /// statement, so two nodes sending digests at once never take the same ones.
    pub async fn take_digest(
        &self,
        tx: &mut Tx,
        user: &UserId,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE notifications SET digest = 'sent' WHERE user_id = $1 AND digest = 'pending' RETURNING {COLUMNS}"
        )))
        .bind(user.as_str())
        .fetch_all(tx.conn())
        .await?;
        let mut taken = rows
            .iter()
            .map(notification_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        taken.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(taken)
    }

    /// The agent's chosen channel per kind (kinds without a choice are absent).
    pub async fn notification_preferences(
        &self,
        user: &UserId,
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows = sqlx::query("SELECT kind, channel FROM notification_preferences WHERE user_id = $1")
            .bind(user.as_str())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("channel")?)))
            .collect()
    }

    pub async fn set_notification_preference(
        &self,
        tx: &mut Tx,
        user: &UserId,
        kind: &str,
        channel: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM notification_preferences WHERE user_id = $1 AND kind = $2")
            .bind(user.as_str())
            .bind(kind)
            .execute(tx.conn())
            .await?;
        sqlx::query("INSERT INTO notification_preferences (user_id, kind, channel) VALUES ($1, $2, $3)")
            .bind(user.as_str())
            .bind(kind)
            .bind(channel)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// Starts or stops `user` following `ticket`.
    pub async fn set_following(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        user: &UserId,
        follow: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM ticket_followers WHERE ticket_id = $1 AND user_id = $2")
            .bind(ticket.as_str())
            .bind(user.as_str())
            .execute(tx.conn())
            .await?;
        if follow {
            sqlx::query("INSERT INTO ticket_followers (ticket_id, user_id, created_at) VALUES ($1, $2, $3)")
                .bind(ticket.as_str())
                .bind(user.as_str())
                .bind(UnixMillis::now().0)
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn followers(&self, ticket: &TicketId) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query("SELECT user_id FROM ticket_followers WHERE ticket_id = $1 ORDER BY user_id")
            .bind(ticket.as_str())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }
}
