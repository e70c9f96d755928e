//! What is decided about every file, whichever channel brought it: its type comes from
//! its bytes (never from what the sender declared), and types a browser would run or
//! render as a page are kept as plain text. Also the files a received message carried,
//! attached to the ticket in the transaction that places the message.

use palisade_core::{MessageId, Visibility};
use palisade_policy::{Action, Resource, TicketFacts};
use palisade_store::{NewAttachment, TicketRecord, Tx};
use serde_json::{Value, json};

use crate::{Desk, ServiceError};

/// Types a browser would execute or render as a document; stored as plain text so a
/// download can never become a page on Palisade's origin.
const ACTIVE_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
];

/// The stored content type, from the bytes.
pub fn sniff_content_type(content: &[u8]) -> String {
    if let Some(kind) = infer::get(content)
        && !ACTIVE_TYPES.contains(&kind.mime_type())
    {
        return kind.mime_type().to_owned();
    }
    if std::str::from_utf8(content).is_ok() {
        "text/plain; charset=utf-8".into()
    } else {
        "application/octet-stream".into()
    }
}

/// The sniffed types a page may show inline as a preview: raster images only (never
/// SVG, which is a document that can carry script), each served from a sandboxed
/// response.
pub const PREVIEWABLE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Whether a file of this (sniffed) content type may be previewed inline.
pub fn previewable(content_type: &str) -> bool {
    PREVIEWABLE_TYPES.contains(&content_type)
}

/// A file part of a received message, as the mail adapter read it: its name already
/// cleaned (no path, no control characters), its size within the configured limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailFile {
    pub filename: String,
    pub content: Vec<u8>,
    /// The part's Content-ID (inline images an HTML message shows).
    pub content_id: Option<String>,
}

impl Desk {
    /// A received message as it arrived (`.eml`), for those who may read the ticket's
    /// internal side; anyone else, and messages that did not come by mail, `NotFound`,
    /// audited alike.
    pub async fn original_message(
        &self,
        actor: &crate::Actor,
        raw_id: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        let Ok(id) = MessageId::parse(raw_id) else {
            return Err(ServiceError::NotFound);
        };
        let holder = self.store.message_ticket(&id).await;
        let (ticket, _) = self.readable_ticket_holding(actor, id.as_str(), holder).await?;
        let Some(proof) = self.internal_proof(&actor.principal, &ticket) else {
            self.audit_denial(&actor.audit, Action::TicketReadInternal, id.as_str(), "denied")
                .await?;
            return Err(ServiceError::NotFound);
        };
        match self.store.original(&proof, &ticket, &id).await {
            Err(palisade_store::StoreError::NotFound) => {
                self.audit_denial(&actor.audit, Action::TicketReadInternal, id.as_str(), "not_found")
                    .await?;
                Err(ServiceError::NotFound)
            }
            other => Ok(other?),
        }
    }

    /// Attaches the files of a received message to `ticket`, as the message's author
    /// (`principal`, decided on `facts` as the placement decided the message) and tied
    /// to the message; returns what the audit entry records of them.
    pub(crate) async fn attach_mail_files(
        &self,
        tx: &mut Tx,
        principal: &palisade_core::Principal,
        facts: TicketFacts,
        ticket: &TicketRecord,
        message: &MessageId,
        files: &[MailFile],
    ) -> Result<Value, ServiceError> {
        if files.is_empty() {
            return Ok(json!([]));
        }
        let proof = self
            .policy
            .authorize(principal, Action::TicketAttach, &Resource::Ticket(facts))
            .map_err(|_| ServiceError::Forbidden)?;
        let mut recorded = Vec::with_capacity(files.len());
        for (position, file) in (0..).zip(files.iter().filter(|f| !f.content.is_empty())) {
            let new = NewAttachment {
                uploader: principal.user_id.clone(),
                message: Some(message.clone()),
                content_id: file.content_id.clone(),
                position,
                visibility: Visibility::Public,
                filename: self.redactor.redact(&file.filename).text,
                content_type: sniff_content_type(&file.content),
                content: file.content.clone(),
            };
            let id = self.store.add_attachment(tx, &proof, ticket, &new).await?;
            recorded.push(json!({ "attachment": id.to_string(), "bytes": new.content.len(),
                                  "content_type": new.content_type }));
        }
        Ok(Value::Array(recorded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_comes_from_bytes() {
        assert_eq!(sniff_content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(
            sniff_content_type(b"<html><script>alert(1)</script>"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            sniff_content_type(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            sniff_content_type(&[0xff, 0xfe, 0x00, 0x81]),
            "application/octet-stream"
        );
    }
}
