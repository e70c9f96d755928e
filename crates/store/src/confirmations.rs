//! Whether a ticket's requester has been proved: tickets opened from an address nobody
//! authenticated (released quarantine, anonymous assistant handovers) wait here for the
//! address's owner, through a single-use link mailed to it.

use palisade_core::{TicketId, UnixMillis, UserId};
use palisade_crypto::TokenHash;
use sqlx::Row;

use crate::{Store, StoreError, Tx};

impl Store {
    /// Keeps a just-opened ticket out of its requester's (and their company's) sight
    /// until the address's owner confirms it.
    pub async fn mark_requester_unconfirmed(&self, tx: &mut Tx, ticket: &TicketId) -> Result<(), StoreError> {
        sqlx::query("UPDATE tickets SET requester_confirmed = 0 WHERE id = $1")
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// Stores the hash of a confirmation link for `ticket`, for its requester `user`.
    pub async fn create_requester_confirmation(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        user: &UserId,
        hash: &TokenHash,
        ttl_secs: i64,
    ) -> Result<(), StoreError> {
        let now = UnixMillis::now();
        sqlx::query(
            "INSERT INTO requester_confirmations (token_hash, ticket_id, user_id, created_at, expires_at, used_at) \
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

    /// Uses a confirmation link, once: the ticket it names becomes its requester's,
    /// provided the requester is still the account the link was mailed to. Unknown,
    /// used and expired links, and links for a ticket whose requester changed, are all
    /// `None`.
    pub async fn redeem_requester_confirmation(
        &self,
        tx: &mut Tx,
        hash: &TokenHash,
    ) -> Result<Option<TicketId>, StoreError> {
        let now = UnixMillis::now().0;
        // The ticket's row first, then the link's: the order the reply path takes
        // (ticket, then its links), so the two never wait for each other.
        let Some(row) = sqlx::query("SELECT ticket_id FROM requester_confirmations WHERE token_hash = $1")
            .bind(&hash.0)
            .fetch_optional(tx.conn())
            .await?
        else {
            return Ok(None);
        };
        let ticket = TicketId::parse(&row.try_get::<String, _>(0)?)?;
        self.get_ticket_for_update(tx, &ticket).await?;
        let row = sqlx::query(
            "UPDATE requester_confirmations SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(&hash.0)
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = UserId::parse(&row.try_get::<String, _>(0)?)?;
        Ok(self
            .confirm_requester(tx, &ticket, &user)
            .await?
            .then_some(ticket))
    }

    /// Marks `ticket` confirmed if `user` is its requester; true when it was waiting.
    /// Every open link for the ticket stops working either way it was confirmed.
    pub async fn confirm_requester(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        user: &UserId,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE tickets SET requester_confirmed = 1 \
             WHERE id = $1 AND requester_id = $2 AND requester_confirmed = 0",
        )
        .bind(ticket.as_str())
        .bind(user.as_str())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed > 0 {
            sqlx::query(
                "UPDATE requester_confirmations SET used_at = $1 WHERE ticket_id = $2 AND used_at IS NULL",
            )
            .bind(UnixMillis::now().0)
            .bind(ticket.as_str())
            .execute(tx.conn())
            .await?;
        }
        Ok(changed > 0)
    }
}
