//! What happens to an account that its owner must hear about: recorded as a domain
//! event in the change's transaction, and turned into a security notice by the
//! subscriber that reads them ([`queue_security_notice`]). The notice goes to the
//! address on file when it is sent, and carries no link, so a forged copy cannot phish
//! with it.

use palisade_core::{OutgoingMail, UserId};
use palisade_i18n::{Arg, Locale, text_with};
use palisade_store::{DomainEventRecord, NewDomainEvent, Store, StoreError, Tx};
use serde_json::{Value, json};

use crate::IdentityError;
use crate::mailer::MAIL_NOTICE;

/// An account event its owner is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountEvent {
    /// Changed from a signed-in session; the other sessions were ended.
    PasswordChanged,
    /// Reset with a mailed link; every session was ended.
    PasswordReset,
    /// A second factor was added or removed.
    FactorsChanged,
    /// Too many wrong passwords: signing in is paused.
    SignInPaused,
    /// A new sign-in ended the oldest session (the session limit).
    SignedInElsewhere,
    /// An administrator removed every second factor: a new one is set up at the next
    /// sign-in, and every session was ended.
    FactorsReset,
}

impl AccountEvent {
    pub fn kind(self) -> &'static str {
        match self {
            Self::PasswordChanged => "account.password_changed",
            Self::PasswordReset => "account.password_reset",
            Self::FactorsChanged => "account.factors_changed",
            Self::SignInPaused => "account.sign_in_paused",
            Self::SignedInElsewhere => "account.signed_in_elsewhere",
            Self::FactorsReset => "account.factors_reset",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        [
            Self::PasswordChanged,
            Self::PasswordReset,
            Self::FactorsChanged,
            Self::SignInPaused,
            Self::SignedInElsewhere,
            Self::FactorsReset,
        ]
        .into_iter()
        .find(|e| e.kind() == kind)
    }

    /// The notice's subject and what it says happened, in `locale`.
    fn notice(self, detail: &Value, locale: Locale) -> (String, String) {
        let id = match self {
            Self::PasswordChanged => "mail-notice-password-changed",
            Self::PasswordReset => "mail-notice-password-reset",
            Self::FactorsChanged => "mail-notice-factors-changed",
            Self::FactorsReset => "mail-notice-factors-reset",
            Self::SignInPaused => "mail-notice-paused",
            Self::SignedInElsewhere => "mail-notice-elsewhere",
        };
        let unknown = text_with(locale, "mail-unknown-address", &[]);
        let address = |key: &str| {
            detail[key]
                .as_str()
                .map_or_else(|| unknown.clone(), str::to_owned)
        };
        let args = [
            ("address", Arg::Text(address("ip"))),
            ("other", Arg::Text(address("previous_ip"))),
        ];
        (
            text_with(locale, &format!("{id}-subject"), &[]),
            text_with(locale, id, &args),
        )
    }
}

/// Records `event` for `user`'s account in `tx`, beside the audit entry it goes with.
pub(crate) async fn record(
    store: &Store,
    tx: &mut Tx,
    event: AccountEvent,
    user: &UserId,
    actor: &str,
    detail: Value,
) -> Result<(), IdentityError> {
    store
        .record_event(
            tx,
            &NewDomainEvent {
                kind: event.kind().to_owned(),
                subject: user.to_string(),
                channel: "account".to_owned(),
                actor: actor.to_owned(),
                detail: detail.to_string(),
            },
        )
        .await?;
    Ok(())
}

/// Queues the security notice a recorded account event calls for, in `tx` (the
/// subscriber's, committed with its position, so exactly once). Events of other kinds,
/// and accounts that no longer exist, call for nothing.
pub async fn queue_security_notice(
    store: &Store,
    tx: &mut Tx,
    event: &DomainEventRecord,
) -> Result<(), IdentityError> {
    let Some(what) = AccountEvent::from_kind(&event.kind) else {
        return Ok(());
    };
    let Ok(user) = UserId::parse(&event.subject) else {
        return Ok(());
    };
    let account = match store.get_user(&user).await {
        Ok(account) => account,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let detail: Value = serde_json::from_str(&event.detail).unwrap_or_else(|_| json!({}));
    let locale = Locale::for_mail(store.mail_language(account.locale.as_deref()).await?.as_deref());
    let (subject, what_happened) = what.notice(&detail, locale);
    let text = format!(
        "{what_happened}\n\n{}\n",
        text_with(locale, "mail-notice-footer", &[])
    );
    let mail = OutgoingMail {
        to: account.email.as_str().to_owned(),
        subject,
        text,
        ..OutgoingMail::default()
    };
    store.enqueue_mail(tx, MAIL_NOTICE, &mail).await?;
    Ok(())
}
