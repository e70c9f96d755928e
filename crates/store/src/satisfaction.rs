//! Customer satisfaction as stored: one answer per ticket (its comment sealed with the
//! ticket's data key) and the single-use links mailed to ask for it.

use palisade_core::{TicketId, UserId};
use palisade_crypto::TokenHash;
use palisade_policy::{Action, Authorized};
use sqlx::Row;

use crate::keys::{open_bytes, seal};
use crate::ticket_merge::SealedColumn;
use crate::{Store, StoreError, TicketRecord, Tx};

/// The comment's column, for re-sealing when the ticket's key changes.
pub(crate) const SATISFACTION_SEALED: SealedColumn = SealedColumn {
    table: "satisfaction",
    key_column: "ticket_id",
    column: "comment_enc",
    sealed_as: "comment",
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SatisfactionRecord {
    pub ticket: TicketId,
    /// `good` or `bad`.
    pub rating: String,
    /// Empty when none was written.
    pub comment: String,
    pub rated_by: UserId,
    pub rated_at: i64,
}

/// One answer as the reports count it (no comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatingFact {
    pub ticket: TicketId,
    pub good: bool,
    pub rated_at: i64,
}

impl Store {
    /// Records (or replaces) the answer for `ticket`; needs a proof of `ticket.rate`.
    pub async fn rate_ticket(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket: &TicketRecord,
        by: &UserId,
        good: bool,
        comment: &str,
    ) -> Result<(), StoreError> {
        if !proof.covers(Action::TicketRate, ticket.id.as_str()) {
            return Err(StoreError::Unauthorized);
        }
        let key = self.load_key_tx(tx, &ticket.data_key_id).await?;
        let sealed = seal(
            &key,
            "satisfaction",
            "comment",
            ticket.id.as_str(),
            comment.as_bytes(),
        )?;
        let rating = if good { "good" } else { "bad" };
        let now = self.now().0;
        sqlx::query(
            "INSERT INTO satisfaction (ticket_id, rating, comment_enc, rated_by, rated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (ticket_id) DO UPDATE SET rating = $2, comment_enc = $3, rated_by = $4, rated_at = $5",
        )
        .bind(ticket.id.as_str())
        .bind(rating)
        .bind(sealed)
        .bind(by.as_str())
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// The answer for `ticket`, if any.
    pub async fn satisfaction_of(
        &self,
        ticket: &TicketRecord,
    ) -> Result<Option<SatisfactionRecord>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT rating, comment_enc, rated_by, rated_at FROM satisfaction WHERE ticket_id = $1",
        )
        .bind(ticket.id.as_str())
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let key = self.load_key(&ticket.data_key_id).await?;
        let comment = open_bytes(
            &key,
            "satisfaction",
            "comment",
            ticket.id.as_str(),
            &row.try_get::<Vec<u8>, _>("comment_enc")?,
        )?;
        Ok(Some(SatisfactionRecord {
            ticket: ticket.id.clone(),
            rating: row.try_get("rating")?,
            comment: String::from_utf8(comment).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            rated_by: UserId::parse(&row.try_get::<String, _>("rated_by")?)?,
            rated_at: row.try_get("rated_at")?,
        }))
    }

    /// Every answer given in `[from, to)`.
    pub async fn ratings_between(&self, from: i64, to: i64) -> Result<Vec<RatingFact>, StoreError> {
        let rows = sqlx::query(
            "SELECT ticket_id, rating, rated_at FROM satisfaction WHERE rated_at >= $1 AND rated_at < $2 \
             ORDER BY rated_at, ticket_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RatingFact {
                    ticket: TicketId::parse(&r.try_get::<String, _>("ticket_id")?)?,
                    good: r.try_get::<String, _>("rating")? == "good",
                    rated_at: r.try_get("rated_at")?,
                })
            })
            .collect()
    }

    /// Stores the hash of a survey link for `ticket`, mailed to its requester `user`.
    pub async fn create_satisfaction_link(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        user: &UserId,
        hash: &TokenHash,
        ttl_secs: i64,
    ) -> Result<(), StoreError> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO satisfaction_links (token_hash, ticket_id, user_id, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&hash.0)
        .bind(ticket.as_str())
        .bind(user.as_str())
        .bind(now.0)
        .bind(now.plus_secs(ttl_secs).0)
        .execute(tx.conn())
        .await
        .map_err(StoreError::from_insert)?;
        Ok(())
    }

    /// The ticket and person a survey link is for, while it is unused and unexpired.
    pub async fn satisfaction_link(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<(TicketId, UserId)>, StoreError> {
        let row = sqlx::query(
            "SELECT ticket_id, user_id FROM satisfaction_links WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2",
        )
        .bind(&hash.0)
        .bind(self.now().0)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok((
                TicketId::parse(&r.try_get::<String, _>(0)?)?,
                UserId::parse(&r.try_get::<String, _>(1)?)?,
            ))
        })
        .transpose()
    }

    /// Uses a survey link, once; false when it was used or expired meanwhile.
    pub async fn use_satisfaction_link(&self, tx: &mut Tx, hash: &TokenHash) -> Result<bool, StoreError> {
        let now = self.now().0;
        let done = sqlx::query(
            "UPDATE satisfaction_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(&hash.0)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(done == 1)
    }
}
