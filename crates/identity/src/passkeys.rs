//! Passkeys and security keys (WebAuthn, through webauthn-rs): registration, use as
//! the second step of signing in or of a step-up, naming and removal. Each challenge
//! is kept server-side, bound to the session that asked for it, and answered once.

use std::sync::Arc;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{CeremonyId, PasskeyId, SecretString, SessionId};
use palisade_crypto::RandomToken;
use palisade_store::{SessionStage, UserRecord};
use serde_json::json;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::mfa::Enrolled;
use crate::{Identity, IdentityError, SessionState, SignedIn};

/// How long a browser has to answer a WebAuthn challenge.
const CEREMONY_SECS: i64 = 5 * 60;
const REGISTER: &str = "register";
const AUTHENTICATE: &str = "authenticate";
const MAX_PASSKEYS: usize = 20;

/// The relying party: this deployment's public origin, which every passkey is bound to.
#[derive(Clone)]
pub struct RelyingParty(Arc<Webauthn>);

impl RelyingParty {
    /// `origin` is the public `https://host[:port]` users reach Palisade at.
    pub fn new(origin: &str) -> Result<Self, IdentityError> {
        let url = Url::parse(origin).map_err(|e| IdentityError::Config(format!("public origin: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| IdentityError::Config("public origin has no host".into()))?
            .to_owned();
        let webauthn = WebauthnBuilder::new(&host, &url)
            .and_then(|b| b.rp_name("Palisade").build())
            .map_err(|e| IdentityError::Config(format!("passkey relying party: {e}")))?;
        Ok(Self(Arc::new(webauthn)))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, IdentityError> {
    serde_json::to_vec(value).map_err(|e| IdentityError::Config(format!("passkey state: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, IdentityError> {
    serde_json::from_slice(bytes).map_err(|e| IdentityError::Config(format!("passkey state: {e}")))
}

fn credential_id(passkey: &Passkey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode::<&[u8]>(passkey.cred_id().as_ref())
}

impl Identity {
    fn relying_party(&self) -> Result<&Webauthn, IdentityError> {
        self.relying_party
            .as_ref()
            .map(|rp| rp.0.as_ref())
            .ok_or_else(|| IdentityError::invalid_request("refusal-passkeys-off"))
    }

    /// The opaque WebAuthn user handle: a keyed hash of the account id, so it reveals
    /// nothing and is stable across registrations.
    fn user_handle(&self, user: &UserRecord) -> Uuid {
        let hex = self
            .store()
            .keys()
            .blind_index()
            .compute("webauthn.user_handle", user.id.as_str());
        let mut bytes = [0u8; 16];
        if let Ok(decoded) = hex::decode(&hex) {
            for (b, d) in bytes.iter_mut().zip(decoded) {
                *b = d;
            }
        }
        Uuid::from_bytes(bytes)
    }

    async fn stored_passkeys(&self, user: &UserRecord) -> Result<Vec<(PasskeyId, Passkey)>, IdentityError> {
        self.store()
            .passkeys(&user.id)
            .await?
            .into_iter()
            .map(|p| Ok((p.id, from_json::<Passkey>(&p.credential)?)))
            .collect()
    }

    /// Starts registering a passkey: the options for `navigator.credentials.create`.
    pub async fn start_passkey_registration(
        &self,
        session: &SessionState,
        user: &UserRecord,
    ) -> Result<(CeremonyId, CreationChallengeResponse), IdentityError> {
        Self::may_change_factors(session)?;
        let existing = self.stored_passkeys(user).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(IdentityError::InvalidRequest(
                palisade_i18n::Refusal::new("refusal-passkeys-at-most").with("max", MAX_PASSKEYS),
            ));
        }
        let exclude = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
        let (options, state) = self
            .relying_party()?
            .start_passkey_registration(
                self.user_handle(user),
                user.email.as_str(),
                &user.name,
                Some(exclude),
            )
            .map_err(|e| IdentityError::Config(format!("passkey registration: {e}")))?;
        let id = self
            .store()
            .put_ceremony(&session.id, REGISTER, &to_json(&state)?, CEREMONY_SECS)
            .await?;
        Ok((id, options))
    }

    /// Finishes a registration with the browser's answer. Like any factor change, the
    /// account's other sessions end and this one continues with a new token.
    pub async fn finish_passkey_registration(
        &self,
        session: &SessionState,
        user: &UserRecord,
        ceremony: &CeremonyId,
        name: &str,
        answer: &RegisterPublicKeyCredential,
        ctx: &AuditContext,
    ) -> Result<Enrolled, IdentityError> {
        Self::may_change_factors(session)?;
        let Some(state) = self
            .store()
            .take_ceremony(ceremony, &session.id, REGISTER)
            .await?
        else {
            return Err(IdentityError::InvalidSecondFactor);
        };
        let state: PasskeyRegistration = from_json(&state)?;
        let passkey = match self.relying_party()?.finish_passkey_registration(answer, &state) {
            Ok(p) => p,
            Err(e) => {
                let event = AuditEvent::new(AuditAction::MfaEnrolled, user.id.to_string(), Outcome::Failure)
                    .with_detail(json!({ "factor": "passkey", "reason": e.to_string() }));
                self.store().audit(ctx, &event).await?;
                return Err(IdentityError::InvalidSecondFactor);
            }
        };
        let had_factor = self.factors(&user.id).await?.any();
        let mut tx = self.store().begin().await?;
        let id = match self
            .store()
            .add_passkey(
                &mut tx,
                &user.id,
                name,
                &credential_id(&passkey),
                &to_json(&passkey)?,
            )
            .await
        {
            Err(palisade_store::StoreError::Conflict) => return Err(IdentityError::AlreadyEnrolled),
            other => other?,
        };
        self.finish_enrolment(
            tx,
            session,
            user,
            had_factor,
            json!({ "factor": "passkey", "passkey": id.to_string() }),
            ctx,
        )
        .await
    }

    /// Starts a passkey assertion, for the second step of signing in or for a step-up.
    pub async fn start_passkey_authentication(
        &self,
        session: &SessionState,
        user: &UserRecord,
    ) -> Result<(CeremonyId, RequestChallengeResponse), IdentityError> {
        if session.stage == SessionStage::Enrol {
            return Err(IdentityError::WrongStage);
        }
        let passkeys: Vec<Passkey> = self
            .stored_passkeys(user)
            .await?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        if passkeys.is_empty() {
            return Err(IdentityError::NotEnrolled);
        }
        let (options, state) = self
            .relying_party()?
            .start_passkey_authentication(&passkeys)
            .map_err(|e| IdentityError::Config(format!("passkey sign-in: {e}")))?;
        let id = self
            .store()
            .put_ceremony(&session.id, AUTHENTICATE, &to_json(&state)?, CEREMONY_SECS)
            .await?;
        Ok((id, options))
    }

    /// Verifies an assertion against the challenge this session was given; records the
    /// authenticator's new signature counter. `Err(reason)` for the audit trail.
    async fn check_passkey(
        &self,
        session: &SessionState,
        user: &UserRecord,
        ceremony: &CeremonyId,
        answer: &PublicKeyCredential,
    ) -> Result<Result<&'static str, String>, IdentityError> {
        let Some(state) = self
            .store()
            .take_ceremony(ceremony, &session.id, AUTHENTICATE)
            .await?
        else {
            return Ok(Err("unknown_or_used_challenge".into()));
        };
        let state: PasskeyAuthentication = from_json(&state)?;
        let result = match self
            .relying_party()?
            .finish_passkey_authentication(answer, &state)
        {
            Ok(r) => r,
            Err(e) => return Ok(Err(format!("passkey_rejected: {e}"))),
        };
        for (id, mut passkey) in self.stored_passkeys(user).await? {
            if passkey.cred_id() == result.cred_id() {
                passkey.update_credential(&result);
                self.store()
                    .passkey_used(&user.id, &id, &to_json(&passkey)?)
                    .await?;
                return Ok(Ok("passkey"));
            }
        }
        Ok(Err("passkey_not_registered".into()))
    }

    /// The second step of signing in, answered with a passkey.
    pub async fn verify_passkey_second_factor(
        &self,
        session: &SessionState,
        user: &UserRecord,
        ceremony: &CeremonyId,
        answer: &PublicKeyCredential,
        ctx: &AuditContext,
    ) -> Result<SignedIn, IdentityError> {
        if session.stage != SessionStage::SecondFactor {
            return Err(IdentityError::WrongStage);
        }
        self.reserve_second_factor(&user.id).await?;
        match self.check_passkey(session, user, ceremony, answer).await? {
            Ok(method) => self.second_factor_passed(session, user, method, ctx).await,
            Err(reason) => Err(self.second_factor_failed(&user.id, &reason, ctx).await?),
        }
    }

    /// Step-up with the password and a passkey.
    pub async fn step_up_with_passkey(
        &self,
        session: &SessionState,
        user: &UserRecord,
        password: &SecretString,
        ceremony: &CeremonyId,
        answer: &PublicKeyCredential,
        ctx: &AuditContext,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        if session.stage != SessionStage::Full {
            return Err(IdentityError::WrongStage);
        }
        self.reserve_second_factor(&user.id).await?;
        let stored = self.store().password_hash(&user.id).await?;
        if !self.hasher().verify(password, stored.as_ref()).await? {
            return Err(self.step_up_failed(&user.id, "wrong_password", ctx).await?);
        }
        match self.check_passkey(session, user, ceremony, answer).await? {
            Ok(method) => self.finish_step_up(session, user, method, ctx).await,
            Err(reason) => Err(self.step_up_failed(&user.id, &reason, ctx).await?),
        }
    }

    pub async fn rename_passkey(
        &self,
        user: &UserRecord,
        id: &PasskeyId,
        name: &str,
        ctx: &AuditContext,
    ) -> Result<bool, IdentityError> {
        let mut tx = self.store().begin().await?;
        let renamed = self.store().rename_passkey(&mut tx, &user.id, id, name).await?;
        if renamed {
            let event = AuditEvent::new(AuditAction::MfaEnrolled, user.id.to_string(), Outcome::Success)
                .with_detail(json!({ "factor": "passkey", "passkey": id.to_string(), "renamed": true }));
            self.store().append_audit(&mut tx, ctx, &event).await?;
            tx.commit().await?;
        }
        Ok(renamed)
    }

    /// Removes a passkey (a step-up action); staff cannot remove their last factor.
    pub async fn remove_passkey(
        &self,
        session: &SessionState,
        user: &UserRecord,
        id: &PasskeyId,
        ctx: &AuditContext,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        crate::require_recent_auth(Some(session))?;
        let factors = self.factors(&user.id).await?;
        let last = !factors.totp && factors.passkeys <= 1;
        self.remove_factor_checked(user, last, ctx).await?;
        let mut tx = self.store().begin().await?;
        if !self.store().delete_passkey(&mut tx, &user.id, id).await? {
            return Err(IdentityError::NotEnrolled);
        }
        self.finish_factor_removal(tx, session, user, "passkey", last, ctx)
            .await
    }
}
