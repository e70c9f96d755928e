//! Reply capabilities: which ticket and participant a reply token stands for.

use palisade_core::{TicketId, UnixMillis, UserId};
use palisade_crypto::CAPABILITY_ID_LEN;
use sqlx::Row;

use crate::{Store, StoreError, Tx};

/// A live capability: the ticket and the participant its token was given to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyCapability {
    pub id: [u8; CAPABILITY_ID_LEN],
    pub ticket: TicketId,
    pub participant: UserId,
    pub key_version: u8,
}

impl Store {
    /// The participant's live capability on the ticket, created (under `key_version`)
    /// if there is none.
    pub async fn reply_capability_for(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        participant: &UserId,
        key_version: u8,
    ) -> Result<ReplyCapability, StoreError> {
        let row = sqlx::query(
            "SELECT id, key_version FROM reply_capabilities \
             WHERE ticket_id = $1 AND user_id = $2 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1",
        )
        .bind(ticket.as_str())
        .bind(participant.as_str())
        .fetch_optional(tx.conn())
        .await?;
        if let Some(row) = row {
            let id = decode_id(&row.try_get::<String, _>(0)?)?;
            let version: i64 = row.try_get(1)?;
            // A capability minted under the current key is reused; an older one is
            // replaced so mail moves to the new key as it is sent.
            if version == i64::from(key_version) {
                return Ok(ReplyCapability {
                    id,
                    ticket: ticket.clone(),
                    participant: participant.clone(),
                    key_version,
                });
            }
        }
        let id: [u8; CAPABILITY_ID_LEN] = palisade_crypto::random_bytes()?;
        sqlx::query(
            "INSERT INTO reply_capabilities (id, ticket_id, user_id, key_version, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hex::encode(id))
        .bind(ticket.as_str())
        .bind(participant.as_str())
        .bind(i64::from(key_version))
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        Ok(ReplyCapability {
            id,
            ticket: ticket.clone(),
            participant: participant.clone(),
            key_version,
        })
    }

    /// The live capability with this id, if any.
    pub async fn reply_capability(
        &self,
        id: &[u8; CAPABILITY_ID_LEN],
    ) -> Result<Option<ReplyCapability>, StoreError> {
        let row = sqlx::query(
            "SELECT ticket_id, user_id, key_version FROM reply_capabilities WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(hex::encode(id))
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let version: i64 = row.try_get(2)?;
        Ok(Some(ReplyCapability {
            id: *id,
            ticket: TicketId::parse(&row.try_get::<String, _>(0)?)?,
            participant: UserId::parse(&row.try_get::<String, _>(1)?)?,
            key_version: u8::try_from(version).map_err(|_| StoreError::Corrupt("key version".into()))?,
        }))
    }

    /// Revokes every capability of `participant` on `ticket` (they stopped being one).
    pub async fn revoke_reply_capabilities(
        &self,
        tx: &mut Tx,
        ticket: &TicketId,
        participant: &UserId,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE reply_capabilities SET revoked_at = $1 WHERE ticket_id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(UnixMillis::now().0)
        .bind(ticket.as_str())
        .bind(participant.as_str())
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected())
    }
}

fn decode_id(text: &str) -> Result<[u8; CAPABILITY_ID_LEN], StoreError> {
    let bytes = hex::decode(text).map_err(|_| StoreError::Corrupt("capability id".into()))?;
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("capability id".into()))
}
