//! OAuth applications, registered by administrators: a confidential client (a server
//! that keeps a secret) or a public one (a native or browser application, which proves
//! itself with PKCE only), its exact redirect URIs, the scopes it may ask for, and for a
//! confidential client the staff account it may act as with the client-credentials
//! grant (whose rights an administrator chose when they set that account up). The
//! flows themselves are `palisade_identity`'s.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{Scope, UserId};
use palisade_crypto::RandomToken;
use palisade_policy::{Action, Resource};
use palisade_store::{OAuthClient, OAuthClientChange};
use serde_json::json;
use zeroize::Zeroizing;

use crate::{Actor, Desk, ServiceError};

pub const MAX_REDIRECT_URIS: usize = 10;
pub const MAX_APP_NAME_CHARS: usize = 100;

/// An application as an administrator describes it.
#[derive(Clone, Debug)]
pub struct AppRequest {
    pub name: String,
    /// Only at registration: a client's kind never changes.
    pub confidential: bool,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// The staff account client-credentials tokens act as (confidential clients only).
    pub act_as: Option<String>,
    pub enabled: bool,
}

fn new_secret() -> Result<(RandomToken, Zeroizing<String>), ServiceError> {
    let token = RandomToken::generate().map_err(|e| ServiceError::Reaction(e.to_string()))?;
    let text = Zeroizing::new(format!(
        "{}{}",
        palisade_identity::OAUTH_SECRET_PREFIX,
        token.expose()
    ));
    Ok((token, text))
}

impl Desk {
    pub async fn oauth_clients(&self, actor: &Actor) -> Result<Vec<OAuthClient>, ServiceError> {
        self.authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        Ok(self.store.oauth_clients().await?)
    }

    pub async fn oauth_client(&self, actor: &Actor, id: &str) -> Result<OAuthClient, ServiceError> {
        self.authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        Ok(self.store.oauth_client(id).await?)
    }

    /// Registers an application; a confidential one's secret is returned this once.
    pub async fn register_oauth_client(
        &self,
        actor: &Actor,
        request: &AppRequest,
    ) -> Result<(OAuthClient, Option<Zeroizing<String>>), ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let change = self.checked_app(request, request.confidential).await?;
        let id = format!(
            "cli_{}",
            &RandomToken::generate()
                .map_err(|e| ServiceError::Reaction(e.to_string()))?
                .hash()
                .0[..22]
        );
        let secret = if change.confidential {
            Some(new_secret()?)
        } else {
            None
        };
        let mut tx = self.store.begin().await?;
        self.store
            .create_oauth_client(
                &mut tx,
                &proof,
                &id,
                &actor.principal.user_id,
                &change,
                secret.as_ref().map(|(token, _)| token.hash()).as_ref(),
            )
            .await?;
        let event = AuditEvent::new(AuditAction::OAuthClientRegistered, id.clone(), Outcome::Success)
            .with_detail(app_detail(&change));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok((self.store.oauth_client(&id).await?, secret.map(|(_, text)| text)))
    }

    /// Changes an application. Whatever it was allowed beyond its new scopes, and
    /// everything when it is disabled, is revoked: a person's consent was to the old
    /// terms.
    pub async fn update_oauth_client(
        &self,
        actor: &Actor,
        id: &str,
        request: &AppRequest,
    ) -> Result<OAuthClient, ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let existing = self.store.oauth_client(id).await?;
        let change = self.checked_app(request, existing.confidential).await?;
        let mut tx = self.store.begin().await?;
        self.store
            .update_oauth_client(&mut tx, &proof, id, &change)
            .await?;
        let narrowed = existing.scopes.iter().any(|s| !change.scopes.contains(s));
        if narrowed || !change.enabled {
            self.store.revoke_oauth_grants_of_client(&mut tx, id).await?;
        }
        if existing.act_as != change.act_as {
            // Its tokens acted as the account it no longer acts as.
            self.store.revoke_oauth_client_tokens(&mut tx, id).await?;
        }
        let event = AuditEvent::new(AuditAction::OAuthClientChanged, id.to_owned(), Outcome::Success)
            .with_detail(app_detail(&change));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.oauth_client(id).await?)
    }

    /// A new secret for a confidential application; the old one stops at once.
    pub async fn rotate_oauth_secret(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Zeroizing<String>, ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let (token, text) = new_secret()?;
        let mut tx = self.store.begin().await?;
        self.store
            .set_oauth_client_secret(&mut tx, &proof, id, &token.hash())
            .await?;
        let event = AuditEvent::new(
            AuditAction::OAuthClientSecretRotated,
            id.to_owned(),
            Outcome::Success,
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(text)
    }

    /// Removes an application with everything people allowed it and it was issued.
    pub async fn delete_oauth_client(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let mut tx = self.store.begin().await?;
        self.store.delete_oauth_client(&mut tx, &proof, id).await?;
        let event = AuditEvent::new(AuditAction::OAuthClientDeleted, id.to_owned(), Outcome::Success);
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn checked_app(
        &self,
        request: &AppRequest,
        confidential: bool,
    ) -> Result<OAuthClientChange, ServiceError> {
        let name = request.name.trim();
        if name.is_empty() || name.chars().count() > MAX_APP_NAME_CHARS || name.chars().any(char::is_control)
        {
            return Err(ServiceError::invalid("refusal-app-name"));
        }
        let mut redirect_uris: Vec<String> = Vec::new();
        for uri in &request.redirect_uris {
            if !palisade_identity::acceptable_redirect_uri(uri) {
                return Err(ServiceError::invalid("refusal-app-redirect"));
            }
            if !redirect_uris.contains(uri) {
                redirect_uris.push(uri.clone());
            }
        }
        if redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(ServiceError::invalid("refusal-app-redirect"));
        }
        let mut scopes: Vec<String> = Vec::new();
        for name in &request.scopes {
            let scope = Scope::parse(name).map_err(|_| ServiceError::invalid("refusal-app-scopes"))?;
            let name = scope.as_str().to_owned();
            if !scopes.contains(&name) {
                scopes.push(name);
            }
        }
        if scopes.is_empty() {
            return Err(ServiceError::invalid("refusal-app-scopes"));
        }
        let act_as = match request.act_as.as_deref().filter(|a| !a.is_empty()) {
            None => None,
            Some(_) if !confidential => return Err(ServiceError::invalid("refusal-app-act-as")),
            Some(raw) => {
                // Anyone but an active staff member is no account to act as: not found.
                let id = UserId::parse(raw).map_err(|_| ServiceError::NotFound)?;
                match self.store.get_user(&id).await {
                    Ok(user) if user.role.is_staff() && !user.disabled && !user.erased => Some(id),
                    Ok(_) | Err(palisade_store::StoreError::NotFound) => return Err(ServiceError::NotFound),
                    Err(e) => return Err(e.into()),
                }
            }
        };
        // Something must be able to use it: a person (through a redirect URI) or the
        // application itself.
        if redirect_uris.is_empty() && act_as.is_none() {
            return Err(ServiceError::invalid("refusal-app-redirect"));
        }
        Ok(OAuthClientChange {
            name: name.to_owned(),
            confidential,
            redirect_uris,
            scopes,
            act_as,
            enabled: request.enabled,
        })
    }
}

fn app_detail(change: &OAuthClientChange) -> serde_json::Value {
    json!({
        "name": change.name,
        "confidential": change.confidential,
        "redirect_uris": change.redirect_uris,
        "scopes": change.scopes,
        "act_as": change.act_as.as_ref().map(|u| u.to_string()),
        "enabled": change.enabled,
    })
}
