//! Changing a password from inside a session. A step-up action: the holder must have
//! proved who they are within the last ten minutes, so a borrowed or stolen session
//! cannot lock the owner out. Every other session of the account ends; the current one
//! gets a new token.

use crate::account_events::{self, AccountEvent};
use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{SecretString, SessionId};
use palisade_crypto::RandomToken;
use palisade_store::UserRecord;
use serde_json::json;

use crate::{Identity, IdentityError, SessionState, require_recent_auth, validate_new_password};

impl Identity {
    pub async fn change_password(
        &self,
        session: Option<&SessionState>,
        user: &UserRecord,
        new_password: &SecretString,
        ctx: &AuditContext,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        require_recent_auth(session)?;
        let session = session.ok_or(IdentityError::StepUpRequired)?;
        validate_new_password(new_password.expose(), &[&user.name, user.email.as_str()])?;
        let hash = self.hasher().hash(new_password).await?;
        let mut tx = self.store().begin().await?;
        self.store().set_password_hash(&mut tx, &user.id, &hash).await?;
        let ended = self
            .store()
            .revoke_other_sessions(&mut tx, &user.id, Some(&session.id))
            .await?;
        let event = AuditEvent::new(
            AuditAction::PasswordChanged,
            user.id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({ "other_sessions_ended": ended }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        account_events::record(
            self.store(),
            &mut tx,
            AccountEvent::PasswordChanged,
            &user.id,
            &ctx.actor,
            json!({ "other_sessions_ended": ended }),
        )
        .await?;
        let rotated = self.rotate_session(&mut tx, user, &session.id, false).await?;
        tx.commit().await?;
        Ok(rotated)
    }
}
