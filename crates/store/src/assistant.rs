//! Assistant conversations: who owns them and how that was verified, the notice the
//! customer agreed to, their redacted transcript (sealed with the owner's data key, or
//! the organisation's for anonymous ones), and customers' standing human-only choice.

use palisade_core::{ArticleId, ConversationId, TicketId, UnixMillis, UserId};
use palisade_crypto::TokenHash;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::keys::{ORG_KEY_ID, open_text, seal};
use crate::{Store, StoreError, Tx};

/// How a conversation's owner was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// Nobody: the conversation acts as a visitor whoever is signed in.
    Anonymous,
    /// The owner's own portal session, needed again for every turn.
    PortalSession,
    /// The site's signed identity token; the conversation's secret carries it for a while.
    SiteToken,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::PortalSession => "portal_session",
            Self::SiteToken => "site_token",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "anonymous" => Ok(Self::Anonymous),
            "portal_session" => Ok(Self::PortalSession),
            "site_token" => Ok(Self::SiteToken),
            other => Err(StoreError::Corrupt(format!(
                "conversation verification {other:?}"
            ))),
        }
    }
}

/// Where a conversation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversationState {
    /// The customer and the assistant are talking.
    Open,
    /// A handover request has claimed it (given back if that request fails).
    HandingOver,
    /// A person has it now, through a ticket or because automated answers stopped.
    HandedOver,
}

impl ConversationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::HandingOver => "handing_over",
            Self::HandedOver => "handed_over",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "open" => Ok(Self::Open),
            "handing_over" => Ok(Self::HandingOver),
            "handed_over" => Ok(Self::HandedOver),
            other => Err(StoreError::Corrupt(format!("conversation state {other:?}"))),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConversationRecord {
    pub id: ConversationId,
    pub secret_hash: TokenHash,
    /// `None`: anonymous.
    pub user: Option<UserId>,
    pub verification: Verification,
    pub notice_version: String,
    pub human_only: bool,
    pub state: ConversationState,
    pub ticket: Option<TicketId>,
    pub misses: i64,
    pub messages: i64,
    pub created_at: UnixMillis,
}

#[derive(Clone, Debug)]
pub struct NewConversation {
    pub user: Option<UserId>,
    pub verification: Verification,
    pub notice_version: String,
    pub human_only: bool,
    pub secret_hash: TokenHash,
    pub client_ip: String,
}

#[derive(Clone, Debug)]
pub struct TranscriptEntry {
    pub seq: i64,
    /// customer or assistant.
    pub author: String,
    pub body: String,
    pub cited: Vec<ArticleId>,
    pub at: UnixMillis,
}

/// One turn of a conversation, written together by [`Store::record_exchange`].
#[derive(Clone, Copy, Debug)]
pub struct Exchange<'a> {
    /// The customer's message, already redacted.
    pub customer: &'a str,
    /// An earlier customer message's new text, when redaction reached back into it.
    pub rewritten: Option<(i64, &'a str)>,
    pub answer: &'a str,
    pub cited: &'a [ArticleId],
    /// `Some(true)` resets the miss streak (answered from the articles), `Some(false)`
    /// extends it, `None` leaves it.
    pub answered: Option<bool>,
}

const CONVERSATION_COLUMNS: &str = "id, secret_hash, user_id, verification, notice_version, human_only, state, \
     ticket_id, misses, messages, created_at";

fn conversation_from_row(row: &AnyRow) -> Result<ConversationRecord, StoreError> {
    Ok(ConversationRecord {
        id: ConversationId::parse(&row.try_get::<String, _>("id")?)?,
        secret_hash: TokenHash(row.try_get("secret_hash")?),
        user: row
            .try_get::<Option<String>, _>("user_id")?
            .map(|u| UserId::parse(&u))
            .transpose()?,
        verification: Verification::parse(&row.try_get::<String, _>("verification")?)?,
        notice_version: row.try_get("notice_version")?,
        human_only: row.try_get::<i64, _>("human_only")? != 0,
        state: ConversationState::parse(&row.try_get::<String, _>("state")?)?,
        ticket: row
            .try_get::<Option<String>, _>("ticket_id")?
            .map(|t| TicketId::parse(&t))
            .transpose()?,
        misses: row.try_get("misses")?,
        messages: row.try_get("messages")?,
        created_at: UnixMillis(row.try_get("created_at")?),
    })
}

/// A message body sealed under the conversation's key, bound to its row.
fn seal_message(
    key: &palisade_crypto::DataKey,
    id: &ConversationId,
    seq: i64,
    body: &str,
) -> Result<Vec<u8>, StoreError> {
    seal(
        key,
        "assistant_messages",
        "body",
        &message_row(id, seq),
        body.as_bytes(),
    )
}

fn transcript_entry(
    key: &palisade_crypto::DataKey,
    id: &ConversationId,
    row: &AnyRow,
) -> Result<TranscriptEntry, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    Ok(TranscriptEntry {
        seq,
        author: row.try_get("author")?,
        body: open_text(
            key,
            "assistant_messages",
            "body",
            &message_row(id, seq),
            &row.try_get::<Vec<u8>, _>("body_enc")?,
        )?,
        cited: row
            .try_get::<String, _>("cited")?
            .split_whitespace()
            .map(ArticleId::parse)
            .collect::<Result<_, _>>()?,
        at: UnixMillis(row.try_get("created_at")?),
    })
}

fn message_row(conversation: &ConversationId, seq: i64) -> String {
    format!("{conversation}/{seq}")
}

/// One choice about the assistant, with the notice version it was made under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    pub notice_version: String,
    /// Chose to talk to people only (otherwise: agreed to the assistant).
    pub people_only: bool,
    pub decided_at: UnixMillis,
}

impl Store {
    pub async fn create_conversation(
        &self,
        id: &ConversationId,
        new: &NewConversation,
    ) -> Result<(), StoreError> {
        let key_id = match &new.user {
            Some(user) => {
                let row = sqlx::query("SELECT data_key_id FROM users WHERE id = $1")
                    .bind(user.as_str())
                    .fetch_optional(&self.read)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                row.try_get::<String, _>(0)?
            }
            None => ORG_KEY_ID.to_owned(),
        };
        let now = UnixMillis::now().0;
        sqlx::query(
            "INSERT INTO assistant_conversations (id, secret_hash, user_id, verification, data_key_id, \
             notice_version, human_only, state, ticket_id, misses, messages, client_ip, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', NULL, 0, 0, $8, $9, $9)",
        )
        .bind(id.as_str())
        .bind(&new.secret_hash.0)
        .bind(new.user.as_ref().map(|u| u.to_string()))
        .bind(new.verification.as_str())
        .bind(&key_id)
        .bind(&new.notice_version)
        .bind(i64::from(new.human_only))
        .bind(&new.client_ip)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationRecord>, StoreError> {
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM assistant_conversations WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(conversation_from_row).transpose()
    }

    async fn conversation_key(&self, id: &ConversationId) -> Result<palisade_crypto::DataKey, StoreError> {
        let row = sqlx::query("SELECT data_key_id FROM assistant_conversations WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.load_key(&row.try_get::<String, _>(0)?).await
    }

    /// Records one turn in one transaction: the customer's (redacted) message, the
    /// assistant's answer after it and, when redaction found the rest of something an
    /// earlier message held in part, that message's new text. One commit and one key
    /// load per turn, where three separate writes had each waited on their own commit.
    /// Returns the answer's sequence number.
    pub async fn record_exchange(
        &self,
        id: &ConversationId,
        exchange: &Exchange<'_>,
    ) -> Result<i64, StoreError> {
        let key = self.conversation_key(id).await?;
        let mut tx = self.begin().await?;
        if let Some((seq, body)) = exchange.rewritten {
            sqlx::query(
                "UPDATE assistant_messages SET body_enc = $1 WHERE conversation_id = $2 AND seq = $3",
            )
            .bind(seal_message(&key, id, seq, body)?)
            .bind(id.as_str())
            .bind(seq)
            .execute(tx.conn())
            .await?;
        }
        let now = UnixMillis::now().0;
        let row = sqlx::query(
            "UPDATE assistant_conversations SET messages = messages + 2, updated_at = $1, \
             misses = CASE WHEN $2 = 1 THEN 0 WHEN $2 = 2 THEN misses + 1 ELSE misses END \
             WHERE id = $3 RETURNING messages",
        )
        .bind(now)
        .bind(match exchange.answered {
            Some(true) => 1_i64,
            Some(false) => 2,
            None => 0,
        })
        .bind(id.as_str())
        .fetch_optional(tx.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        let answer_seq: i64 = row.try_get(0)?;
        let turns = [
            (answer_seq - 1, "customer", exchange.customer, String::new()),
            (
                answer_seq,
                "assistant",
                exchange.answer,
                exchange
                    .cited
                    .iter()
                    .map(ArticleId::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ];
        for (seq, author, body, cited) in turns {
            sqlx::query(
                "INSERT INTO assistant_messages (conversation_id, seq, author, body_enc, cited, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id.as_str())
            .bind(seq)
            .bind(author)
            .bind(seal_message(&key, id, seq, body)?)
            .bind(cited)
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
        tx.commit().await?;
        Ok(answer_seq)
    }

    /// The customer's latest message in a conversation, without reading (or opening)
    /// the rest of the transcript.
    pub async fn last_customer_message(
        &self,
        id: &ConversationId,
    ) -> Result<Option<TranscriptEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, author, body_enc, cited, created_at FROM assistant_messages \
             WHERE conversation_id = $1 AND author = 'customer' ORDER BY seq DESC LIMIT 1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let key = self.conversation_key(id).await?;
        transcript_entry(&key, id, &row).map(Some)
    }

    /// Turns automated answers off for one conversation for good (it stays open, so the
    /// customer can still hand it over to a person).
    pub async fn stop_automated_answers(&self, tx: &mut Tx, id: &ConversationId) -> Result<(), StoreError> {
        sqlx::query("UPDATE assistant_conversations SET human_only = 1, updated_at = $1 WHERE id = $2")
            .bind(UnixMillis::now().0)
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    pub async fn conversation_transcript(
        &self,
        id: &ConversationId,
    ) -> Result<Vec<TranscriptEntry>, StoreError> {
        let key = self.conversation_key(id).await?;
        let rows = sqlx::query(
            "SELECT seq, author, body_enc, cited, created_at FROM assistant_messages \
             WHERE conversation_id = $1 ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| transcript_entry(&key, id, r)).collect()
    }

    /// Marks a conversation handed over to a person (with the ticket, when one was
    /// opened), inside the caller's transaction.
    pub async fn hand_over_conversation(
        &self,
        tx: &mut Tx,
        id: &ConversationId,
        ticket: Option<&TicketId>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assistant_conversations SET state = $1, ticket_id = COALESCE($2, ticket_id), updated_at = $3 \
             WHERE id = $4",
        )
        .bind(ConversationState::HandedOver.as_str())
        .bind(ticket.map(|t| t.to_string()))
        .bind(UnixMillis::now().0)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Takes an open conversation for a handover: `false` if another request already
    /// took it (or it is no longer open), so two clicks never make two tickets. A claim
    /// older than two minutes is taken over: its request died before finishing.
    pub async fn claim_conversation(&self, id: &ConversationId) -> Result<bool, StoreError> {
        let now = UnixMillis::now().0;
        let done = sqlx::query(
            "UPDATE assistant_conversations SET state = 'handing_over', updated_at = $1 \
             WHERE id = $2 AND (state = 'open' OR (state = 'handing_over' AND updated_at < $3))",
        )
        .bind(now)
        .bind(id.as_str())
        .bind(now - 120_000)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a claimed conversation back when its handover failed.
    pub async fn release_conversation(&self, id: &ConversationId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assistant_conversations SET state = 'open' WHERE id = $1 AND state = 'handing_over'",
        )
        .bind(id.as_str())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Reserves `tokens` of the conversation's model budget `cap`; `false` (and nothing
    /// reserved) when that would exceed it. Atomic, so nodes cannot overspend together.
    pub async fn reserve_conversation_tokens(
        &self,
        id: &ConversationId,
        tokens: i64,
        cap: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE assistant_conversations SET model_tokens = model_tokens + $1 \
             WHERE id = $2 AND model_tokens + $1 <= $3",
        )
        .bind(tokens)
        .bind(id.as_str())
        .bind(cap)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Corrects a reservation once the real cost is known (`delta` may be negative).
    pub async fn adjust_conversation_tokens(
        &self,
        id: &ConversationId,
        delta: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE assistant_conversations SET model_tokens = CASE WHEN model_tokens + $1 < 0 THEN 0 ELSE model_tokens + $1 END WHERE id = $2",
        )
        .bind(delta)
        .bind(id.as_str())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A customer's standing choice: `Some((human_only, notice_version))`.
    pub async fn assistant_preference(&self, user: &UserId) -> Result<Option<(bool, String)>, StoreError> {
        let row =
            sqlx::query("SELECT human_only, notice_version FROM assistant_preferences WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_optional(&self.read)
                .await?;
        row.map(|r| Ok((r.try_get::<i64, _>(0)? != 0, r.try_get(1)?)))
            .transpose()
    }

    pub async fn set_assistant_preference(
        &self,
        user: &UserId,
        human_only: bool,
        notice_version: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // Each of a person's choices gets its own later time, so their history reads in
        // the order they were made even within one millisecond.
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(decided_at) FROM consent_records WHERE user_id = $1")
                .bind(user.as_str())
                .fetch_one(tx.conn())
                .await?;
        let now = UnixMillis::now().0.max(last.map_or(i64::MIN, |l| l + 1));
        sqlx::query(
            "INSERT INTO assistant_preferences (user_id, human_only, notice_version, decided_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET human_only = $2, \
             notice_version = $3, decided_at = $4",
        )
        .bind(user.as_str())
        .bind(i64::from(human_only))
        .bind(notice_version)
        .bind(now)
        .execute(tx.conn())
        .await?;
        // The history keeps every choice: the standing one above is only the newest.
        sqlx::query(
            "INSERT INTO consent_records (id, user_id, notice_version, choice, decided_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(palisade_core::unique_name("cr_"))
        .bind(user.as_str())
        .bind(notice_version)
        .bind(if human_only { "people_only" } else { "assistant" })
        .bind(now)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every choice `user` made about the assistant, oldest first (the newest 100 000
    /// of them, should anyone make more).
    pub async fn consent_history(&self, user: &UserId) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT notice_version, choice, decided_at FROM consent_records WHERE user_id = $1 \
             ORDER BY decided_at DESC, id LIMIT 100000",
        )
        .bind(user.as_str())
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .rev()
            .map(|(notice_version, choice, at)| ConsentRecord {
                notice_version,
                people_only: choice == "people_only",
                decided_at: UnixMillis(at),
            })
            .collect())
    }
}
