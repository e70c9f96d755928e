//! Single sign-on with OpenID Connect: authorisation-code flow with PKCE, `state` bound
//! to the browser that started it, `nonce`, and ID tokens checked for issuer, audience,
//! expiry and signature with an algorithm allowlist (never `none`, never a shared
//! secret). A provider never grants a role: it identifies an account that exists (by
//! a stored link, or by a verified email when the operator allows it), or creates one
//! with the role the operator configured. Staff still owe a local second factor unless
//! the operator chose to trust the provider's own MFA claims.

mod provider;

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::EmailAddress;
use palisade_crypto::RandomToken;
use palisade_store::{NewUser, UserRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

pub use provider::{OidcProviders, OidcSettings};

use crate::throttle::{Counter, source_key};
use crate::{Identity, IdentityError, SignedIn};

/// How long a started sign-in may take at the provider.
const FLOW_TTL_SECS: i64 = 10 * 60;

/// What the browser is sent to the provider with, and the secret that binds the
/// answer to this browser (kept in a cookie; only its hash is stored).
pub struct OidcStart {
    pub authorize_url: String,
    pub browser_secret: RandomToken,
}

/// The provider's answer, as the redirect back delivered it.
#[derive(Debug, Default, Deserialize)]
pub struct OidcCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: which issuer sent this answer (defends against mix-up).
    pub iss: Option<String>,
    pub error: Option<String>,
}

/// The secrets of a flow in progress, sealed in the store.
#[derive(Serialize, Deserialize)]
struct FlowSecrets {
    pkce_verifier: String,
    nonce: String,
}

impl Drop for FlowSecrets {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.pkce_verifier.zeroize();
        self.nonce.zeroize();
    }
}

/// The identity a provider vouched for, after every check passed.
pub(crate) struct VerifiedIdentity {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    provider_mfa: bool,
}

impl Identity {
    /// Configured providers, for the sign-in page: `(name, display name)`.
    pub fn oidc_providers(&self) -> Vec<(String, String)> {
        self.oidc.list()
    }

    /// Starts a sign-in at `provider`: returns where to send the browser and the secret
    /// to hand it in a cookie.
    pub async fn oidc_begin(&self, provider: &str) -> Result<OidcStart, IdentityError> {
        let provider = self.oidc.get(provider).ok_or(IdentityError::UnknownProvider)?;
        let authorize = provider.authorize().await?;
        let state = RandomToken::from_presented(authorize.state.secret())
            .ok_or_else(|| IdentityError::Provider("state token has an unexpected shape".into()))?;
        let browser_secret = RandomToken::generate()?;
        let secrets = FlowSecrets {
            pkce_verifier: authorize.pkce_verifier.secret().clone(),
            nonce: authorize.nonce.secret().clone(),
        };
        let sealed =
            Zeroizing::new(serde_json::to_vec(&secrets).map_err(|e| IdentityError::Provider(e.to_string()))?);
        self.store()
            .put_oidc_flow(
                &state.hash().0,
                provider.name(),
                &browser_secret.hash().0,
                &sealed,
                FLOW_TTL_SECS,
            )
            .await?;
        Ok(OidcStart {
            authorize_url: authorize.url,
            browser_secret,
        })
    }

    /// Finishes a sign-in: every check of the answer and the ID token, then the account
    /// it maps to, then the same session rules as a password sign-in. Each failure is
    /// audited with its reason and answered with one uniform error.
    pub async fn oidc_finish(
        &self,
        provider_name: &str,
        callback: &OidcCallback,
        browser_secret: Option<&str>,
        ctx: &AuditContext,
    ) -> Result<SignedIn, IdentityError> {
        let provider = self
            .oidc
            .get(provider_name)
            .ok_or(IdentityError::UnknownProvider)?;
        let ip_key = source_key("ip", ctx);
        if let Err(throttled) = self.reserve_attempt(&ip_key, Counter::Source).await {
            self.sso_failed(provider_name, "source_throttled", None, ctx)
                .await?;
            return Err(throttled);
        }
        match self.oidc_verify(&provider, callback, browser_secret).await {
            Ok(verified) => {
                self.release_attempt(&ip_key, Counter::Source).await?;
                self.oidc_sign_in(&provider, verified, ctx).await
            }
            Err(Failure { reason, detail }) => {
                self.sso_failed(provider_name, reason, detail, ctx).await?;
                Err(IdentityError::SsoFailed)
            }
        }
    }

    async fn sso_failed(
        &self,
        provider: &str,
        reason: &str,
        detail: Option<String>,
        ctx: &AuditContext,
    ) -> Result<(), IdentityError> {
        let event = AuditEvent::new(AuditAction::SignIn, "account", Outcome::Failure).with_detail(json!({
            "method": "oidc",
            "provider": provider,
            "reason": reason,
            "detail": detail,
        }));
        self.store().audit(ctx, &event).await?;
        Ok(())
    }

    async fn oidc_verify(
        &self,
        provider: &provider::OidcProvider,
        callback: &OidcCallback,
        browser_secret: Option<&str>,
    ) -> Result<VerifiedIdentity, Failure> {
        let state = callback
            .state
            .as_deref()
            .and_then(RandomToken::from_presented)
            .ok_or(Failure::new("missing_state"))?;
        // Taken (deleted) before anything else is checked: an answer is looked at once.
        let flow = self
            .store()
            .take_oidc_flow(&state.hash().0)
            .await
            .map_err(|e| Failure::with("store_error", e))?
            .ok_or(Failure::new("unknown_expired_or_used_state"))?;
        if flow.provider != provider.name() {
            return Err(Failure::with("provider_mismatch", &flow.provider));
        }
        let browser_ok = browser_secret
            .and_then(RandomToken::from_presented)
            .is_some_and(|b| {
                b.hash()
                    .ct_eq(&palisade_crypto::TokenHash(flow.browser_hash.clone()))
            });
        if !browser_ok {
            return Err(Failure::new("browser_mismatch"));
        }
        let secrets: FlowSecrets =
            serde_json::from_slice(&flow.secrets).map_err(|e| Failure::with("flow_unreadable", e))?;
        if let Some(error) = &callback.error {
            return Err(Failure::with(
                "provider_refused",
                error.chars().take(100).collect::<String>(),
            ));
        }
        let code = callback.code.as_deref().ok_or(Failure::new("missing_code"))?;
        let claims = provider
            .exchange(
                code,
                callback.iss.as_deref(),
                &secrets.pkce_verifier,
                &secrets.nonce,
            )
            .await?;
        Ok(claims)
    }

    async fn oidc_sign_in(
        &self,
        provider: &provider::OidcProvider,
        verified: VerifiedIdentity,
        ctx: &AuditContext,
    ) -> Result<SignedIn, IdentityError> {
        let settings = provider.settings();
        let subject_indexes = self.store().keys().blind_indexes(
            "oidc.subject",
            &format!("{}\n{}", settings.issuer, verified.subject),
        );
        // A link made under a root a rotation retired moves to the current one on use
        // (the provider's subject is not stored, so only now can it be recomputed).
        self.store().rekey_oidc_link(&subject_indexes).await?;
        let subject_index = subject_indexes.into_iter().next().unwrap_or_default();
        let user = match self
            .oidc_account(provider, &verified, &subject_index, ctx)
            .await?
        {
            Some(user) => user,
            None => {
                self.sso_failed(provider.name(), "no_matching_account", None, ctx)
                    .await?;
                return Err(IdentityError::SsoFailed);
            }
        };
        if user.disabled {
            self.sso_failed(provider.name(), "account_disabled", None, ctx)
                .await?;
            return Err(IdentityError::SsoFailed);
        }
        let mut tx = self.store().begin().await?;
        self.store().touch_oidc_link(&mut tx, &subject_index).await?;
        tx.commit().await?;
        let method =
            json!({ "method": "oidc", "provider": provider.name(), "provider_mfa": verified.provider_mfa });
        if settings.trust_provider_mfa && verified.provider_mfa {
            return self
                .open_full(
                    user,
                    None,
                    ctx,
                    json!({ "factors": ["oidc", "provider_mfa"], "via_detail": method }),
                )
                .await;
        }
        self.after_first_factor(user, "oidc", method, ctx).await
    }

    /// The local account for a verified identity: an existing link, else (when allowed)
    /// the account with the same verified email, else (when allowed) a new account.
    async fn oidc_account(
        &self,
        provider: &provider::OidcProvider,
        verified: &VerifiedIdentity,
        subject_index: &str,
        ctx: &AuditContext,
    ) -> Result<Option<UserRecord>, IdentityError> {
        if let Some(user) = self.store().oidc_linked_user(subject_index).await? {
            return Ok(Some(self.store().get_user(&user).await?));
        }
        let settings = provider.settings();
        // An unverified email at the provider proves nothing about the mailbox.
        let Some(email) = verified
            .email
            .as_deref()
            .filter(|_| verified.email_verified)
            .and_then(|e| EmailAddress::parse(e).ok())
        else {
            return Ok(None);
        };
        let existing = self.store().find_user_by_email(&email).await?;
        let mut tx = self.store().begin().await?;
        let (user, linked_how) = match existing {
            Some(user) if settings.link_by_email => (user.id, "verified_email"),
            Some(_) => return Ok(None),
            None if settings.may_create(&email) => {
                let name = verified
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| email.as_str().to_owned());
                let id = self
                    .store()
                    .create_user(
                        &mut tx,
                        &NewUser {
                            role: settings.new_account_role,
                            email: email.clone(),
                            name: name.chars().take(200).collect(),
                            phone: None,
                            company: None,
                            password_hash: None,
                        },
                    )
                    .await?;
                let event = AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success)
                    .with_detail(json!({
                        "source": "oidc",
                        "provider": provider.name(),
                        "role": settings.new_account_role.as_str(),
                    }));
                self.store().append_audit(&mut tx, ctx, &event).await?;
                (id, "created")
            }
            None => return Ok(None),
        };
        self.store()
            .link_oidc_subject(&mut tx, subject_index, provider.name(), &user)
            .await?;
        let event = AuditEvent::new(AuditAction::SsoLinked, user.to_string(), Outcome::Success)
            .with_detail(json!({ "provider": provider.name(), "how": linked_how }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(Some(self.store().get_user(&user).await?))
    }
}

/// Why an answer was refused: a fixed reason for the audit trail, plus detail.
pub(crate) struct Failure {
    reason: &'static str,
    detail: Option<String>,
}

impl Failure {
    pub(crate) fn new(reason: &'static str) -> Self {
        Self { reason, detail: None }
    }

    pub(crate) fn with(reason: &'static str, detail: impl std::fmt::Display) -> Self {
        Self {
            reason,
            detail: Some(detail.to_string().chars().take(300).collect()),
        }
    }
}
