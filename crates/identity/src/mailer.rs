//! The mail this crate sends: reset and invitation links, and notices that tell an
//! account's owner something happened (lockout, password changed, signed out by a new
//! sign-in). Always to the address on file, queued in the caller's transaction so the
//! notice exists exactly if the event does.

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

    /// A security notice: no links, so a forged copy cannot phish with it.
    pub(crate) async fn queue_notice(
        &self,
        tx: &mut Tx,
        to: &EmailAddress,
        subject: &str,
        what_happened: &str,
    ) -> Result<(), IdentityError> {
        let text = format!(
            "{what_happened}\n\nIf this was you, there is nothing to do. If it was not, sign in and \
             change your password, check your devices and second factors, or contact your administrator.\n\n\
             This message was sent by Palisade; it contains no links on purpose.\n"
        );
        self.queue_mail(tx, MAIL_NOTICE, to, subject, text).await
    }

    pub(crate) fn link(&self, path: &str) -> Result<String, IdentityError> {
        let origin = self
            .public_origin
            .as_deref()
            .ok_or_else(|| IdentityError::InvalidRequest("no public origin configured for links".into()))?;
        Ok(format!("{}{path}", origin.trim_end_matches('/')))
    }
}
