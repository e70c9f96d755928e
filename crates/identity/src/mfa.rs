//! Second factors: authenticator apps (RFC 6238, each code accepted once), recovery
//! codes, the second step of sign-in, enrolment and step-up re-authentication.
//! Passkeys live in `passkeys.rs` and finish through the same functions here.

use crate::account_events::{self, AccountEvent};
use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{SecretString, SessionId, UnixMillis, UserId};
use palisade_crypto::{RandomToken, human_code, random_bytes};
use palisade_store::{SessionStage, UserRecord};
use serde_json::json;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::throttle::Counter;
use crate::{Identity, IdentityError, SessionState, SignedIn, mfa_required};

/// How long after signing in or stepping up a sensitive action is allowed.
pub const STEP_UP_WINDOW_SECS: i64 = 10 * 60;
pub const RECOVERY_CODE_COUNT: usize = 10;
const TOTP_ISSUER: &str = "Palisade";
const TOTP_STEP_SECS: u64 = 30;
/// One step either side tolerates clock drift without widening the window much.
const TOTP_SKEW_STEPS: u8 = 1;
const RECOVERY_INDEX_DOMAIN: &str = "recovery_codes";

/// What the user answers the second-factor challenge with.
pub enum SecondFactor {
    Totp(String),
    RecoveryCode(SecretString),
}

/// The factors an account has.
#[derive(Clone, Copy, Debug, Default)]
pub struct Factors {
    pub totp: bool,
    pub passkeys: usize,
    pub recovery_codes_left: i64,
}

impl Factors {
    /// Recovery codes alone do not count: they back up a factor, they are not one.
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }

    pub fn methods(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.totp {
            m.push("totp");
        }
        if self.passkeys > 0 {
            m.push("passkey");
        }
        if self.any() && self.recovery_codes_left > 0 {
            m.push("recovery_code");
        }
        m
    }
}

/// A new authenticator-app secret, shown once for the user's app to scan.
pub struct TotpSetup {
    pub secret_base32: Zeroizing<String>,
    pub otpauth_uri: Zeroizing<String>,
}

/// The session may perform a step-up action: a full session that proved who it is
/// within the window. API tokens (no session) never may.
pub fn require_recent_auth(session: Option<&SessionState>) -> Result<(), IdentityError> {
    match session {
        Some(s)
            if s.stage == SessionStage::Full
                && UnixMillis::now().0 - s.auth_at.0 <= STEP_UP_WINDOW_SECS * 1000 =>
        {
            Ok(())
        }
        _ => Err(IdentityError::StepUpRequired),
    }
}

fn totp_for(secret: &[u8], account: &str) -> Result<Totp, IdentityError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(u16::from(TOTP_SKEW_STEPS))
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(Secret::from(secret.to_vec()))
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(TOTP_ISSUER))
        .build()
        .map_err(|e| IdentityError::Config(format!("authenticator setup: {e}")))
}

/// The time step a code belongs to, if it is valid now.
fn totp_step(secret: &[u8], code: &str) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp_for(secret, "").ok()?;
    let now = u64::try_from(UnixMillis::now().0 / 1000).ok()?;
    totp.check(&code, now).and_then(|step| i64::try_from(step).ok())
}

fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Identity {
    pub async fn factors(&self, user: &UserId) -> Result<Factors, IdentityError> {
        let totp = self.store().totp(user).await?.is_some_and(|t| t.confirmed);
        let passkeys = self.store().passkeys(user).await?.len();
        let recovery_codes_left = self.store().recovery_codes_left(user).await?;
        Ok(Factors {
            totp,
            passkeys,
            recovery_codes_left,
        })
    }

    fn recovery_hash(&self, user: &UserId, code: &str) -> String {
        self.store().keys().blind_index().compute(
            RECOVERY_INDEX_DOMAIN,
            &format!("{user}:{}", normalise_recovery_code(code)),
        )
    }

    /// The code's hash under the current root and every root a rotation retired.
    fn recovery_hashes(&self, user: &UserId, code: &str) -> Vec<String> {
        self.store().keys().blind_indexes(
            RECOVERY_INDEX_DOMAIN,
            &format!("{user}:{}", normalise_recovery_code(code)),
        )
    }

    pub(crate) async fn issue_recovery_codes(
        &self,
        tx: &mut palisade_store::Tx,
        user: &UserId,
    ) -> Result<Vec<Zeroizing<String>>, IdentityError> {
        let mut codes = Vec::with_capacity(RECOVERY_CODE_COUNT);
        for _ in 0..RECOVERY_CODE_COUNT {
            codes.push(human_code(2)?);
        }
        let hashes: Vec<String> = codes.iter().map(|c| self.recovery_hash(user, c)).collect();
        self.store().replace_recovery_codes(tx, user, &hashes).await?;
        Ok(codes)
    }

    /// Checks a second factor; `Ok(method)` or `Err(reason for the audit trail)`.
    /// A valid code is spent here, atomically, so it cannot be used again.
    async fn check_factor(
        &self,
        user: &UserId,
        factor: &SecondFactor,
    ) -> Result<Result<&'static str, &'static str>, IdentityError> {
        match factor {
            SecondFactor::Totp(code) => {
                let Some(totp) = self.store().totp(user).await?.filter(|t| t.confirmed) else {
                    return Ok(Err("no_authenticator_app"));
                };
                let Some(step) = totp_step(totp.secret.expose(), code) else {
                    return Ok(Err("wrong_code"));
                };
                if !self.store().consume_totp_step(user, step).await? {
                    return Ok(Err("replayed_code"));
                }
                Ok(Ok("totp"))
            }
            SecondFactor::RecoveryCode(code) => {
                if !self.factors(user).await?.any() {
                    return Ok(Err("no_second_factor"));
                }
                let hashes = self.recovery_hashes(user, code.expose());
                if self.store().use_recovery_code(user, &hashes).await? {
                    Ok(Ok("recovery_code"))
                } else {
                    Ok(Err("wrong_recovery_code"))
                }
            }
        }
    }

    /// Audits a failed second-factor attempt. It was already counted against the
    /// account by [`Identity::reserve_second_factor`] before it was evaluated.
    pub(crate) async fn second_factor_failed(
        &self,
        user: &UserId,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<IdentityError, IdentityError> {
        let event = AuditEvent::new(AuditAction::MfaFailed, user.to_string(), Outcome::Failure)
            .with_detail(json!({ "reason": reason }));
        self.store().audit(ctx, &event).await?;
        Ok(IdentityError::InvalidSecondFactor)
    }

    /// Reserves one second-factor attempt for the account (the same back-off as
    /// passwords, so six digits cannot be brute-forced), atomically and before the
    /// code is looked at: however many arrive at once, no more are evaluated than the
    /// limit allows. A passed attempt clears the count.
    pub(crate) async fn reserve_second_factor(&self, user: &UserId) -> Result<(), IdentityError> {
        self.reserve_attempt(&mfa_throttle_key(user), Counter::Account)
            .await
            .map(|_| ())
    }

    /// The second step of signing in: a code (or, through `passkeys.rs`, a passkey)
    /// turns the pending session into a full one with a new token.
    pub async fn verify_second_factor(
        &self,
        session: &SessionState,
        user: &UserRecord,
        factor: &SecondFactor,
        ctx: &AuditContext,
    ) -> Result<SignedIn, IdentityError> {
        if session.stage != SessionStage::SecondFactor {
            return Err(IdentityError::WrongStage);
        }
        self.reserve_second_factor(&user.id).await?;
        match self.check_factor(&user.id, factor).await? {
            Ok(method) => self.second_factor_passed(session, user, method, ctx).await,
            Err(reason) => Err(self.second_factor_failed(&user.id, reason, ctx).await?),
        }
    }

    pub(crate) async fn second_factor_passed(
        &self,
        session: &SessionState,
        user: &UserRecord,
        method: &'static str,
        ctx: &AuditContext,
    ) -> Result<SignedIn, IdentityError> {
        self.store().clear_throttle(&mfa_throttle_key(&user.id)).await?;
        if method == "recovery_code" {
            let left = self.store().recovery_codes_left(&user.id).await?;
            let event = AuditEvent::new(
                AuditAction::RecoveryCodeUsed,
                user.id.to_string(),
                Outcome::Success,
            )
            .with_detail(json!({ "codes_left": left }));
            self.store().audit(ctx, &event).await?;
        }
        self.open_full(
            user.clone(),
            Some(&session.id),
            ctx,
            json!({ "factors": ["password", method] }),
        )
        .await
    }

    /// Re-authentication for sensitive actions: the password, plus a second factor
    /// when the account has one. The session gets a new token marked as just
    /// re-authenticated.
    pub async fn step_up(
        &self,
        session: &SessionState,
        user: &UserRecord,
        password: &SecretString,
        factor: Option<&SecondFactor>,
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
        let method = if self.factors(&user.id).await?.any() {
            let Some(factor) = factor else {
                return Err(self
                    .step_up_failed(&user.id, "second_factor_missing", ctx)
                    .await?);
            };
            match self.check_factor(&user.id, factor).await? {
                Ok(method) => method,
                Err(reason) => return Err(self.step_up_failed(&user.id, reason, ctx).await?),
            }
        } else {
            "password"
        };
        self.finish_step_up(session, user, method, ctx).await
    }

    pub(crate) async fn step_up_failed(
        &self,
        user: &UserId,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<IdentityError, IdentityError> {
        self.second_factor_failed(user, &format!("step_up:{reason}"), ctx)
            .await?;
        Ok(IdentityError::InvalidCredentials)
    }

    pub(crate) async fn finish_step_up(
        &self,
        session: &SessionState,
        user: &UserRecord,
        method: &str,
        ctx: &AuditContext,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        self.store().clear_throttle(&mfa_throttle_key(&user.id)).await?;
        let mut tx = self.store().begin().await?;
        let rotated = self.rotate_session(&mut tx, user, &session.id, true).await?;
        let event = AuditEvent::new(AuditAction::StepUp, user.id.to_string(), Outcome::Success)
            .with_detail(json!({ "method": method, "new_session": rotated.1.to_string() }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(rotated)
    }

    /// The session may change second factors: an enrol-only session (its password was
    /// checked moments ago and it has no factor to protect), or a stepped-up one.
    pub(crate) fn may_change_factors(session: &SessionState) -> Result<(), IdentityError> {
        match session.stage {
            SessionStage::Enrol => Ok(()),
            SessionStage::Full => require_recent_auth(Some(session)),
            SessionStage::SecondFactor => Err(IdentityError::WrongStage),
        }
    }

    /// Starts authenticator-app enrolment: a fresh secret, stored sealed until the
    /// first code confirms it.
    pub async fn begin_totp(
        &self,
        session: &SessionState,
        user: &UserRecord,
    ) -> Result<TotpSetup, IdentityError> {
        Self::may_change_factors(session)?;
        if self.store().totp(&user.id).await?.is_some_and(|t| t.confirmed) {
            return Err(IdentityError::AlreadyEnrolled);
        }
        let secret: Zeroizing<[u8; 20]> = Zeroizing::new(random_bytes()?);
        let totp = totp_for(secret.as_slice(), user.email.as_str())?;
        let mut tx = self.store().begin().await?;
        match self
            .store()
            .put_pending_totp(&mut tx, &user.id, secret.as_slice())
            .await
        {
            Err(palisade_store::StoreError::Conflict) => return Err(IdentityError::AlreadyEnrolled),
            other => other?,
        }
        tx.commit().await?;
        Ok(TotpSetup {
            secret_base32: Zeroizing::new(Secret::from(secret.to_vec()).to_base32()),
            otpauth_uri: Zeroizing::new(
                totp.to_url()
                    .map_err(|e| IdentityError::Config(format!("authenticator setup: {e}")))?,
            ),
        })
    }

    /// The enrolment in progress (for drawing its QR code, or showing it again after
    /// a mistyped first code).
    pub async fn pending_totp(&self, user: &UserRecord) -> Result<Option<TotpSetup>, IdentityError> {
        let Some(totp) = self.store().totp(&user.id).await?.filter(|t| !t.confirmed) else {
            return Ok(None);
        };
        let uri = totp_for(totp.secret.expose(), user.email.as_str())?
            .to_url()
            .map_err(|e| IdentityError::Config(format!("authenticator setup: {e}")))?;
        Ok(Some(TotpSetup {
            secret_base32: Zeroizing::new(Secret::from(totp.secret.expose().to_vec()).to_base32()),
            otpauth_uri: Zeroizing::new(uri),
        }))
    }

    /// Confirms enrolment with a first code. Every other session of the account ends
    /// (a factor changed); the current one continues with a new token, as a full
    /// session. Recovery codes are issued with the first factor.
    pub async fn confirm_totp(
        &self,
        session: &SessionState,
        user: &UserRecord,
        code: &str,
        ctx: &AuditContext,
    ) -> Result<Enrolled, IdentityError> {
        Self::may_change_factors(session)?;
        self.reserve_second_factor(&user.id).await?;
        let Some(pending) = self.store().totp(&user.id).await?.filter(|t| !t.confirmed) else {
            return Err(IdentityError::NotEnrolled);
        };
        let Some(step) = totp_step(pending.secret.expose(), code) else {
            return Err(self
                .second_factor_failed(&user.id, "enrolment_wrong_code", ctx)
                .await?);
        };
        let had_factor = self.factors(&user.id).await?.any();
        let mut tx = self.store().begin().await?;
        if !self.store().confirm_totp(&mut tx, &user.id, step).await? {
            return Err(IdentityError::NotEnrolled);
        }
        self.finish_enrolment(tx, session, user, had_factor, json!({ "factor": "totp" }), ctx)
            .await
    }

    /// The common end of adding a factor, inside the transaction that stored it:
    /// recovery codes with the first factor, every other session ended, the audit
    /// entries, and a new token for the current session.
    pub(crate) async fn finish_enrolment(
        &self,
        mut tx: palisade_store::Tx,
        session: &SessionState,
        user: &UserRecord,
        had_factor: bool,
        mut detail: serde_json::Value,
        ctx: &AuditContext,
    ) -> Result<Enrolled, IdentityError> {
        let recovery_codes = if had_factor {
            None
        } else {
            Some(self.issue_recovery_codes(&mut tx, &user.id).await?)
        };
        let ended = self
            .store()
            .revoke_other_sessions(&mut tx, &user.id, Some(&session.id))
            .await?;
        detail["other_sessions_ended"] = json!(ended);
        let event = AuditEvent::new(AuditAction::MfaEnrolled, user.id.to_string(), Outcome::Success)
            .with_detail(detail);
        self.store().append_audit(&mut tx, ctx, &event).await?;
        if recovery_codes.is_some() {
            let event = AuditEvent::new(
                AuditAction::RecoveryCodesIssued,
                user.id.to_string(),
                Outcome::Success,
            )
            .with_detail(json!({ "count": RECOVERY_CODE_COUNT }));
            self.store().append_audit(&mut tx, ctx, &event).await?;
        }
        let (token, session) = self.after_factor_change(tx, session, user, ctx).await?;
        Ok(Enrolled {
            token,
            session,
            recovery_codes,
        })
    }

    /// Finishes a factor change: an enrol-only session becomes a full one (its
    /// privilege changed), a full one is rotated. Either way the token is new.
    pub(crate) async fn after_factor_change(
        &self,
        mut tx: palisade_store::Tx,
        session: &SessionState,
        user: &UserRecord,
        ctx: &AuditContext,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        account_events::record(
            self.store(),
            &mut tx,
            AccountEvent::FactorsChanged,
            &user.id,
            &ctx.actor,
            json!({}),
        )
        .await?;
        if session.stage == SessionStage::Enrol {
            tx.commit().await?;
            let signed = self
                .open_full(
                    user.clone(),
                    Some(&session.id),
                    ctx,
                    json!({ "factors": ["password"], "enrolled": true }),
                )
                .await?;
            return Ok((signed.token, signed.session));
        }
        let rotated = self.rotate_session(&mut tx, user, &session.id, false).await?;
        tx.commit().await?;
        Ok(rotated)
    }

    /// Removes every second factor of `user` (authenticator app, passkeys, recovery
    /// codes) and ends all their sessions, for an administrator whose colleague lost
    /// their device: the next sign-in asks them to set up a new factor, and they are
    /// told by mail. Whether the administrator may, and has just proved who they are,
    /// is decided by the caller.
    pub async fn reset_second_factors(&self, user: &UserId, ctx: &AuditContext) -> Result<(), IdentityError> {
        let mut tx = self.store().begin().await?;
        let totp = self.store().delete_totp(&mut tx, user).await?;
        let passkeys = self.store().delete_passkeys_of(&mut tx, user).await?;
        self.store().delete_recovery_codes(&mut tx, user).await?;
        let ended = self.store().revoke_other_sessions(&mut tx, user, None).await?;
        let event = AuditEvent::new(AuditAction::MfaRemoved, user.to_string(), Outcome::Success).with_detail(json!({
            "reason": "reset_by_administrator", "totp": totp, "passkeys": passkeys, "sessions_ended": ended,
        }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        crate::account_events::record(
            self.store(),
            &mut tx,
            crate::account_events::AccountEvent::FactorsReset,
            user,
            &ctx.actor,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the authenticator app (a step-up action). Staff cannot remove their last
    /// factor; when none is left, the recovery codes go too.
    pub async fn remove_totp(
        &self,
        session: &SessionState,
        user: &UserRecord,
        ctx: &AuditContext,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        require_recent_auth(Some(session))?;
        let factors = self.factors(&user.id).await?;
        if !factors.totp {
            return Err(IdentityError::NotEnrolled);
        }
        let last = factors.passkeys == 0;
        self.remove_factor_checked(user, last, ctx).await?;
        let mut tx = self.store().begin().await?;
        if !self.store().delete_totp(&mut tx, &user.id).await? {
            return Err(IdentityError::NotEnrolled);
        }
        self.finish_factor_removal(tx, session, user, "totp", last, ctx)
            .await
    }

    pub(crate) async fn remove_factor_checked(
        &self,
        user: &UserRecord,
        last: bool,
        ctx: &AuditContext,
    ) -> Result<(), IdentityError> {
        if last && mfa_required(user.role) {
            let event = AuditEvent::new(AuditAction::MfaRemoved, user.id.to_string(), Outcome::Denied)
                .with_detail(json!({ "reason": "last_factor_of_staff_account" }));
            self.store().audit(ctx, &event).await?;
            return Err(IdentityError::LastFactor);
        }
        Ok(())
    }

    pub(crate) async fn finish_factor_removal(
        &self,
        mut tx: palisade_store::Tx,
        session: &SessionState,
        user: &UserRecord,
        factor: &str,
        last: bool,
        ctx: &AuditContext,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        if last {
            self.store().delete_recovery_codes(&mut tx, &user.id).await?;
        }
        let ended = self
            .store()
            .revoke_other_sessions(&mut tx, &user.id, Some(&session.id))
            .await?;
        let event = AuditEvent::new(AuditAction::MfaRemoved, user.id.to_string(), Outcome::Success)
            .with_detail(json!({ "factor": factor, "last_factor": last, "other_sessions_ended": ended }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        self.after_factor_change(tx, session, user, ctx).await
    }

    /// Replaces all recovery codes with ten new ones (a step-up action).
    pub async fn regenerate_recovery_codes(
        &self,
        session: &SessionState,
        user: &UserRecord,
        ctx: &AuditContext,
    ) -> Result<Vec<Zeroizing<String>>, IdentityError> {
        require_recent_auth(Some(session))?;
        if !self.factors(&user.id).await?.any() {
            return Err(IdentityError::NotEnrolled);
        }
        let mut tx = self.store().begin().await?;
        let codes = self.issue_recovery_codes(&mut tx, &user.id).await?;
        let event = AuditEvent::new(
            AuditAction::RecoveryCodesIssued,
            user.id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({ "count": RECOVERY_CODE_COUNT, "replaced": true }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(codes)
    }
}

/// A completed enrolment: the session's new token, and recovery codes if these were
/// issued now (shown once).
pub struct Enrolled {
    pub token: RandomToken,
    pub session: SessionId,
    pub recovery_codes: Option<Vec<Zeroizing<String>>>,
}

fn mfa_throttle_key(user: &UserId) -> String {
    format!("mfa:{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_valid_only_near_its_own_time() {
        let secret = [7u8; 20];
        let totp = totp_for(&secret, "a@example.com").unwrap();
        let now = u64::try_from(UnixMillis::now().0 / 1000).unwrap();
        let code = totp.generate(now).to_string();
        assert_eq!(totp_step(&secret, &code), i64::try_from(now / 30).ok());
        let old = totp.generate(now - 300).to_string();
        if old != code {
            assert_eq!(totp_step(&secret, &old), None, "a code from five minutes ago");
        }
        assert_eq!(totp_step(&secret, "12345"), None);
        assert_eq!(totp_step(&secret, "abcdef"), None);
    }

    #[test]
    fn recovery_codes_compare_without_spacing_or_case() {
        assert_eq!(normalise_recovery_code("abcde-fgh2j"), "ABCDEFGH2J");
        assert_eq!(normalise_recovery_code(" ABCDE FGH2J "), "ABCDEFGH2J");
    }

    #[test]
    fn recovery_codes_alone_are_not_a_factor() {
        let only_codes = Factors {
            totp: false,
            passkeys: 0,
            recovery_codes_left: 10,
        };
        assert!(!only_codes.any());
        assert!(only_codes.methods().is_empty());
    }
}
