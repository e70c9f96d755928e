//! Confirming who a ticket's requester is. A ticket opened from an address nobody
//! authenticated — a message released from quarantine, an anonymous assistant handover
//! — names a customer only because someone typed their address. It stays out of that
//! customer's portal until the address's owner follows the single-use link mailed to
//! it (or answers, authenticated, through the ticket's reply address). Agents see such
//! tickets flagged and answer them by mail, which reaches only the address's owner.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{OutgoingMail, TicketId};
use palisade_crypto::RandomToken;
use palisade_mail::Released;
use palisade_store::Tx;
use serde_json::json;

use crate::{AppError, AppState, RequestMeta};

/// How long the link mailed to the requester works.
const LINK_SECS: i64 = 14 * 24 * 3600;
/// Outbox kind, for operators reading the queue.
pub const MAIL_REQUESTER_CONFIRMATION: &str = "requester_confirmation";

/// Mails the released ticket's requester the link that makes the ticket theirs, in the
/// release's transaction: the request exists exactly if the ticket does.
pub(crate) async fn ask_requester(s: &AppState, tx: &mut Tx, released: &Released) -> Result<(), AppError> {
    let token = RandomToken::generate().map_err(|e| AppError::Internal(e.to_string()))?;
    s.store
        .create_requester_confirmation(
            tx,
            &released.ticket,
            &released.requester.id,
            &token.hash(),
            LINK_SECS,
        )
        .await?;
    let link = format!(
        "{}/confirm/{}",
        s.config.public_origin.trim_end_matches('/'),
        token.expose()
    );
    // The subject is the sender's own words; quoted so it reads as theirs, never ours.
    let subject: String = released.subject.chars().take(120).collect();
    let text = format!(
        "Our support team received a message in your name, with the subject \"{subject}\". It did not come \
         through a channel that proves who sent it, so it is not in your account yet.\n\n\
         If you sent it, confirm it here to follow it and our replies in your account:\n\n{link}\n\n\
         If you did not, ignore this email: the message stays out of your account and nobody is told anything \
         about it. Either way, our replies come only to this address. The link works once, for 14 days.\n"
    );
    let mail = OutgoingMail {
        to: released.requester.email.as_str().to_owned(),
        subject: "Please confirm your message to our support team".into(),
        text,
        ..OutgoingMail::default()
    };
    s.store
        .enqueue_mail(tx, MAIL_REQUESTER_CONFIRMATION, &mail)
        .await?;
    Ok(())
}

/// Uses a confirmation link: the ticket it names joins its requester's portal. An
/// unknown, used or expired link is `NotFound`, all alike.
pub(crate) async fn confirm(s: &AppState, meta: &RequestMeta, presented: &str) -> Result<TicketId, AppError> {
    let token = RandomToken::from_presented(presented).ok_or(AppError::NotFound)?;
    let mut tx = s.store.begin().await?;
    let Some(ticket) = s
        .store
        .redeem_requester_confirmation(&mut tx, &token.hash())
        .await?
    else {
        return Err(AppError::NotFound);
    };
    let event = AuditEvent::new(
        AuditAction::RequesterConfirmed,
        ticket.to_string(),
        Outcome::Success,
    )
    .with_detail(json!({ "by": "link" }));
    s.store
        .append_audit(&mut tx, &meta.anonymous_audit(), &event)
        .await?;
    tx.commit().await?;
    Ok(ticket)
}
