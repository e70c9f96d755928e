//! Confirming who a ticket's requester is. A ticket opened from an address nobody
//! authenticated — a message released from quarantine, an anonymous assistant handover
//! — names a customer only because someone typed their address. It stays out of that
//! customer's portal until the address's owner follows the single-use link mailed to
//! it (or answers, authenticated, through the ticket's reply address). Agents see such
//! tickets flagged and answer them by mail, which reaches only the address's owner.

use palisade_core::{OutgoingMail, TicketId};
use palisade_crypto::RandomToken;
use palisade_service::{Happened, Reaction, ReactionFuture, ServiceError};
use palisade_store::Tx;

use crate::{AppError, AppState, RequestMeta};

/// How long the link mailed to the requester works.
const LINK_SECS: i64 = 14 * 24 * 3600;
/// Outbox kind, for operators reading the queue.
pub const MAIL_REQUESTER_CONFIRMATION: &str = "requester_confirmation";

/// Mails the requester of every ticket opened unconfirmed the link that makes it
/// theirs, in the transaction that opened it: the request exists exactly if the ticket
/// does.
pub(crate) struct AskRequester {
    pub store: palisade_store::Store,
    pub public_origin: String,
}

impl Reaction for AskRequester {
    fn react<'a>(&'a self, tx: &'a mut Tx, happened: &'a Happened<'a>) -> ReactionFuture<'a> {
        Box::pin(async move {
            if happened.kind != "ticket.created" || happened.ticket.requester_confirmed {
                return Ok(());
            }
            let ticket = happened.ticket;
            let store = &self.store;
            let requester = store.get_user_in(tx, &ticket.requester).await?;
            let token = RandomToken::generate().map_err(|e| ServiceError::Reaction(e.to_string()))?;
            store
                .create_requester_confirmation(tx, &ticket.id, &requester.id, &token.hash(), LINK_SECS)
                .await?;
            let link = format!(
                "{}/confirm/{}",
                self.public_origin.trim_end_matches('/'),
                token.expose()
            );
            // The subject is the sender's own words; quoted so it reads as theirs, never ours.
            let subject: String = ticket.subject.chars().take(120).collect();
            let locale = palisade_i18n::Locale::for_mail(
                store.mail_language(requester.locale.as_deref()).await?.as_deref(),
            );
            let text = palisade_i18n::text_with(
                locale,
                "mail-confirm-body",
                &[("name", subject.into()), ("link", link.into())],
            ) + "\n";
            let mail = OutgoingMail {
                to: requester.email.as_str().to_owned(),
                subject: palisade_i18n::text(locale, "mail-confirm-subject"),
                text,
                ..OutgoingMail::default()
            };
            store.enqueue_mail(tx, MAIL_REQUESTER_CONFIRMATION, &mail).await?;
            Ok(())
        })
    }
}

/// Uses a confirmation link: the ticket it names joins its requester's portal. An
/// unknown, used or expired link is `NotFound`, all alike.
pub(crate) async fn confirm(s: &AppState, meta: &RequestMeta, presented: &str) -> Result<TicketId, AppError> {
    Ok(s.desk()
        .confirm_requester(&meta.anonymous_audit(), presented)
        .await?)
}
