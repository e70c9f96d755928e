//! Files on tickets: attaching one (public, or internal for those who may write
//! notes) and reading one back, internal files only with a proof of reading internal
//! notes, taken before anything of the file is decrypted. A file is served only as
//! [`Desk::availability`] allows (scanned clean, or scanning off).

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{AttachmentId, Visibility};
use palisade_policy::{Action, Resource};
use palisade_store::{AttachmentContent, AttachmentRecord, NewAttachment};
use serde_json::json;

use crate::authz::including;
use crate::{Actor, Availability, Desk, Happened, ServiceError};

/// A file as the adapter received it; the name is redacted and the type sniffed here.
pub struct NewFile {
    pub filename: String,
    pub visibility: Visibility,
    pub content: Vec<u8>,
}

impl Desk {
    pub async fn attach(
        &self,
        actor: &Actor,
        raw_id: &str,
        file: NewFile,
    ) -> Result<AttachmentRecord, ServiceError> {
        if file.content.is_empty() {
            return Err(ServiceError::invalid("refusal-empty-file"));
        }
        // A card number or password typed as a file name is removed like one in text.
        let filename = self.redactor.redact(&file.filename).text;
        let tx = self.store.begin().await?;
        let (mut tx, ticket, proof) = self.ticket_in(tx, actor, raw_id, Action::TicketAttach).await?;
        if file.visibility == Visibility::Internal
            && self
                .policy
                .authorize(
                    &actor.principal,
                    Action::TicketNote,
                    &Resource::Ticket(ticket.facts()),
                )
                .is_err()
        {
            drop(tx);
            self.audit_denial(&actor.audit, Action::TicketNote, ticket.id.as_str(), "denied")
                .await?;
            return Err(ServiceError::Forbidden);
        }
        let new = NewAttachment {
            uploader: actor.principal.user_id.clone(),
            message: None,
            content_id: None,
            position: 0,
            visibility: file.visibility,
            filename,
            content_type: crate::sniff_content_type(&file.content),
            content: file.content,
        };
        let id = self.store.add_attachment(&mut tx, &proof, &ticket, &new).await?;
        let detail = json!({ "attachment": id.to_string(), "bytes": new.content.len(),
                             "visibility": file.visibility.as_str(), "channel": actor.channel.as_str() });
        let audit = AuditEvent::new(
            AuditAction::AttachmentAdded,
            ticket.id.to_string(),
            Outcome::Success,
        )
        .with_detail(detail.clone());
        let happened = Happened {
            kind: "attachment.added",
            actor,
            ticket: &ticket,
            message: None,
            detail,
        };
        self.record(&mut tx, audit, happened).await?;
        tx.commit().await?;
        self.scan_soon().await;
        let internal = self.internal_proof(&actor.principal, &ticket);
        let including = including(internal.as_ref());
        self.store
            .list_attachments(&ticket, including)
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or(ServiceError::NotFound)
    }

    /// A file and its content. Missing, on a ticket the actor cannot read, or internal
    /// for someone who may not read internal notes: the same `NotFound`, audited.
    pub async fn attachment(&self, actor: &Actor, raw_id: &str) -> Result<AttachmentContent, ServiceError> {
        let Ok(id) = AttachmentId::parse(raw_id) else {
            return Err(ServiceError::NotFound);
        };
        // Through the ticket before anything else about the file is read.
        let holder = self.store.attachment_ticket(&id).await;
        let (ticket, proof) = self.readable_ticket_holding(actor, id.as_str(), holder).await?;
        let internal = self.internal_proof(&actor.principal, &ticket);
        let including = including(internal.as_ref());
        match self.store.read_attachment(&proof, including, &ticket, &id).await {
            Err(palisade_store::StoreError::NotFound) => {
                // An internal file asked for by someone who may not read internal notes.
                self.audit_denial(&actor.audit, Action::TicketReadInternal, id.as_str(), "denied")
                    .await?;
                Err(ServiceError::NotFound)
            }
            Err(e) => Err(e.into()),
            Ok(file) => match self.availability(&file.record) {
                Availability::Ready | Availability::Unscanned => Ok(file),
                Availability::AwaitingScan => Err(ServiceError::AwaitingScan),
                Availability::Blocked(_) => Err(ServiceError::FileBlocked),
            },
        }
    }
}
