use crate::account_events::{self, AccountEvent};
use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{EmailAddress, Principal, Role, SecretString, SessionId, UnixMillis, UserId};
use palisade_crypto::RandomToken;
use palisade_store::{NewSession, SessionStage, Store, UserRecord};
use serde_json::json;

use crate::session_cache::CachedSession;
use crate::throttle::{Counter, source_key};
use crate::{IdentityError, PasswordHasherPool, ThrottlePolicy, needs_rehash, validate_new_password};

/// What a sign-in does when the account already has its maximum of live sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnSessionLimit {
    /// The oldest sessions end (audited); the new device wins.
    EndOldest,
    /// The new sign-in is refused until a session ends.
    RefuseNew,
}

/// Session lifetimes and concurrency, per kind of account.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    pub staff_idle_secs: i64,
    pub staff_absolute_secs: i64,
    pub customer_idle_secs: i64,
    pub customer_absolute_secs: i64,
    pub staff_max_sessions: usize,
    pub customer_max_sessions: usize,
    pub on_limit: OnSessionLimit,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            staff_idle_secs: 30 * 60,
            staff_absolute_secs: 10 * 3600,
            customer_idle_secs: 2 * 3600,
            customer_absolute_secs: 7 * 24 * 3600,
            staff_max_sessions: 1,
            customer_max_sessions: 5,
            on_limit: OnSessionLimit::EndOldest,
        }
    }
}

impl SessionLimits {
    pub fn max_sessions(&self, role: Role) -> usize {
        if role.is_staff() {
            self.staff_max_sessions.max(1)
        } else {
            self.customer_max_sessions.max(1)
        }
    }

    pub fn for_role(&self, role: Role) -> (i64, i64) {
        if role.is_staff() {
            (self.staff_idle_secs, self.staff_absolute_secs)
        } else {
            (self.customer_idle_secs, self.customer_absolute_secs)
        }
    }
}

/// A new session: the bearer token goes to the client once and is never stored.
pub struct SignedIn {
    pub token: RandomToken,
    pub session: SessionId,
    pub user: UserRecord,
    /// `Full`, or what the holder must do next (second factor, enrolment).
    pub stage: SessionStage,
}

/// The state of the session behind a request, for decisions such as step-up.
#[derive(Clone, Debug)]
pub struct SessionState {
    pub id: SessionId,
    pub stage: SessionStage,
    /// When the holder last proved who they are (sign-in or step-up).
    pub auth_at: UnixMillis,
}

/// A resolved credential: who, and through which session (none for API tokens).
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub principal: Principal,
    pub user: UserRecord,
    pub session: Option<SessionState>,
}

/// Staff roles must have a second factor; customers are offered one.
pub fn mfa_required(role: Role) -> bool {
    role.is_staff()
}

/// A session that still owes a second factor (or enrolment) lives this long at most.
const PENDING_IDLE_SECS: i64 = 10 * 60;
const PENDING_ABSOLUTE_SECS: i64 = 15 * 60;

/// The setup link lifetime: long enough to open an email, short enough to expire
/// before it leaks far.
pub const SETUP_LINK_SECS: i64 = 30 * 60;

/// Do not write `last_seen` more often than this per session.
const TOUCH_INTERVAL_MS: i64 = 60_000;

#[derive(Clone)]
pub struct Identity {
    store: Store,
    hasher: PasswordHasherPool,
    limits: SessionLimits,
    throttle: ThrottlePolicy,
    pub(crate) relying_party: Option<crate::RelyingParty>,
    pub(crate) oidc: crate::OidcProviders,
    pub(crate) token_rate: crate::TokenRateLimits,
    /// Where emailed links point (`https://host[:port]`).
    pub(crate) public_origin: Option<String>,
    /// Shared by every clone of this service on the node.
    sessions: std::sync::Arc<crate::session_cache::SessionCache>,
    /// Sources the database has blocked, refused here without a write (shared too).
    remembered: std::sync::Arc<crate::remembered_blocks::RememberedBlocks>,
    /// The password-reset work this node takes on (shared too).
    resets: std::sync::Arc<crate::reset_admission::ResetAdmission>,
}

impl Identity {
    pub fn new(store: Store, hasher: PasswordHasherPool, limits: SessionLimits) -> Self {
        Self {
            store,
            hasher,
            limits,
            throttle: ThrottlePolicy::default(),
            relying_party: None,
            oidc: crate::OidcProviders::default(),
            token_rate: crate::TokenRateLimits::default(),
            public_origin: None,
            sessions: std::sync::Arc::new(crate::session_cache::SessionCache::new(
                crate::session_cache::SESSION_CACHE_CAPACITY,
            )),
            remembered: std::sync::Arc::default(),
            resets: std::sync::Arc::default(),
        }
    }

    pub(crate) fn reset_admission(&self) -> &crate::reset_admission::ResetAdmission {
        &self.resets
    }

    /// Replaces the bounds on this node's password-reset work (see
    /// `reset_admission`): starts per second, their burst, and how many run at once.
    pub fn with_reset_bounds(mut self, per_second: u32, burst: u32, in_flight: usize) -> Self {
        self.resets = std::sync::Arc::new(crate::reset_admission::ResetAdmission::new(
            per_second, burst, in_flight,
        ));
        self
    }

    pub(crate) fn remembered_blocks(&self) -> &crate::remembered_blocks::RememberedBlocks {
        &self.remembered
    }

    /// The origin emailed links (reset, invitation) point to.
    pub fn with_public_origin(mut self, origin: &str) -> Self {
        self.public_origin = Some(origin.trim_end_matches('/').to_owned());
        self
    }

    /// Replaces the default per-token request rate of API tokens.
    pub fn with_token_rate_limits(mut self, limits: crate::TokenRateLimits) -> Self {
        self.token_rate = limits;
        self
    }

    /// Enables single sign-on with the given OpenID providers.
    pub fn with_oidc(mut self, providers: crate::OidcProviders) -> Self {
        self.oidc = providers;
        self
    }

    /// Enables passkeys for the given relying party (the public origin).
    pub fn with_relying_party(mut self, relying_party: crate::RelyingParty) -> Self {
        self.relying_party = Some(relying_party);
        self
    }

    /// Replaces the default sign-in throttling thresholds.
    pub fn with_throttle(mut self, throttle: ThrottlePolicy) -> Self {
        self.throttle = throttle;
        self
    }

    pub(crate) fn throttle_policy(&self) -> ThrottlePolicy {
        self.throttle
    }

    pub fn hasher(&self) -> &PasswordHasherPool {
        &self.hasher
    }

    /// Checks the password and opens a session. Every failure is the same error after
    /// the same work (an argon2 verification), and is audited with the real reason.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        ctx: &AuditContext,
    ) -> Result<SignedIn, IdentityError> {
        // Both attempts are reserved before the password is looked at, so a burst of
        // concurrent guesses gets no more evaluations than the limits allow.
        let ip_key = source_key("ip", ctx);
        // A source the database already blocked is refused without a write (counted,
        // and audited with the others later).
        if let Some(retry_after_secs) = self.remembered.refuse(&ip_key, UnixMillis::now()) {
            return Err(IdentityError::Throttled { retry_after_secs });
        }
        if let Err(throttled) = self.reserve_attempt(&ip_key, Counter::Source).await {
            let event = AuditEvent::new(AuditAction::SignIn, "account", Outcome::Denied)
                .with_detail(json!({ "reason": "source_throttled" }));
            self.store.audit(ctx, &event).await?;
            return Err(throttled);
        }
        let parsed = EmailAddress::parse(email).ok();
        // Unknown and malformed addresses get counters too, so lockouts reveal nothing
        // about which accounts exist.
        let account_key = match &parsed {
            Some(e) => format!("account:{}", self.store.email_index(e)),
            None => format!(
                "account:{}",
                self.store
                    .keys()
                    .blind_index()
                    .compute("sign-in.raw", &email.chars().take(254).collect::<String>())
            ),
        };
        let account_attempt = match self.reserve_attempt(&account_key, Counter::Account).await {
            Ok(failures) => Some(failures),
            Err(IdentityError::Throttled { .. }) => None,
            Err(other) => return Err(other),
        };
        let locked = account_attempt.is_none();
        let user = match &parsed {
            Some(e) => self.store.find_user_by_email(e).await?,
            None => None,
        };
        let stored = match &user {
            Some(u) => self.store.password_hash(&u.id).await?,
            None => None,
        };
        // Verified even when locked, so a locked account costs the same time as any other.
        let matched = self.hasher.verify(password, stored.as_ref()).await?;
        let failure = match &user {
            _ if locked => Some("account_locked"),
            None => Some("unknown_account"),
            Some(_) if stored.is_none() => Some("no_password_set"),
            Some(_) if !matched => Some("wrong_password"),
            Some(u) if u.disabled => Some("account_disabled"),
            Some(_) => None,
        };
        let owner = user.as_ref().map(|u| u.id.clone());
        let (Some(user), None) = (user, failure) else {
            let reason = failure.unwrap_or("unknown");
            let mut tx_events = vec![
                AuditEvent::new(AuditAction::SignIn, "account", Outcome::Failure)
                    .with_detail(json!({ "reason": reason })),
            ];
            // This attempt's reservation is what locks the account, if anything does.
            let lock_ms = account_attempt.map_or(0, |n| self.next_block_ms(Counter::Account, n));
            if lock_ms > 0 {
                tx_events.push(
                    AuditEvent::new(AuditAction::AccountLocked, "account", Outcome::Denied).with_detail(
                        json!({
                            "failures": account_attempt,
                            "locked_for_secs": lock_ms / 1000,
                        }),
                    ),
                );
            }
            let locked_now = tx_events.len() > 1;
            let mut tx = self.store.begin().await?;
            for event in &tx_events {
                self.store.append_audit(&mut tx, ctx, event).await?;
            }
            if locked_now && let Some(owner) = &owner {
                account_events::record(
                    &self.store,
                    &mut tx,
                    AccountEvent::SignInPaused,
                    owner,
                    &ctx.actor,
                    json!({ "locked_for_secs": lock_ms / 1000 }),
                )
                .await?;
            }
            tx.commit().await?;
            return Err(IdentityError::InvalidCredentials);
        };
        self.store.clear_throttle(&account_key).await?;
        self.release_attempt(&ip_key, Counter::Source).await?;
        if stored.as_ref().is_some_and(|h| needs_rehash(h.expose())) {
            let upgraded = self.hasher.hash(password).await?;
            let mut tx = self.store.begin().await?;
            self.store.set_password_hash(&mut tx, &user.id, &upgraded).await?;
            let event = AuditEvent::new(
                AuditAction::PasswordRehashed,
                user.id.to_string(),
                Outcome::Success,
            );
            self.store.append_audit(&mut tx, ctx, &event).await?;
            tx.commit().await?;
        }
        self.after_first_factor(user, "password", json!(null), ctx).await
    }

    /// What follows a verified first factor (password, or an SSO provider's word): the
    /// second-factor step for accounts that have a factor, enrolment for staff without
    /// one, else a full session. `via` names the first factor in the audit trail.
    pub(crate) async fn after_first_factor(
        &self,
        user: UserRecord,
        via: &str,
        via_detail: serde_json::Value,
        ctx: &AuditContext,
    ) -> Result<SignedIn, IdentityError> {
        let factors = self.factors(&user.id).await?;
        if factors.any() {
            return self
                .open_pending(
                    user,
                    SessionStage::SecondFactor,
                    ctx,
                    json!({ "methods": factors.methods(), "via": via, "via_detail": via_detail }),
                )
                .await;
        }
        if mfa_required(user.role) {
            return self
                .open_pending(
                    user,
                    SessionStage::Enrol,
                    ctx,
                    json!({ "reason": "enrolment_required", "via": via, "via_detail": via_detail }),
                )
                .await;
        }
        self.open_full(
            user,
            None,
            ctx,
            json!({ "factors": [via], "via_detail": via_detail }),
        )
        .await
    }

    /// A session that can only finish signing in: short-lived, not counted against the
    /// concurrent-session limit, never able to read or change data.
    pub(crate) async fn open_pending(
        &self,
        user: UserRecord,
        stage: SessionStage,
        ctx: &AuditContext,
        detail: serde_json::Value,
    ) -> Result<SignedIn, IdentityError> {
        let token = RandomToken::generate()?;
        let mut tx = self.store.begin().await?;
        let session = self
            .store
            .create_session(
                &mut tx,
                &NewSession {
                    user: user.id.clone(),
                    stage,
                    auth_at: UnixMillis(0),
                    token_hash: token.hash(),
                    idle_timeout_secs: PENDING_IDLE_SECS,
                    absolute_timeout_secs: PENDING_ABSOLUTE_SECS,
                    ip: ctx.ip.clone(),
                    user_agent: ctx.user_agent.chars().take(256).collect(),
                },
            )
            .await?;
        let ctx = AuditContext {
            actor: user.id.to_string(),
            session: session.to_string(),
            ..ctx.clone()
        };
        let event = AuditEvent::new(AuditAction::MfaChallenge, user.id.to_string(), Outcome::Success)
            .with_detail(json!({ "stage": stage.as_str(), "detail": detail }));
        self.store.append_audit(&mut tx, &ctx, &event).await?;
        tx.commit().await?;
        Ok(SignedIn {
            token,
            session,
            user,
            stage,
        })
    }

    /// Opens a full session, applying the concurrent-session policy. `replacing` is the
    /// pending session that finished signing in: it ends in the same transaction, so
    /// its token never becomes a full one (fixation).
    pub(crate) async fn open_full(
        &self,
        user: UserRecord,
        replacing: Option<&SessionId>,
        ctx: &AuditContext,
        detail: serde_json::Value,
    ) -> Result<SignedIn, IdentityError> {
        let live: Vec<_> = self
            .store
            .live_sessions(&user.id)
            .await?
            .into_iter()
            .filter(|s| s.stage == SessionStage::Full && Some(&s.id) != replacing)
            .collect();
        let max = self.limits.max_sessions(user.role);
        if live.len() >= max && self.limits.on_limit == OnSessionLimit::RefuseNew {
            let event = AuditEvent::new(AuditAction::SignIn, user.id.to_string(), Outcome::Denied)
                .with_detail(json!({ "reason": "session_limit", "live_sessions": live.len() }));
            self.store.audit(ctx, &event).await?;
            return Err(IdentityError::SessionLimit);
        }
        let token = RandomToken::generate()?;
        let (idle, absolute) = self.limits.for_role(user.role);
        let mut tx = self.store.begin().await?;
        if let Some(old) = replacing {
            match self.store.take_session(&mut tx, old).await? {
                Some(s) if s.user == user.id => {}
                _ => return Err(IdentityError::SessionEnded),
            }
        }
        // Newest first: keep `max - 1` of them, so with the new one there are `max`.
        for old in live.iter().skip(max - 1) {
            if self.store.revoke_user_session(&mut tx, &user.id, &old.id).await? {
                let event = AuditEvent::new(AuditAction::SessionEnded, old.id.to_string(), Outcome::Success)
                    // Only the old session's network: the chain covers the detail, so
                    // retention could never shorten a full address written here.
                    .with_detail(json!({
                        "reason": "replaced_by_new_sign_in",
                        "network": palisade_core::truncate_ip(&old.ip),
                    }));
                self.store.append_audit(&mut tx, ctx, &event).await?;
                account_events::record(
                    &self.store,
                    &mut tx,
                    AccountEvent::SignedInElsewhere,
                    &user.id,
                    &ctx.actor,
                    json!({ "ip": ctx.ip, "previous_ip": old.ip }),
                )
                .await?;
            }
        }
        let now = UnixMillis::now();
        let session = self
            .store
            .create_session(
                &mut tx,
                &NewSession {
                    user: user.id.clone(),
                    stage: SessionStage::Full,
                    auth_at: now,
                    token_hash: token.hash(),
                    idle_timeout_secs: idle,
                    absolute_timeout_secs: absolute,
                    ip: ctx.ip.clone(),
                    user_agent: ctx.user_agent.chars().take(256).collect(),
                },
            )
            .await?;
        let ctx = AuditContext {
            actor: user.id.to_string(),
            session: session.to_string(),
            ..ctx.clone()
        };
        self.store
            .append_audit(
                &mut tx,
                &ctx,
                &AuditEvent::new(AuditAction::SignIn, user.id.to_string(), Outcome::Success)
                    .with_detail(detail),
            )
            .await?;
        tx.commit().await?;
        Ok(SignedIn {
            token,
            session,
            user,
            stage: SessionStage::Full,
        })
    }

    /// Swaps a full session's token for a new one (after step-up or a change of
    /// privilege), optionally marking the holder as just re-authenticated.
    pub(crate) async fn rotate_session(
        &self,
        tx: &mut palisade_store::Tx,
        user: &UserRecord,
        old: &SessionId,
        reauthenticated: bool,
    ) -> Result<(RandomToken, SessionId), IdentityError> {
        let Some(previous) = self.store.take_session(tx, old).await? else {
            return Err(IdentityError::SessionEnded);
        };
        if previous.user != user.id {
            return Err(IdentityError::SessionEnded);
        }
        let (idle, absolute) = self.limits.for_role(user.role);
        let now = UnixMillis::now();
        let token = RandomToken::generate()?;
        let session = self
            .store
            .create_session(
                tx,
                &NewSession {
                    user: user.id.clone(),
                    stage: SessionStage::Full,
                    auth_at: if reauthenticated { now } else { previous.auth_at },
                    token_hash: token.hash(),
                    idle_timeout_secs: idle,
                    // Rotation never extends the absolute lifetime of the sign-in.
                    absolute_timeout_secs: ((previous.expires_at.0 - now.0) / 1000).clamp(60, absolute),
                    ip: previous.ip,
                    user_agent: previous.user_agent,
                },
            )
            .await?;
        Ok((token, session))
    }

    /// Resolves a presented bearer token to a principal, or `None` for anything that is
    /// not a live session of an enabled account.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<Authenticated>, IdentityError> {
        self.authenticate_with(presented, false).await
    }

    /// As [`Identity::authenticate`]; a `background` request (polling, prefetch) is
    /// served but does not extend the session's idle deadline.
    pub async fn authenticate_with(
        &self,
        presented: &str,
        background: bool,
    ) -> Result<Option<Authenticated>, IdentityError> {
        let Some(token) = RandomToken::from_presented(presented) else {
            return Ok(None);
        };
        let token_hash = token.hash();
        // Read before the session is loaded, so an entry can only be stamped with a
        // number older than the state it holds (never newer): a change in between
        // makes it stale at once.
        let generation = self.store.identity_generation().await?;
        let now = UnixMillis::now();
        let CachedSession { live, teams } = match self.sessions.get(&token_hash, generation, now) {
            Some(hit) => hit,
            None => {
                let Some(live) = self.store.live_session_user(&token_hash).await? else {
                    return Ok(None);
                };
                let teams = self.store.user_teams(&live.user.id).await?;
                let loaded = CachedSession { live, teams };
                if loaded.live.stage == SessionStage::Full {
                    self.sessions
                        .insert(token_hash.clone(), generation, loaded.clone());
                }
                loaded
            }
        };
        let (session_id, last_seen, user) = (live.id, live.last_seen, live.user);
        if !background && live.stage == SessionStage::Full && now.0 - last_seen.0 > TOUCH_INTERVAL_MS {
            let (idle, _) = self.limits.for_role(user.role);
            self.store.touch_session(&session_id, now, idle).await?;
            self.sessions.touched(&token_hash, now, now.plus_secs(idle));
        }
        let principal = Principal {
            user_id: user.id.clone(),
            role: user.role,
            teams,
            company: user.company.clone(),
            session: Some(session_id.clone()),
            scopes: None,
        };
        Ok(Some(Authenticated {
            principal,
            user,
            session: Some(SessionState {
                id: session_id,
                stage: live.stage,
                auth_at: live.auth_at,
            }),
        }))
    }

    /// The customer the organisation's own site vouched for (a verified site token
    /// naming their address on file), as a principal without a session: it acts only
    /// inside the assistant conversation the token started. `None` when no active
    /// customer account has that address — staff are never reached this way.
    pub async fn site_verified_customer(&self, email: &str) -> Result<Option<Authenticated>, IdentityError> {
        let Ok(address) = palisade_core::EmailAddress::parse(email) else {
            return Ok(None);
        };
        let Some(user) = self.store.find_user_by_email(&address).await? else {
            return Ok(None);
        };
        self.site_verified_account(&user.id).await
    }

    /// As [`Identity::site_verified_customer`], for the account a conversation was
    /// started for; `None` once it is disabled or no longer a customer.
    pub async fn site_verified_account(&self, id: &UserId) -> Result<Option<Authenticated>, IdentityError> {
        let user = match self.store.get_user(id).await {
            Ok(user) => user,
            Err(palisade_store::StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if user.disabled || user.role != Role::Customer {
            return Ok(None);
        }
        let principal = Principal {
            user_id: user.id.clone(),
            role: user.role,
            teams: Vec::new(),
            company: user.company.clone(),
            session: None,
            scopes: None,
        };
        Ok(Some(Authenticated {
            principal,
            user,
            session: None,
        }))
    }

    pub async fn sign_out(&self, session: &SessionId, ctx: &AuditContext) -> Result<(), IdentityError> {
        let mut tx = self.store.begin().await?;
        self.store.revoke_session(&mut tx, session).await?;
        self.store
            .append_audit(
                &mut tx,
                ctx,
                &AuditEvent::new(AuditAction::SignOut, session.to_string(), Outcome::Success),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Issues a single-use link token for `user` to choose a password.
    pub async fn issue_setup_link(
        &self,
        user: &UserId,
        ctx: &AuditContext,
    ) -> Result<RandomToken, IdentityError> {
        let token = RandomToken::generate()?;
        let mut tx = self.store.begin().await?;
        self.store
            .create_setup_token(&mut tx, user, &token.hash(), "setup", SETUP_LINK_SECS)
            .await?;
        self.store
            .append_audit(
                &mut tx,
                ctx,
                &AuditEvent::new(AuditAction::SetupLinkIssued, user.to_string(), Outcome::Success),
            )
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn setup_link_valid(&self, presented: &str) -> Result<bool, IdentityError> {
        let Some(token) = RandomToken::from_presented(presented) else {
            return Ok(false);
        };
        Ok(self.store.setup_token_valid(&token.hash()).await?)
    }

    /// Redeems a setup link: sets the password, ends any existing sessions of the
    /// account. The link works once; a second use fails as an invalid link.
    pub async fn complete_setup(
        &self,
        presented: &str,
        password: &SecretString,
        ctx: &AuditContext,
    ) -> Result<UserId, IdentityError> {
        let token = RandomToken::from_presented(presented).ok_or(IdentityError::InvalidLink)?;
        if let Some(user) = self.store.setup_token_user(&token.hash()).await? {
            let account = self.store.get_user(&user).await?;
            validate_new_password(password.expose(), &[&account.name, account.email.as_str()])?;
        } else {
            validate_new_password(password.expose(), &[])?;
        }
        let hash = self.hasher.hash(password).await?;
        let mut tx = self.store.begin().await?;
        let Some((user, purpose)) = self.store.redeem_setup_token(&mut tx, &token.hash()).await? else {
            drop(tx);
            let event = AuditEvent::new(AuditAction::SetupCompleted, "setup-link", Outcome::Failure)
                .with_detail(json!({ "reason": "invalid_or_used_link" }));
            self.store.audit(ctx, &event).await?;
            return Err(IdentityError::InvalidLink);
        };
        self.store.set_password_hash(&mut tx, &user, &hash).await?;
        // A new password ends every session: whoever else was signed in is out.
        let sessions_ended = self.store.revoke_user_sessions(&mut tx, &user).await?;
        let ctx = AuditContext {
            actor: user.to_string(),
            ..ctx.clone()
        };
        let event = AuditEvent::new(AuditAction::SetupCompleted, user.to_string(), Outcome::Success)
            .with_detail(json!({ "purpose": purpose, "sessions_ended": sessions_ended }));
        self.store.append_audit(&mut tx, &ctx, &event).await?;
        let mut lockout_to_clear = None;
        if purpose == "reset" {
            let account = self.store.get_user(&user).await?;
            lockout_to_clear = Some(format!("account:{}", self.store.email_index(&account.email)));
            account_events::record(
                &self.store,
                &mut tx,
                AccountEvent::PasswordReset,
                &account.id,
                &ctx.actor,
                json!({ "sessions_ended": sessions_ended }),
            )
            .await?;
        }
        tx.commit().await?;
        // The owner proved control of the mailbox: a lockout from guessing ends. After
        // the commit, because SQLite has one writer and the transaction holds it.
        if let Some(key) = lockout_to_clear {
            self.store.clear_throttle(&key).await?;
        }
        Ok(user)
    }
}

impl Identity {
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Ends one of the account's own sessions; false if it is not theirs.
    pub async fn end_own_session(
        &self,
        user: &UserId,
        session: &SessionId,
        ctx: &AuditContext,
    ) -> Result<bool, IdentityError> {
        let mut tx = self.store.begin().await?;
        let ended = self.store.revoke_user_session(&mut tx, user, session).await?;
        if ended {
            let event = AuditEvent::new(AuditAction::SessionEnded, session.to_string(), Outcome::Success)
                .with_detail(json!({ "reason": "ended_by_user" }));
            self.store.append_audit(&mut tx, ctx, &event).await?;
            tx.commit().await?;
        }
        Ok(ended)
    }

    /// Ends every session of `user` except `keep`; returns how many ended.
    pub async fn end_sessions(
        &self,
        user: &UserId,
        keep: Option<&SessionId>,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<usize, IdentityError> {
        let live = self.store.live_sessions(user).await?;
        let mut tx = self.store.begin().await?;
        let mut ended = 0;
        for s in live.iter().filter(|s| Some(&s.id) != keep) {
            if self.store.revoke_user_session(&mut tx, user, &s.id).await? {
                ended += 1;
                let event = AuditEvent::new(AuditAction::SessionEnded, s.id.to_string(), Outcome::Success)
                    .with_detail(json!({ "reason": reason, "user": user.to_string() }));
                self.store.append_audit(&mut tx, ctx, &event).await?;
            }
        }
        tx.commit().await?;
        Ok(ended)
    }

    /// Disables an account and ends all its sessions, in one transaction.
    pub async fn disable_account(&self, user: &UserId, ctx: &AuditContext) -> Result<(), IdentityError> {
        let mut tx = self.store.begin().await?;
        self.store.set_user_disabled(&mut tx, user, true).await?;
        let ended = self.store.revoke_user_sessions(&mut tx, user).await?;
        let tokens = self.store.revoke_user_api_tokens(&mut tx, user).await?;
        let event = AuditEvent::new(AuditAction::AccountDisabled, user.to_string(), Outcome::Success)
            .with_detail(json!({ "sessions_ended": ended, "api_tokens_revoked": tokens }));
        self.store.append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}
