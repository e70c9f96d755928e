//! Received messages as they arrived, byte for byte, sealed under the ticket's data
//! key (so erasing the customer's key erases them too). Reading one needs a proof of
//! reading the ticket's internal side: originals carry headers and addresses customers
//! are not shown.

use palisade_core::{MessageId, UnixMillis};
use palisade_policy::{Action, Authorized};
use sqlx::Row;

use std::collections::HashMap;

use crate::keys::{open_bytes, open_text, seal};
use crate::tickets::require;
use crate::{Store, StoreError, TicketRecord, Tx};

impl Store {
    /// Keeps `raw` as the original of `message`, and `html`, its HTML part when it had
    /// no plain-text one, in the transaction that stored it.
    pub async fn keep_original(
        &self,
        tx: &mut Tx,
        ticket: &TicketRecord,
        message: &MessageId,
        raw: &[u8],
        html: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = self.load_key_tx(tx, &ticket.data_key_id).await?;
        sqlx::query(
            "INSERT INTO message_originals (message_id, ticket_id, raw_enc, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(message.as_str())
        .bind(ticket.id.as_str())
        .bind(seal(&key, "message_originals", "raw", message.as_str(), raw)?)
        .bind(UnixMillis::now().0)
        .execute(tx.conn())
        .await?;
        if let Some(html) = html {
            sqlx::query("INSERT INTO message_html (message_id, ticket_id, html_enc) VALUES ($1, $2, $3)")
                .bind(message.as_str())
                .bind(ticket.id.as_str())
                .bind(seal(
                    &key,
                    "message_html",
                    "html",
                    message.as_str(),
                    html.as_bytes(),
                )?)
                .execute(tx.conn())
                .await?;
        }
        Ok(())
    }

    /// The HTML parts of the ticket's messages that arrived as HTML only (unsanitised:
    /// the caller sanitises before showing). Needs a read proof; mail is never internal.
    pub async fn message_html(
        &self,
        proof: &Authorized,
        ticket: &TicketRecord,
    ) -> Result<HashMap<MessageId, String>, StoreError> {
        require(proof, Action::TicketRead, &ticket.id)?;
        let rows = sqlx::query("SELECT message_id, html_enc FROM message_html WHERE ticket_id = $1")
            .bind(ticket.id.as_str())
            .fetch_all(&self.read)
            .await?;
        if rows.is_empty() {
            return Ok(HashMap::new());
        }
        let key = self.load_key(&ticket.data_key_id).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("message_id")?;
                let html = open_text(
                    &key,
                    "message_html",
                    "html",
                    &id,
                    &row.try_get::<Vec<u8>, _>("html_enc")?,
                )?;
                Ok((MessageId::parse(&id)?, html))
            })
            .collect()
    }

    /// The original of `message` on `ticket`, if it arrived by mail.
    pub async fn original(
        &self,
        proof: &Authorized,
        ticket: &TicketRecord,
        message: &MessageId,
    ) -> Result<Vec<u8>, StoreError> {
        require(proof, Action::TicketReadInternal, &ticket.id)?;
        let row =
            sqlx::query("SELECT raw_enc FROM message_originals WHERE message_id = $1 AND ticket_id = $2")
                .bind(message.as_str())
                .bind(ticket.id.as_str())
                .fetch_optional(&self.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        let key = self.load_key(&ticket.data_key_id).await?;
        open_bytes(
            &key,
            "message_originals",
            "raw",
            message.as_str(),
            &row.try_get::<Vec<u8>, _>(0)?,
        )
    }

    /// The ticket a message belongs to, so the caller can decide before reading it.
    pub async fn message_ticket(&self, message: &MessageId) -> Result<palisade_core::TicketId, StoreError> {
        let row = sqlx::query("SELECT ticket_id FROM messages WHERE id = $1")
            .bind(message.as_str())
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(palisade_core::TicketId::parse(&row.try_get::<String, _>(0)?)?)
    }
}
