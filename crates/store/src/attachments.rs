//! Files on tickets: sealed under the ticket's data key (name and content), each
//! optionally tied to the message that carried it. Writing needs a `ticket.attach`
//! proof; reading one needs a read proof, and internal files an internal one.

use palisade_core::{AttachmentId, MessageId, TicketId, UnixMillis, UserId, Visibility};
use palisade_crypto::DataKey;
use palisade_policy::{Action, Authorized};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::keys::{open_bytes, open_text, seal};
use crate::tickets::require;
use crate::{Including, Store, StoreError, TicketRecord, Tx};

#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub uploader: UserId,
    /// The message that carried it (mail), if any.
    pub message: Option<MessageId>,
    /// The part's Content-ID, for inline images an HTML message refers to.
    pub content_id: Option<String>,
    /// Its place among the message's files.
    pub position: i64,
    pub visibility: Visibility,
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct AttachmentRecord {
    pub id: AttachmentId,
    pub ticket: TicketId,
    pub uploader: UserId,
    pub visibility: Visibility,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub message: Option<MessageId>,
    pub created_at: UnixMillis,
    pub scan: ScanState,
    /// The part's Content-ID, for an inline image its message's HTML refers to.
    pub content_id: Option<String>,
}

/// What the malware scan said of a file. Only a `Clean` file is served while scanning
/// is on; an `Infected` one never is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanState {
    /// Not scanned yet: just stored, or the scanner was unreachable.
    Pending,
    Clean,
    /// The signature the scanner named.
    Infected(String),
}

impl ScanState {
    pub fn as_str(&self) -> &'static str {
        match self {
            ScanState::Pending => "pending",
            ScanState::Clean => "clean",
            ScanState::Infected(_) => "infected",
        }
    }

    fn from_row(state: &str, finding: Option<String>) -> Result<Self, StoreError> {
        match state {
            "pending" => Ok(ScanState::Pending),
            "clean" => Ok(ScanState::Clean),
            "infected" => Ok(ScanState::Infected(finding.unwrap_or_default())),
            other => Err(StoreError::Corrupt(format!("unknown scan state {other}"))),
        }
    }
}

/// A file waiting for the scanner, decrypted for it alone.
pub struct ScanWork {
    pub id: AttachmentId,
    pub ticket: TicketId,
    pub content: Vec<u8>,
}

pub struct AttachmentContent {
    pub record: AttachmentRecord,
    pub content: Vec<u8>,
}

impl Store {
    pub async fn add_attachment(
        &self,
        tx: &mut Tx,
        proof: &Authorized,
        ticket: &TicketRecord,
        new: &NewAttachment,
    ) -> Result<AttachmentId, StoreError> {
        require(proof, Action::TicketAttach, &ticket.id)?;
        let id = AttachmentId::generate();
        let key = self.load_key_tx(tx, &ticket.data_key_id).await?;
        sqlx::query(
            "INSERT INTO attachments (id, ticket_id, uploader_id, visibility, filename_enc, content_type, size_bytes, \
             content_enc, created_at, message_id, content_id, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.as_str())
        .bind(ticket.id.as_str())
        .bind(new.uploader.as_str())
        .bind(new.visibility.as_str())
        .bind(seal(&key, "attachments", "filename", id.as_str(), new.filename.as_bytes())?)
        .bind(&new.content_type)
        .bind(i64::try_from(new.content.len()).unwrap_or(i64::MAX))
        .bind(seal(&key, "attachments", "content", id.as_str(), &new.content)?)
        .bind(UnixMillis::now().0)
        .bind(new.message.as_ref().map(|m| m.to_string()))
        .bind(new.content_id.as_deref())
        .bind(new.position)
        .execute(tx.conn())
        .await?;
        Ok(id)
    }

    fn attachment_from_row(&self, key: &DataKey, row: &AnyRow) -> Result<AttachmentRecord, StoreError> {
        let id: String = row.try_get("id")?;
        Ok(AttachmentRecord {
            filename: open_text(
                key,
                "attachments",
                "filename",
                &id,
                &row.try_get::<Vec<u8>, _>("filename_enc")?,
            )?,
            ticket: TicketId::parse(&row.try_get::<String, _>("ticket_id")?)?,
            uploader: UserId::parse(&row.try_get::<String, _>("uploader_id")?)?,
            visibility: Visibility::parse(&row.try_get::<String, _>("visibility")?)?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size_bytes")?,
            message: row
                .try_get::<Option<String>, _>("message_id")?
                .map(|m| MessageId::parse(&m))
                .transpose()?,
            created_at: UnixMillis(row.try_get("created_at")?),
            content_id: row.try_get("content_id")?,
            scan: ScanState::from_row(
                &row.try_get::<String, _>("scan_state")?,
                row.try_get("scan_finding")?,
            )?,
            id: AttachmentId::parse(&id)?,
        })
    }

    pub async fn list_attachments(
        &self,
        ticket: &TicketRecord,
        including: Including<'_>,
    ) -> Result<Vec<AttachmentRecord>, StoreError> {
        let filter = including.filter(&ticket.id)?;
        let sql = format!(
            "SELECT id, ticket_id, uploader_id, visibility, filename_enc, content_type, size_bytes, message_id, created_at, \
             scan_state, scan_finding, content_id \
             FROM attachments WHERE ticket_id = $1{filter} ORDER BY created_at, position, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(ticket.id.as_str())
            .fetch_all(&self.read)
            .await?;
        let key = self.load_key(&ticket.data_key_id).await?;
        rows.iter().map(|r| self.attachment_from_row(&key, r)).collect()
    }

    /// The ticket an attachment belongs to, so the caller can authorise before anything
    /// else about the attachment is read.
    pub async fn attachment_ticket(&self, id: &AttachmentId) -> Result<TicketId, StoreError> {
        let row = sqlx::query("SELECT ticket_id FROM attachments WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(TicketId::parse(&row.try_get::<String, _>(0)?)?)
    }

    /// Reads and decrypts an attachment. Requires a `TicketRead` proof for its ticket.
    pub async fn read_attachment(
        &self,
        proof: &Authorized,
        including: Including<'_>,
        ticket: &TicketRecord,
        id: &AttachmentId,
    ) -> Result<AttachmentContent, StoreError> {
        require(proof, Action::TicketRead, &ticket.id)?;
        let filter = including.filter(&ticket.id)?;
        let sql = format!(
            "SELECT id, ticket_id, uploader_id, visibility, filename_enc, content_type, size_bytes, message_id, created_at, \
             scan_state, scan_finding, content_id, content_enc FROM attachments WHERE id = $1 AND ticket_id = $2{filter}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .bind(ticket.id.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let key = self.load_key(&ticket.data_key_id).await?;
        let record = self.attachment_from_row(&key, &row)?;
        let content = open_bytes(
            &key,
            "attachments",
            "content",
            id.as_str(),
            &row.try_get::<Vec<u8>, _>("content_enc")?,
        )?;
        Ok(AttachmentContent { record, content })
    }

    /// The public files sent with a public `message`, for mailing them with it to the
    /// ticket's participants — who are shown the message itself without a further
    /// decision, so its public files need none either.
    pub async fn public_message_files(
        &self,
        ticket: &TicketRecord,
        message: &MessageId,
    ) -> Result<Vec<AttachmentContent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, ticket_id, uploader_id, visibility, filename_enc, content_type, size_bytes, message_id, created_at, \
             scan_state, scan_finding, content_id, content_enc FROM attachments \
             WHERE ticket_id = $1 AND message_id = $2 AND visibility = 'public' ORDER BY position, created_at, id",
        )
        .bind(ticket.id.as_str())
        .bind(message.as_str())
        .fetch_all(&self.read)
        .await?;
        let key = self.load_key(&ticket.data_key_id).await?;
        rows.iter()
            .map(|row| {
                let record = self.attachment_from_row(&key, row)?;
                let content = open_bytes(
                    &key,
                    "attachments",
                    "content",
                    record.id.as_str(),
                    &row.try_get::<Vec<u8>, _>("content_enc")?,
                )?;
                Ok(AttachmentContent { record, content })
            })
            .collect()
    }

    /// Ties files the actor attached to the ticket (not yet sent with any message, of
    /// the message's visibility) to `message`; returns how many were tied.
    pub async fn send_files_with(
        &self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        uploader: &UserId,
        visibility: Visibility,
        files: &[AttachmentId],
        message: &MessageId,
    ) -> Result<usize, StoreError> {
        let mut tied = 0;
        for (position, file) in (0i64..).zip(files) {
            let done = sqlx::query(
                "UPDATE attachments SET message_id = $1, position = $2 WHERE id = $3 AND ticket_id = $4 \
                 AND uploader_id = $5 AND visibility = $6 AND message_id IS NULL",
            )
            .bind(message.as_str())
            .bind(position)
            .bind(file.as_str())
            .bind(ticket.id.as_str())
            .bind(uploader.as_str())
            .bind(visibility.as_str())
            .execute(tx.conn())
            .await?;
            tied += usize::try_from(done.rows_affected()).unwrap_or(0);
        }
        Ok(tied)
    }

    /// Files the scanner has not judged yet, oldest first.
    pub async fn attachments_awaiting_scan(&self, limit: u32) -> Result<Vec<AttachmentId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM attachments WHERE scan_state = 'pending' ORDER BY created_at, id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok(AttachmentId::parse(&r.try_get::<String, _>(0)?)?))
            .collect()
    }

    /// A pending file's content, decrypted for the malware scanner and nothing else:
    /// no person is behind this read, so it takes no proof, and what it returns goes
    /// to the scanner and is dropped. `None` once the file is no longer pending.
    pub async fn attachment_for_scan(&self, id: &AttachmentId) -> Result<Option<ScanWork>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT a.ticket_id, a.content_enc, t.data_key_id FROM attachments a \
             JOIN tickets t ON t.id = a.ticket_id WHERE a.id = $1 AND a.scan_state = 'pending'",
        )
        .bind(id.as_str())
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let key = self.load_key(&row.try_get::<String, _>("data_key_id")?).await?;
        let content = open_bytes(
            &key,
            "attachments",
            "content",
            id.as_str(),
            &row.try_get::<Vec<u8>, _>("content_enc")?,
        )?;
        Ok(Some(ScanWork {
            id: id.clone(),
            ticket: TicketId::parse(&row.try_get::<String, _>("ticket_id")?)?,
            content,
        }))
    }

    /// Records the scanner's verdict on a pending file; false if it was not pending
    /// (another node judged it first).
    pub async fn record_scan(
        &self,
        tx: &mut Tx,
        id: &AttachmentId,
        verdict: &ScanState,
    ) -> Result<bool, StoreError> {
        let finding = match verdict {
            ScanState::Infected(signature) => Some(signature.as_str()),
            _ => None,
        };
        let done = sqlx::query(
            "UPDATE attachments SET scan_state = $1, scan_finding = $2, scanned_at = $3 \
             WHERE id = $4 AND scan_state = 'pending'",
        )
        .bind(verdict.as_str())
        .bind(finding)
        .bind(UnixMillis::now().0)
        .bind(id.as_str())
        .execute(tx.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
