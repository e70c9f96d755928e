//! Received mail: the quarantine of unauthenticated messages and the record of
//! messages already taken (duplicates).

use std::collections::HashMap;

use palisade_core::{MessageId, TeamId, UnixMillis, UserId};
use sqlx::Row;

use crate::keys::{ORG_KEY_ID, open_bytes, seal};
use crate::{Store, StoreError, Tx};

/// Where a quarantined message stands: waiting, or decided once and for all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuarantineStatus {
    Held,
    Released,
    Discarded,
}

impl QuarantineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Released => "released",
            Self::Discarded => "discarded",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "held" => Ok(Self::Held),
            "released" => Ok(Self::Released),
            "discarded" => Ok(Self::Discarded),
            other => Err(StoreError::Corrupt(format!("quarantine status {other:?}"))),
        }
    }
}

/// A held message, opened.
#[derive(Debug)]
pub struct QuarantinedMail {
    pub id: String,
    pub team: TeamId,
    pub received_at: UnixMillis,
    pub status: QuarantineStatus,
    /// What the receiver sealed (envelope, verdict, message), opened.
    pub sealed: Vec<u8>,
}

impl Store {
    pub async fn quarantine_mail(
        &self,
        tx: &mut Tx,
        team: &TeamId,
        sealed: &[u8],
    ) -> Result<String, StoreError> {
        let id = format!("qua_{}", hex::encode(palisade_crypto::random_bytes::<12>()?));
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed = seal(&key, "quarantine", "sealed", &id, sealed)?;
        sqlx::query("INSERT INTO quarantine (id, team_id, received_at, sealed) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(team.as_str())
            .bind(UnixMillis::now().0)
            .bind(sealed)
            .execute(tx.conn())
            .await?;
        Ok(id)
    }

    /// Held messages of `teams` (every team's for `None`), oldest first: filtered in
    /// SQL, so no other team's message is even opened.
    pub async fn held_mail(
        &self,
        teams: Option<&[TeamId]>,
        limit: u32,
    ) -> Result<Vec<QuarantinedMail>, StoreError> {
        let team_filter = match teams {
            None => String::new(),
            Some([]) => " AND 1 = 0".to_owned(),
            Some(teams) => format!(" AND team_id IN ({})", crate::db::placeholders(1, teams.len())),
        };
        let sql = format!(
            "SELECT id, team_id, received_at, status, sealed FROM quarantine WHERE status = 'held'{team_filter} \
             ORDER BY received_at, id LIMIT $1"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(limit));
        for team in teams.unwrap_or_default() {
            query = query.bind(team.as_str());
        }
        let rows = query.fetch_all(&self.read).await?;
        let key = self.load_key(ORG_KEY_ID).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let sealed: Vec<u8> = r.try_get(4)?;
                Ok(QuarantinedMail {
                    sealed: open_bytes(&key, "quarantine", "sealed", &id, &sealed)?,
                    team: TeamId::parse(&r.try_get::<String, _>(1)?)?,
                    received_at: UnixMillis(r.try_get(2)?),
                    status: QuarantineStatus::parse(&r.try_get::<String, _>(3)?)?,
                    id,
                })
            })
            .collect()
    }

    /// One quarantined message, whatever its status.
    pub async fn quarantined(&self, id: &str) -> Result<Option<QuarantinedMail>, StoreError> {
        let row =
            sqlx::query("SELECT id, team_id, received_at, status, sealed FROM quarantine WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        let Some(r) = row else { return Ok(None) };
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed: Vec<u8> = r.try_get(4)?;
        Ok(Some(QuarantinedMail {
            sealed: open_bytes(&key, "quarantine", "sealed", id, &sealed)?,
            team: TeamId::parse(&r.try_get::<String, _>(1)?)?,
            received_at: UnixMillis(r.try_get(2)?),
            status: QuarantineStatus::parse(&r.try_get::<String, _>(3)?)?,
            id: r.try_get(0)?,
        }))
    }

    /// Records an agent's decision on a held message; false if it was not held.
    pub async fn decide_quarantined(
        &self,
        tx: &mut Tx,
        id: &str,
        decision: QuarantineStatus,
        by: &UserId,
    ) -> Result<bool, StoreError> {
        if decision == QuarantineStatus::Held {
            return Err(StoreError::Invalid("a decision releases or discards".into()));
        }
        let done = sqlx::query(
            "UPDATE quarantine SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND status = 'held'",
        )
        .bind(decision.as_str())
        .bind(by.as_str())
        .bind(UnixMillis::now().0)
        .bind(id)
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Remembers (sender, Message-ID); false if it was already there (a duplicate).
    pub async fn first_receipt(
        &self,
        tx: &mut Tx,
        sender: &str,
        message_id: &str,
    ) -> Result<bool, StoreError> {
        let senders = self.keys().blind_indexes("received.sender", sender);
        let message_ids = self.keys().blind_indexes("received.message_id", message_id);
        // Under each root held: a message received before a root rotation is still a
        // duplicate after it.
        for (sender_index, message_index) in senders.iter().zip(&message_ids) {
            let exists = sqlx::query(
                "SELECT 1 FROM received_messages WHERE sender_index = $1 AND message_id_index = $2",
            )
            .bind(sender_index)
            .bind(message_index)
            .fetch_optional(tx.conn())
            .await?;
            if exists.is_some() {
                return Ok(false);
            }
        }
        let (Some(sender_index), Some(message_index)) = (senders.first(), message_ids.first()) else {
            return Ok(true);
        };
        sqlx::query(
            "INSERT INTO received_messages (sender_index, message_id_index, received_at) VALUES ($1, $2, $3)",
        )
        .bind(sender_index)
        .bind(message_index)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        Ok(true)
    }

    /// Remembers that authenticated mail from `domain` reached a ticket.
    pub async fn remember_domain(&self, tx: &mut Tx, domain: &str) -> Result<(), StoreError> {
        let domain = domain.to_ascii_lowercase();
        let index = self.keys().blind_index().compute("known_domains.domain", &domain);
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed = seal(&key, "known_domains", "domain_enc", &index, domain.as_bytes())?;
        sqlx::query(
            "INSERT INTO known_domains (domain_index, domain_enc, last_seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (domain_index) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .bind(&index)
        .bind(sealed)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// The most recently seen known sender domains, at most `limit`.
    pub async fn known_domains(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT domain_index, domain_enc FROM known_domains ORDER BY last_seen_at DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        let key = self.load_key(ORG_KEY_ID).await?;
        rows.iter()
            .map(|r| {
                let index: String = r.try_get(0)?;
                let sealed: Vec<u8> = r.try_get(1)?;
                let plain = open_bytes(&key, "known_domains", "domain_enc", &index, &sealed)?;
                String::from_utf8(plain).map_err(|_| StoreError::Corrupt("known domain".into()))
            })
            .collect()
    }

    /// Records how the message that arrived by mail was authenticated.
    pub async fn record_mail_provenance(
        &self,
        tx: &mut Tx,
        message: &MessageId,
        verdict: &[u8],
    ) -> Result<(), StoreError> {
        let key = self.load_key(ORG_KEY_ID).await?;
        let sealed = seal(&key, "mail_provenance", "verdict_enc", message.as_str(), verdict)?;
        sqlx::query("INSERT INTO mail_provenance (message_id, verdict_enc) VALUES ($1, $2)")
            .bind(message.as_str())
            .bind(sealed)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// The recorded verdicts of those of `messages` that arrived by mail.
    pub async fn mail_provenance(
        &self,
        messages: &[MessageId],
    ) -> Result<HashMap<MessageId, Vec<u8>>, StoreError> {
        let mut out = HashMap::new();
        if messages.is_empty() {
            return Ok(out);
        }
        let key = self.load_key(ORG_KEY_ID).await?;
        for chunk in messages.chunks(200) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT message_id, verdict_enc FROM mail_provenance WHERE message_id IN ({})",
                placeholders.join(", ")
            );
            // Only numbered placeholders are formatted in; the ids are bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.as_str());
            }
            for row in query.fetch_all(&self.read).await? {
                let id: String = row.try_get(0)?;
                let sealed: Vec<u8> = row.try_get(1)?;
                let verdict = open_bytes(&key, "mail_provenance", "verdict_enc", &id, &sealed)?;
                out.insert(MessageId::parse(&id)?, verdict);
            }
        }
        Ok(out)
    }

    /// Records the single use of token `token_id` from `issuer` until `expires_at`
    /// (Unix milliseconds); false if it was used before. Expired records are dropped.
    pub async fn first_use_of_token_id(
        &self,
        issuer: &str,
        token_id: &str,
        expires_at: UnixMillis,
    ) -> Result<bool, StoreError> {
        let hashes = self
            .keys()
            .blind_indexes("used_token_ids.id", &format!("{issuer}\u{0}{token_id}"));
        let now = UnixMillis::now().0;
        sqlx::query("DELETE FROM used_token_ids WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?;
        let Some((hash, retired)) = hashes.split_first() else {
            return Ok(false);
        };
        // Used before a root rotation: recorded under the retired root.
        for old in retired {
            let used: Option<i64> = sqlx::query_scalar("SELECT 1 FROM used_token_ids WHERE id_hash = $1")
                .bind(old)
                .fetch_optional(&self.read)
                .await?;
            if used.is_some() {
                return Ok(false);
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO used_token_ids (id_hash, expires_at) VALUES ($1, $2) ON CONFLICT (id_hash) DO NOTHING",
        )
        .bind(hash)
        .bind(expires_at.0)
        .execute(&self.write)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }
}
