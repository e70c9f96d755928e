//! The durable outbox: mail is queued inside the transaction that caused it, claimed
//! by one worker at a time with a lease, retried with back-off, and its content wiped
//! once sent or given up.

use palisade_core::{EmailAddress, OutboxId, OutgoingMail, UnixMillis};
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, open_bytes, seal};
use crate::{Store, StoreError, Tx};

/// A queued message as a worker claimed it.
#[derive(Debug)]
pub struct ClaimedMail {
    pub id: OutboxId,
    pub kind: String,
    /// The sealed envelope (recipient, subject, body), opened.
    pub envelope: Vec<u8>,
    /// Including this attempt.
    pub attempts: i64,
    /// Named (MACed) in the envelope sender, so a bounce finds this row.
    pub bounce_id: [u8; BOUNCE_ID_LEN],
}

pub const BOUNCE_ID_LEN: usize = 10;

/// Where a message stands, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStatus {
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl Store {
    /// Queues a message in the caller's transaction: it exists exactly if the change
    /// that caused it commits.
    pub async fn enqueue_mail(
        &self,
        tx: &mut Tx,
        kind: &str,
        mail: &OutgoingMail,
    ) -> Result<OutboxId, StoreError> {
        let id = OutboxId::generate();
        let envelope = zeroize::Zeroizing::new(
            serde_json::to_vec(mail).map_err(|e| StoreError::Invalid(format!("outgoing mail: {e}")))?,
        );
        let recipient = EmailAddress::parse(&mail.to)
            .map_err(|e| StoreError::Invalid(format!("outgoing mail recipient: {e}")))?;
        if recipient.domain() == crate::users::ERASED_DOMAIN {
            // An erased person's placeholder: nobody receives mail there, and nothing
            // about them is kept again. The change the mail was for still happens.
            tracing::info!(kind, "mail to an erased person dropped");
            return Ok(id);
        }
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed = seal(&key, "outbox", "envelope_enc", id.as_str(), &envelope)?;
        let bounce_id = hex::encode(palisade_crypto::random_bytes::<BOUNCE_ID_LEN>()?);
        let now = UnixMillis::now().0;
        sqlx::query(
            "INSERT INTO outbox (id, kind, envelope_enc, status, next_attempt_at, created_at, bounce_id, \
             recipient_index) VALUES ($1, $2, $3, 'queued', $4, $4, $5, $6)",
        )
        .bind(id.as_str())
        .bind(kind)
        .bind(sealed)
        .bind(now)
        .bind(bounce_id)
        .bind(self.email_index(&recipient))
        .execute(tx.conn())
        .await?;
        Ok(id)
    }

    /// A bounce for the message with `bounce_id`, in the caller's transaction: marks
    /// its recipient's address, once per message. False when no message has that id
    /// (or its bounce was counted already).
    pub async fn record_bounce(
        &self,
        tx: &mut Tx,
        bounce_id: &[u8; BOUNCE_ID_LEN],
    ) -> Result<bool, StoreError> {
        let now = UnixMillis::now().0;
        let row = sqlx::query(
            "UPDATE outbox SET bounced_at = $1 WHERE bounce_id = $2 AND bounced_at IS NULL \
             RETURNING recipient_index",
        )
        .bind(now)
        .bind(hex::encode(bounce_id))
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else { return Ok(false) };
        let Some(index): Option<String> = row.try_get(0)? else {
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO bounced_addresses (address_index, bounces, last_bounce_at) VALUES ($1, 1, $2) \
             ON CONFLICT (address_index) DO UPDATE SET bounces = bounced_addresses.bounces + 1, \
             last_bounce_at = excluded.last_bounce_at",
        )
        .bind(index)
        .bind(now)
        .execute(tx.conn())
        .await?;
        Ok(true)
    }

    /// How often mail to `address` bounced, and when last; `None` if never.
    pub async fn address_bounces(
        &self,
        address: &EmailAddress,
    ) -> Result<Option<(i64, UnixMillis)>, StoreError> {
        // Bounces recorded before a root rotation are under the retired root's index.
        let indexes = self
            .keys
            .blind_indexes(crate::users::EMAIL_INDEX_DOMAIN, address.as_str());
        let sql = format!(
            "SELECT CAST(SUM(bounces) AS BIGINT), MAX(last_bounce_at) FROM bounced_addresses WHERE address_index IN ({})",
            crate::db::placeholders(0, indexes.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for index in &indexes {
            query = query.bind(index);
        }
        let row = query.fetch_one(&self.read).await?;
        let bounces: Option<i64> = row.try_get(0)?;
        let last: Option<i64> = row.try_get(1)?;
        Ok(bounces.zip(last).map(|(n, at)| (n, UnixMillis(at))))
    }

    /// Claims the oldest due message for `lease_secs`, or `None`. The re-check of the
    /// lease in the outer UPDATE makes a race between nodes end with one winner.
    /// Gives back every queued message `worker` still holds (it is stopping).
    pub async fn release_mail_claims(&self, worker: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET lease_until = 0, lease_owner = NULL WHERE lease_owner = $1 AND status = 'queued' AND lease_until > 0",
        )
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn claim_mail(&self, worker: &str, lease_secs: i64) -> Result<Option<ClaimedMail>, StoreError> {
        let now = UnixMillis::now();
        let row = sqlx::query(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $3 \
                         AND lease_until <= $3 ORDER BY next_attempt_at LIMIT 1) \
               AND status = 'queued' AND lease_until <= $3 \
             RETURNING id, kind, envelope_enc, attempts, bounce_id",
        )
        .bind(worker)
        .bind(now.plus_secs(lease_secs).0)
        .bind(now.0)
        .fetch_optional(&self.write)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id = OutboxId::parse(&row.try_get::<String, _>(0)?)?;
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed: Vec<u8> = row.try_get(2)?;
        let mut bounce_id = [0u8; BOUNCE_ID_LEN];
        let stored: Option<String> = row.try_get(4)?;
        hex::decode_to_slice(stored.unwrap_or_default(), &mut bounce_id)
            .map_err(|_| StoreError::Invalid("outbox row without a bounce id".into()))?;
        Ok(Some(ClaimedMail {
            bounce_id,
            envelope: open_bytes(&key, "outbox", "envelope_enc", id.as_str(), &sealed)?,
            id,
            kind: row.try_get(1)?,
            attempts: row.try_get(3)?,
        }))
    }

    /// Marks a claimed message sent and wipes its content; false if the lease was lost.
    pub async fn mail_sent(&self, id: &OutboxId, worker: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, envelope_enc = $2, lease_until = 0, last_error = NULL \
             WHERE id = $3 AND lease_owner = $4",
        )
        .bind(UnixMillis::now().0)
        .bind(Vec::<u8>::new())
        .bind(id.as_str())
        .bind(worker)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: retried after `retry_in_secs`, or, with `None`, given
    /// up (content wiped).
    pub async fn mail_failed(
        &self,
        id: &OutboxId,
        worker: &str,
        error: &str,
        retry_in_secs: Option<i64>,
    ) -> Result<(), StoreError> {
        // Relays quote the recipient in their answers; the error is kept in clear, so
        // addresses are left out of it.
        let error: String = error
            .split(' ')
            .map(|word| if word.contains('@') { "<address>" } else { word })
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(500)
            .collect();
        match retry_in_secs {
            Some(secs) => {
                sqlx::query(
                    "UPDATE outbox SET next_attempt_at = $1, lease_until = 0, last_error = $2 \
                     WHERE id = $3 AND lease_owner = $4",
                )
                .bind(UnixMillis::now().plus_secs(secs).0)
                .bind(error)
                .bind(id.as_str())
                .bind(worker)
                .execute(&self.write)
                .await?;
            }
            None => {
                sqlx::query(
                    "UPDATE outbox SET status = 'failed', envelope_enc = $1, lease_until = 0, last_error = $2 \
                     WHERE id = $3 AND lease_owner = $4",
                )
                .bind(Vec::<u8>::new())
                .bind(error)
                .bind(id.as_str())
                .bind(worker)
                .execute(&self.write)
                .await?;
            }
        }
        Ok(())
    }

    pub async fn outbox_status(&self, id: &OutboxId) -> Result<Option<OutboxStatus>, StoreError> {
        let row = sqlx::query("SELECT kind, status, attempts, last_error FROM outbox WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(OutboxStatus {
                kind: r.try_get(0)?,
                status: r.try_get(1)?,
                attempts: r.try_get(2)?,
                last_error: r.try_get(3)?,
            })
        })
        .transpose()
    }

    /// Messages of `kind` by status, oldest first (for operators and tests).
    pub async fn outbox_ids(&self, kind: &str) -> Result<Vec<OutboxId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM outbox WHERE kind = $1 ORDER BY created_at, id")
            .bind(kind)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(OutboxId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }
}
