//! Password reset and invitations by email. Both are one-time links (the setup-token
//! mechanism) sent only to the address on file. A reset never signs anyone in: the
//! new password is followed by the normal sign-in, second factor included, and every
//! session of the account ends. Asking for a reset answers the same whether or not the
//! address has an account, and the work happens off the request path, so neither the
//! answer nor its timing tells.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{EmailAddress, UserId};
use palisade_crypto::RandomToken;
use palisade_i18n::{Locale, text_with};
use serde_json::json;

use crate::mailer::{MAIL_INVITATION, MAIL_PASSWORD_RESET};
use crate::throttle::{Counter, source_key};
use crate::{Identity, IdentityError};

/// A reset link lives this long.
pub const RESET_LINK_SECS: i64 = 15 * 60;
/// An invitation to the portal lives this long.
pub const INVITATION_SECS: i64 = 72 * 3600;

impl Identity {
    /// Starts a reset for `email` in the background and returns at once, unless this
    /// node has taken on all the reset work it will (`reset_admission`).
    pub fn request_password_reset(&self, email: &str, ctx: &AuditContext) {
        let Some(slot) = self.reset_admission().admit(palisade_core::UnixMillis::now()) else {
            return;
        };
        let this = self.clone();
        let email: String = email.chars().take(254).collect();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = this.password_reset_work(&email, &ctx).await {
                tracing::error!(error = %e, "password reset request failed");
            }
        });
    }

    /// The work behind [`Identity::request_password_reset`]; public for tests that
    /// need to wait for it.
    pub async fn password_reset_work(&self, email: &str, ctx: &AuditContext) -> Result<(), IdentityError> {
        // Reserved before anything is looked up or sent, so a burst of requests sends
        // no more mail than the limits allow.
        let ip_key = source_key("reset-ip", ctx);
        let refuse = |reason: &'static str| {
            AuditEvent::new(AuditAction::PasswordResetRequested, "account", Outcome::Denied)
                .with_detail(json!({ "reason": reason }))
        };
        if self
            .remembered_blocks()
            .refuse(&ip_key, palisade_core::UnixMillis::now())
            .is_some()
        {
            return Ok(());
        }
        if self.reserve_attempt(&ip_key, Counter::Source).await.is_err() {
            return self.refuse_reset(ctx, refuse("source_throttled")).await;
        }
        let Some(address) = EmailAddress::parse(email).ok() else {
            return self.refuse_reset(ctx, refuse("malformed_address")).await;
        };
        let account_key = format!("reset-account:{}", self.store().email_index(&address));
        if self
            .reserve_attempt(&account_key, Counter::Account)
            .await
            .is_err()
        {
            return self.refuse_reset(ctx, refuse("account_throttled")).await;
        }
        let user = match self.store().find_user_by_email(&address).await? {
            Some(u) if !u.disabled => u,
            Some(_) => return self.refuse_reset(ctx, refuse("account_disabled")).await,
            None => return self.refuse_reset(ctx, refuse("unknown_account")).await,
        };
        let token = RandomToken::generate()?;
        let link = self.link(&format!("/setup/{}", token.expose()))?;
        let mut tx = self.store().begin().await?;
        // One live reset link per account: a new one replaces older ones.
        self.store()
            .expire_setup_tokens(&mut tx, &user.id, "reset")
            .await?;
        self.store()
            .create_setup_token(&mut tx, &user.id, &token.hash(), "reset", RESET_LINK_SECS)
            .await?;
        let locale = Locale::for_mail(
            self.store()
                .mail_language(user.locale.as_deref())
                .await?
                .as_deref(),
        );
        let text = text_with(
            locale,
            "mail-reset-body",
            &[("address", user.email.as_str().into()), ("link", link.into())],
        ) + "\n";
        self.queue_mail(
            &mut tx,
            MAIL_PASSWORD_RESET,
            &user.email,
            &text_with(locale, "mail-reset-subject", &[]),
            text,
        )
        .await?;
        let event = AuditEvent::new(
            AuditAction::PasswordResetRequested,
            user.id.to_string(),
            Outcome::Success,
        );
        self.store().append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn refuse_reset(&self, ctx: &AuditContext, event: AuditEvent) -> Result<(), IdentityError> {
        self.store().audit(ctx, &event).await?;
        Ok(())
    }

    /// Queues, in the caller's transaction, a new portal account's invitation: a link to
    /// choose a password, which also proves the customer controls the address. Until
    /// then the account cannot sign in (it has no password).
    pub async fn invite(
        &self,
        tx: &mut palisade_store::Tx,
        user: &UserId,
        email: &EmailAddress,
        name: &str,
        ctx: &AuditContext,
    ) -> Result<(), IdentityError> {
        let token = RandomToken::generate()?;
        let link = self.link(&format!("/setup/{}", token.expose()))?;
        self.store()
            .create_setup_token(tx, user, &token.hash(), "invite", INVITATION_SECS)
            .await?;
        // A new account has chosen no language: the desk's default decides.
        let locale = Locale::for_mail(self.store().mail_language(None).await?.as_deref());
        let text = text_with(
            locale,
            "mail-invite-body",
            &[("name", name.into()), ("link", link.into())],
        ) + "\n";
        let subject = text_with(locale, "mail-invite-subject", &[]);
        self.queue_mail(tx, MAIL_INVITATION, email, &subject, text)
            .await?;
        let event = AuditEvent::new(AuditAction::SetupLinkIssued, user.to_string(), Outcome::Success)
            .with_detail(json!({ "purpose": "invite", "delivery": "email" }));
        self.store().append_audit(tx, ctx, &event).await?;
        Ok(())
    }
}
