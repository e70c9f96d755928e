//! The mail this crate sends itself: reset and invitation links, always to the address
//! on file, queued in the caller's transaction so the link exists exactly if the event
//! does. Security notices follow the account's domain events (`account_events.rs`).

use palisade_core::{EmailAddress, OutgoingMail};
use palisade_store::Tx;

use crate::{Identity, IdentityError};

/// Outbox kinds, for operators reading the queue.
pub const MAIL_PASSWORD_RESET: &str = "password_reset";
pub const MAIL_INVITATION: &str = "invitation";
pub const MAIL_NOTICE: &str = "security_notice";

impl Identity {
    pub(crate) async fn queue_mail(
        &self,
        tx: &mut Tx,
        kind: &str,
        to: &EmailAddress,
        subject: &str,
        text: String,
    ) -> Result<(), IdentityError> {
        let mail = OutgoingMail {
            to: to.as_str().to_owned(),
            subject: subject.to_owned(),
            text,
            ..OutgoingMail::default()
        };
        self.store().enqueue_mail(tx, kind, &mail).await?;
        Ok(())
    }

    pub(crate) fn link(&self, path: &str) -> Result<String, IdentityError> {
        let origin = self
            .public_origin
            .as_deref()
            .ok_or_else(|| IdentityError::Config("no public origin configured for links".into()))?;
        Ok(format!("{}{path}", origin.trim_end_matches('/')))
    }
}
