//! Merging a duplicate into its survivor, and links between related tickets.
//!
//! Every sealed value of a ticket is sealed under its requester's data key, so what
//! moves to a survivor of another requester is opened and sealed again under the
//! survivor's key: nothing is copied as ciphertext, and the value's place (bound into
//! the seal) stays its own row.

use palisade_core::{TicketId, TicketStatus, UserId};
use palisade_crypto::DataKey;
use palisade_policy::{Action, Authorized};
use sqlx::Row;

use crate::keys::{open_bytes, seal};
use crate::{Store, StoreError, TicketRecord, Tx};

/// What a merge moved to the survivor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeMoved {
    pub messages: usize,
    pub attachments: usize,
    /// Participants newly added to the survivor (the duplicate's requester among them).
    pub participants: usize,
}

/// One sealed column of a table keyed by its own `id`-like column.
pub(crate) struct SealedColumn {
    pub(crate) table: &'static str,
    pub(crate) key_column: &'static str,
    pub(crate) column: &'static str,
    /// The name bound into the seal.
    pub(crate) sealed_as: &'static str,
}

pub(crate) const SEALED: [SealedColumn; 5] = [
    SealedColumn {
        table: "messages",
        key_column: "id",
        column: "body_enc",
        sealed_as: "body",
    },
    SealedColumn {
        table: "attachments",
        key_column: "id",
        column: "filename_enc",
        sealed_as: "filename",
    },
    SealedColumn {
        table: "attachments",
        key_column: "id",
        column: "content_enc",
        sealed_as: "content",
    },
    SealedColumn {
        table: "message_originals",
        key_column: "message_id",
        column: "raw_enc",
        sealed_as: "raw",
    },
    SealedColumn {
        table: "message_html",
        key_column: "message_id",
        column: "html_enc",
        sealed_as: "html",
    },
];

impl Store {
    /// Moves everything of `duplicate` to `survivor` and closes the duplicate, pointing
    /// it at the survivor. Both proofs (`ticket.merge` on each) must be given; both
    /// tickets must have been read for update in `tx`.
    pub async fn merge_tickets(
        &self,
        tx: &mut Tx,
        proofs: &[Authorized],
        duplicate: &TicketRecord,
        survivor: &TicketRecord,
    ) -> Result<MergeMoved, StoreError> {
        let allowed = |t: &TicketId| proofs.iter().any(|p| p.covers(Action::TicketMerge, t.as_str()));
        if !allowed(&duplicate.id) || !allowed(&survivor.id) || duplicate.id == survivor.id {
            return Err(StoreError::Unauthorized);
        }
        let from_key = self.load_key_tx(tx, &duplicate.data_key_id).await?;
        let to_key = self.load_key_tx(tx, &survivor.data_key_id).await?;
        for sealed in &SEALED {
            self.reseal(tx, sealed, &duplicate.id, &from_key, &to_key).await?;
        }
        let mut moved = MergeMoved::default();
        for (table, counter) in [
            ("messages", &mut moved.messages),
            ("attachments", &mut moved.attachments),
        ] {
            let sql = format!("UPDATE {table} SET ticket_id = $1 WHERE ticket_id = $2");
            *counter = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(survivor.id.as_str())
                .bind(duplicate.id.as_str())
                .execute(tx.conn())
                .await?
                .rows_affected() as usize;
        }
        for table in ["message_originals", "message_html"] {
            let sql = format!("UPDATE {table} SET ticket_id = $1 WHERE ticket_id = $2");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(survivor.id.as_str())
                .bind(duplicate.id.as_str())
                .execute(tx.conn())
                .await?;
        }
        // Words stay findable, each with the visibility it had. Pending texts first: on
        // PostgreSQL this waits for a merge holding them, whose terms the copy below
        // then sees.
        sqlx::query("UPDATE search_pending SET ticket_id = $1 WHERE ticket_id = $2")
            .bind(survivor.id.as_str())
            .bind(duplicate.id.as_str())
            .execute(tx.conn())
            .await?;
        sqlx::query(
            "INSERT INTO search_terms (term, ticket_created_at, ticket_id, visibility) \
             SELECT term, (SELECT created_at FROM tickets WHERE id = $1), $1, visibility \
             FROM search_terms WHERE ticket_id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(survivor.id.as_str())
        .bind(duplicate.id.as_str())
        .execute(tx.conn())
        .await?;
        sqlx::query("DELETE FROM search_terms WHERE ticket_id = $1")
            .bind(duplicate.id.as_str())
            .execute(tx.conn())
            .await?;
        let mut participants: Vec<&UserId> = duplicate.collaborators.iter().collect();
        // A requester nobody has confirmed may be whoever typed the address: they do
        // not become a participant of someone else's ticket.
        if duplicate.requester_confirmed {
            participants.push(&duplicate.requester);
        }
        for user in participants {
            if *user == survivor.requester || survivor.collaborators.contains(user) {
                continue;
            }
            moved.participants += sqlx::query(
                "INSERT INTO ticket_collaborators (ticket_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(survivor.id.as_str())
            .bind(user.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected() as usize;
        }
        for (table, extra) in [
            ("ticket_tags", "tag"),
            ("ticket_followers", "user_id, created_at"),
        ] {
            let sql = format!(
                "INSERT INTO {table} (ticket_id, {extra}) SELECT $1, {extra} FROM {table} WHERE ticket_id = $2 \
                 ON CONFLICT DO NOTHING"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(survivor.id.as_str())
                .bind(duplicate.id.as_str())
                .execute(tx.conn())
                .await?;
        }
        let now = self.now().0;
        sqlx::query(
            "UPDATE tickets SET merged_into = $1, status = $2, version = version + 1, updated_at = $3 WHERE id = $4",
        )
        .bind(survivor.id.as_str())
        .bind(TicketStatus::Closed.as_str())
        .bind(now)
        .bind(duplicate.id.as_str())
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE tickets SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(survivor.id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(moved)
    }

    /// Opens every value of `column` that belongs to `ticket` with `from` and seals it
    /// again with `to`, in place.
    pub(crate) async fn reseal(
        &self,
        tx: &mut Tx,
        sealed: &SealedColumn,
        ticket: &TicketId,
        from: &DataKey,
        to: &DataKey,
    ) -> Result<(), StoreError> {
        let SealedColumn {
            table,
            key_column,
            column,
            sealed_as,
        } = sealed;
        let sql =
            format!("SELECT {key_column} AS row_id, {column} AS sealed FROM {table} WHERE ticket_id = $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ticket.as_str())
            .fetch_all(tx.conn())
            .await?;
        let update = format!("UPDATE {table} SET {column} = $1 WHERE {key_column} = $2");
        for row in rows {
            let row_id: String = row.try_get("row_id")?;
            let plain = open_bytes(
                from,
                table,
                sealed_as,
                &row_id,
                &row.try_get::<Vec<u8>, _>("sealed")?,
            )?;
            sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                .bind(seal(to, table, sealed_as, &row_id, &plain)?)
                .bind(&row_id)
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// Links two tickets (in either order); false when they already were. Proofs of
    /// `ticket.link` on both are required.
    pub async fn link_tickets(
        &self,
        tx: &mut Tx,
        proofs: &[Authorized],
        one: &TicketId,
        other: &TicketId,
        by: &UserId,
    ) -> Result<bool, StoreError> {
        let (low, high) = link_pair(proofs, one, other)?;
        let added = sqlx::query(
            "INSERT INTO ticket_links (ticket_id, linked_id, created_by, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(low.as_str())
        .bind(high.as_str())
        .bind(by.as_str())
        .bind(self.now().0)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(added == 1)
    }

    /// Removes the link between two tickets; false when there was none.
    pub async fn unlink_tickets(
        &self,
        tx: &mut Tx,
        proofs: &[Authorized],
        one: &TicketId,
        other: &TicketId,
    ) -> Result<bool, StoreError> {
        let (low, high) = link_pair(proofs, one, other)?;
        let removed = sqlx::query("DELETE FROM ticket_links WHERE ticket_id = $1 AND linked_id = $2")
            .bind(low.as_str())
            .bind(high.as_str())
            .execute(tx.conn())
            .await?
            .rows_affected();
        Ok(removed == 1)
    }

    /// The tickets linked to `ticket`, oldest link first (each still to be authorised
    /// for whoever asks).
    pub async fn linked_tickets(&self, ticket: &TicketId) -> Result<Vec<TicketId>, StoreError> {
        let rows = sqlx::query(
            "SELECT CASE WHEN ticket_id = $1 THEN linked_id ELSE ticket_id END AS other FROM ticket_links \
             WHERE ticket_id = $1 OR linked_id = $1 ORDER BY created_at, other",
        )
        .bind(ticket.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok(TicketId::parse(&r.try_get::<String, _>("other")?)?))
            .collect()
    }

    /// The ticket numbered `number`, if any (still to be authorised).
    pub async fn ticket_id_by_number(&self, number: i64) -> Result<Option<TicketId>, StoreError> {
        let row = sqlx::query("SELECT id FROM tickets WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok(TicketId::parse(&r.try_get::<String, _>("id")?)?))
            .transpose()
    }
}

fn link_pair<'a>(
    proofs: &[Authorized],
    one: &'a TicketId,
    other: &'a TicketId,
) -> Result<(&'a TicketId, &'a TicketId), StoreError> {
    let allowed = |t: &TicketId| proofs.iter().any(|p| p.covers(Action::TicketLink, t.as_str()));
    if one == other || !allowed(one) || !allowed(other) {
        return Err(StoreError::Unauthorized);
    }
    Ok(if one.as_str() < other.as_str() {
        (one, other)
    } else {
        (other, one)
    })
}
