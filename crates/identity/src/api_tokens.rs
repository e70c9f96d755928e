//! Personal API tokens for integrations: shown once, stored as a hash, scoped, expiring,
//! revocable. A token acts as its owner narrowed to its scopes (the narrowing happens in
//! `PolicyEngine::authorize`), so it never has more rights than the owner.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{Principal, Scope, UnixMillis, UserId};
use palisade_crypto::RandomToken;
use palisade_store::{ApiTokenRecord, NewApiToken, UserRecord};
use serde_json::json;
use zeroize::Zeroizing;

use crate::{Identity, IdentityError, SessionState, require_recent_auth};

/// Tokens carry a recognisable prefix so secret scanners and the server can tell them
/// from session tokens.
pub const API_TOKEN_PREFIX: &str = "pal_";
pub const DEFAULT_TOKEN_DAYS: i64 = 90;
pub const MAX_TOKEN_DAYS: i64 = 365;
const USE_RECORD_INTERVAL_MS: i64 = 60_000;

/// A freshly created token; `secret` is shown to its owner once and never again.
pub struct CreatedToken {
    pub id: String,
    pub secret: Zeroizing<String>,
    pub expires_at: UnixMillis,
}

impl Identity {
    /// Creates a token for `owner`. The session must have re-authenticated recently
    /// (step-up), so a stolen session cookie alone cannot mint a long-lived credential;
    /// an API token (no session) can never mint another.
    pub async fn create_api_token(
        &self,
        owner: &UserRecord,
        session: Option<&SessionState>,
        name: &str,
        scopes: &[Scope],
        days: Option<i64>,
        ctx: &AuditContext,
    ) -> Result<CreatedToken, IdentityError> {
        if let Err(e) = require_recent_auth(session) {
            let event = AuditEvent::new(
                AuditAction::ApiTokenCreated,
                owner.id.to_string(),
                Outcome::Denied,
            )
            .with_detail(json!({ "reason": "step_up_required" }));
            self.store().audit(ctx, &event).await?;
            return Err(e);
        }
        let days = days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(IdentityError::InvalidRequest(
                palisade_i18n::Refusal::new("refusal-token-expiry").with("max", MAX_TOKEN_DAYS),
            ));
        }
        if scopes.is_empty() {
            return Err(IdentityError::invalid_request("refusal-token-scope"));
        }
        let token = RandomToken::generate()?;
        let id = format!("tok_{}", &token.hash().0[..22]);
        let expires_at = UnixMillis::now().plus_secs(days * 86_400);
        let mut scope_names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        scope_names.sort();
        scope_names.dedup();
        let new = NewApiToken {
            user: owner.id.clone(),
            name: name.to_owned(),
            token_hash: token.hash(),
            scopes: scope_names.clone(),
            expires_at,
        };
        let mut tx = self.store().begin().await?;
        self.store().create_api_token(&mut tx, &id, &new).await?;
        let event = AuditEvent::new(AuditAction::ApiTokenCreated, id.clone(), Outcome::Success)
            .with_detail(json!({ "scopes": scope_names, "days": days }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(CreatedToken {
            id,
            secret: Zeroizing::new(format!("{API_TOKEN_PREFIX}{}", token.expose())),
            expires_at,
        })
    }

    /// Resolves a presented `pal_…` token to its owner's principal narrowed to the
    /// token's scopes; `None` for anything unknown, expired, revoked or disabled.
    pub async fn authenticate_api_token(
        &self,
        presented: &str,
        ip: &str,
    ) -> Result<Option<crate::Authenticated>, IdentityError> {
        let Some(raw) = presented.strip_prefix(API_TOKEN_PREFIX) else {
            return Ok(None);
        };
        let Some(token) = RandomToken::from_presented(raw) else {
            return Ok(None);
        };
        let Some(record) = self.store().find_live_api_token(&token.hash()).await? else {
            return Ok(None);
        };
        let user = self.store().get_user(&record.user).await?;
        if user.disabled {
            return Ok(None);
        }
        if let Err(refused) = self.token_rate.check(&record.id) {
            if refused.audit {
                let ctx = AuditContext {
                    actor: user.id.to_string(),
                    ip: ip.to_owned(),
                    user_agent: String::new(),
                    session: String::new(),
                };
                let event =
                    AuditEvent::new(AuditAction::ApiTokenThrottled, record.id.clone(), Outcome::Denied)
                        .with_detail(
                            json!({ "reason": "rate_limit", "retry_after_secs": refused.retry_after_secs }),
                        );
                self.store().audit(&ctx, &event).await?;
            }
            return Err(IdentityError::Throttled {
                retry_after_secs: refused.retry_after_secs,
            });
        }
        let recently = record
            .last_used_at
            .is_some_and(|t| UnixMillis::now().0 - t.0 < USE_RECORD_INTERVAL_MS);
        if !recently || record.last_used_ip.as_deref() != Some(ip) {
            self.store().mark_api_token_used(&record.id, ip).await?;
        }
        let scopes = record
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s).ok())
            .collect();
        let principal = Principal {
            user_id: user.id.clone(),
            role: user.role,
            teams: self.store().user_teams(&user.id).await?,
            company: user.company.clone(),
            session: None,
            scopes: Some(scopes),
        };
        Ok(Some(crate::Authenticated {
            principal,
            user,
            session: None,
        }))
    }

    pub async fn api_tokens(&self, owner: &UserId) -> Result<Vec<ApiTokenRecord>, IdentityError> {
        Ok(self.store().list_api_tokens(owner).await?)
    }

    /// Revokes one of the owner's tokens; false when it is not theirs.
    pub async fn revoke_api_token(
        &self,
        owner: &UserId,
        id: &str,
        ctx: &AuditContext,
    ) -> Result<bool, IdentityError> {
        let mut tx = self.store().begin().await?;
        let revoked = self.store().revoke_api_token(&mut tx, owner, id).await?;
        if revoked {
            let event = AuditEvent::new(AuditAction::ApiTokenRevoked, id.to_owned(), Outcome::Success);
            self.store().append_audit(&mut tx, ctx, &event).await?;
            tx.commit().await?;
        }
        Ok(revoked)
    }
}
