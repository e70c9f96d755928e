//! The OAuth 2.0 authorisation server (RFC 6749 as RFC 9700 says to run it): the
//! authorization-code grant with PKCE (S256 only, for every client), the client-
//! credentials grant for confidential clients acting as the staff account an
//! administrator named, refresh tokens rotated on every use with reuse detection (a
//! refresh token or code used twice revokes its whole grant), revocation (RFC 7009) and
//! introspection (RFC 7662). Codes, tokens and client secrets are 256-bit random values
//! stored as hashes. A token acts as its person narrowed to its scopes, decided by
//! Cedar like a personal API token, so an application never has more rights than the
//! person who allowed it.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{Principal, Scope, UnixMillis, UserId};
use palisade_crypto::{RandomToken, TokenHash, pkce_s256_matches};
use palisade_store::{
    NewOAuthCode, NewOAuthToken, OAuthClient, OAuthGrant, OAuthToken, StoreError, UserRecord,
};
use serde_json::json;
use zeroize::Zeroizing;

use crate::{Identity, IdentityError};

pub const OAUTH_ACCESS_PREFIX: &str = "poa_";
pub const OAUTH_REFRESH_PREFIX: &str = "por_";
pub const OAUTH_SECRET_PREFIX: &str = "pcs_";
pub const ACCESS_TOKEN_SECS: i64 = 3600;
pub const REFRESH_TOKEN_SECS: i64 = 30 * 86_400;
/// An authorization code is redeemed at once by a working client; a minute is plenty.
pub const CODE_SECS: i64 = 60;
const MAX_STATE_CHARS: usize = 500;

/// An OAuth error as RFC 6749 names it (§4.1.2.1, §5.2), with words for a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuthRefusal {
    pub error: &'static str,
    pub description: &'static str,
}

const fn refusal(error: &'static str, description: &'static str) -> OAuthRefusal {
    OAuthRefusal { error, description }
}

const INVALID_CLIENT: OAuthRefusal = refusal("invalid_client", "client authentication failed");
const INVALID_GRANT: OAuthRefusal = refusal(
    "invalid_grant",
    "the code or refresh token is invalid, expired, used, revoked or another client's",
);

/// The parameters of an authorization request, as sent.
#[derive(Clone, Debug, Default)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// An authorization request that may be shown for consent.
#[derive(Clone, Debug)]
pub struct PendingAuthorization {
    pub client: OAuthClient,
    pub redirect_uri: String,
    pub scopes: Vec<Scope>,
    pub state: Option<String>,
    pub code_challenge: String,
}

/// What to do with an authorization request.
pub enum AuthorizeCheck {
    Consent(Box<PendingAuthorization>),
    /// The client or its redirect URI is not one registered: tell the person and never
    /// redirect (anything else would make the desk an open redirector).
    Refuse(&'static str),
    /// Send the browser back to the application with an error.
    RedirectError(String),
}

/// Who a client says it is at the token, revocation and introspection endpoints.
#[derive(Clone, Default)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A token request's parameters (RFC 6749 §4.1.3, §4.4.2, §6). Never printed: the
/// code, verifier and refresh token are credentials.
#[derive(Clone, Default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("redirect_uri", &self.redirect_uri)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What the token endpoint hands out.
pub struct IssuedTokens {
    pub access_token: Zeroizing<String>,
    pub refresh_token: Option<Zeroizing<String>>,
    pub scopes: Vec<String>,
    pub expires_in: i64,
}

/// What introspection tells about a token (RFC 7662 §2.2); inactive tells nothing.
#[derive(Clone, Debug, Default)]
pub struct Introspection {
    pub active: bool,
    pub scopes: Vec<String>,
    pub client_id: String,
    pub subject: String,
    pub token_type: String,
    pub expires_at: i64,
    pub issued_at: i64,
}

/// Scopes from a space-separated list, each one the client may ask for; an empty or
/// missing list asks for all of them.
fn requested_scopes(raw: Option<&str>, allowed: &[String]) -> Option<Vec<Scope>> {
    let words: Vec<&str> = raw
        .unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect();
    let names: Vec<&str> = if words.is_empty() {
        allowed.iter().map(String::as_str).collect()
    } else {
        words
    };
    let mut scopes = Vec::new();
    for name in names {
        let scope = Scope::parse(name).ok()?;
        if !allowed.iter().any(|a| a == name) {
            return None;
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    (!scopes.is_empty()).then_some(scopes)
}

fn scope_names(scopes: &[Scope]) -> Vec<String> {
    let mut names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    names.sort();
    names
}

/// `uri` with these query parameters added (after any it has).
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut separator = if uri.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        out.push(separator);
        out.push_str(name);
        out.push('=');
        out.push_str(&urlencoding(value));
        separator = '&';
    }
    out
}

fn urlencoding(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A redirect URI an application may register: https anywhere, or http to a loopback
/// address (a native application's local listener, RFC 8252 §7.3); no fragment, no
/// user name, exactly as it will be compared.
pub fn acceptable_redirect_uri(uri: &str) -> bool {
    let Ok(parsed) = uri.parse::<http::Uri>() else {
        return false;
    };
    let Some(host) = parsed.host() else { return false };
    if uri.contains('#') || parsed.authority().is_some_and(|a| a.as_str().contains('@')) || uri.len() > 2000 {
        return false;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match parsed.scheme_str() {
        Some("https") => true,
        Some("http") => bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        _ => false,
    }
}

fn code_challenge_shaped(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn presented(token: &str, prefix: &str) -> Option<TokenHash> {
    token
        .strip_prefix(prefix)
        .and_then(RandomToken::from_presented)
        .map(|t| t.hash())
}

impl Identity {
    /// Checks an authorization request: who the client is and where it may be sent
    /// back come first, so nothing about a bad request reaches an unregistered address.
    pub async fn check_authorization(
        &self,
        params: &AuthorizeParams,
        issuer: &str,
    ) -> Result<AuthorizeCheck, IdentityError> {
        let client = match params.client_id.as_deref() {
            Some(id) => match self.store().oauth_client(id).await {
                Ok(client) if client.enabled => client,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Ok(AuthorizeCheck::Refuse("oauth-unknown-client"));
                }
                Err(e) => return Err(e.into()),
            },
            None => return Ok(AuthorizeCheck::Refuse("oauth-unknown-client")),
        };
        let redirect_uri = match params.redirect_uri.as_deref() {
            Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
            None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
            _ => return Ok(AuthorizeCheck::Refuse("oauth-unknown-redirect")),
        };
        let state = params.state.clone().filter(|s| !s.is_empty());
        let back = |refused: OAuthRefusal| {
            let mut query = vec![
                ("error", refused.error),
                ("error_description", refused.description),
            ];
            if let Some(state) = state.as_deref() {
                query.push(("state", state));
            }
            query.push(("iss", issuer));
            Ok(AuthorizeCheck::RedirectError(with_query(&redirect_uri, &query)))
        };
        if params.response_type.as_deref() != Some("code") {
            return back(refusal(
                "unsupported_response_type",
                "only the authorization code flow is offered",
            ));
        }
        if state
            .as_ref()
            .is_some_and(|s| s.chars().count() > MAX_STATE_CHARS)
        {
            return back(refusal("invalid_request", "state is too long"));
        }
        let challenge = match (
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256")) if code_challenge_shaped(challenge) => challenge.to_owned(),
            (Some(_), Some("S256")) => {
                return back(refusal("invalid_request", "code_challenge is malformed"));
            }
            (Some(_), _) => return back(refusal("invalid_request", "code_challenge_method must be S256")),
            (None, _) => {
                return back(refusal(
                    "invalid_request",
                    "PKCE is required: send code_challenge with S256",
                ));
            }
        };
        let Some(scopes) = requested_scopes(params.scope.as_deref(), &client.scopes) else {
            return back(refusal(
                "invalid_scope",
                "a scope asked for is unknown or not allowed for this application",
            ));
        };
        Ok(AuthorizeCheck::Consent(Box::new(PendingAuthorization {
            client,
            redirect_uri,
            scopes,
            state,
            code_challenge: challenge,
        })))
    }

    /// The person allowed the application: a grant and a one-minute code, and where to
    /// send the browser.
    pub async fn approve_authorization(
        &self,
        user: &UserRecord,
        pending: &PendingAuthorization,
        issuer: &str,
        ctx: &AuditContext,
    ) -> Result<String, IdentityError> {
        let grant_id = format!("ogr_{}", &RandomToken::generate()?.hash().0[..22]);
        let code = RandomToken::generate()?;
        let scopes = scope_names(&pending.scopes);
        let mut tx = self.store().begin().await?;
        self.store()
            .create_oauth_grant(&mut tx, &grant_id, &pending.client.id, &user.id, &scopes)
            .await?;
        self.store()
            .insert_oauth_code(
                &mut tx,
                &NewOAuthCode {
                    hash: &code.hash(),
                    grant_id: &grant_id,
                    client_id: &pending.client.id,
                    redirect_uri: &pending.redirect_uri,
                    code_challenge: &pending.code_challenge,
                    expires_at: UnixMillis::now().plus_secs(CODE_SECS),
                },
            )
            .await?;
        let event = AuditEvent::new(AuditAction::OAuthAuthorized, grant_id.clone(), Outcome::Success)
            .with_detail(json!({ "client": pending.client.id, "scopes": scopes }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        let mut query = vec![("code", code.expose())];
        if let Some(state) = pending.state.as_deref() {
            query.push(("state", state));
        }
        query.push(("iss", issuer));
        Ok(with_query(&pending.redirect_uri, &query))
    }

    /// The person said no: where to send the browser.
    pub fn deny_authorization(&self, pending: &PendingAuthorization, issuer: &str) -> String {
        let mut query = vec![
            ("error", "access_denied"),
            ("error_description", "the person declined"),
        ];
        if let Some(state) = pending.state.as_deref() {
            query.push(("state", state));
        }
        query.push(("iss", issuer));
        with_query(&pending.redirect_uri, &query)
    }

    /// The client, if it proved who it is: a confidential client by its secret, a
    /// public one by naming itself only (it has no secret to keep).
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<Result<OAuthClient, OAuthRefusal>, IdentityError> {
        let client = match self.store().oauth_client(&credentials.id).await {
            Ok(client) if client.enabled => client,
            Ok(_) | Err(StoreError::NotFound) => return Ok(Err(INVALID_CLIENT)),
            Err(e) => return Err(e.into()),
        };
        let stored = self.store().oauth_client_secret(&client.id).await?;
        let proven = match (client.confidential, credentials.secret.as_deref(), stored) {
            (true, Some(secret), Some(stored)) => {
                presented(secret, OAUTH_SECRET_PREFIX).is_some_and(|hash| hash.ct_eq(&stored))
            }
            (false, None, _) => true,
            _ => false,
        };
        Ok(if proven { Ok(client) } else { Err(INVALID_CLIENT) })
    }

    /// The token endpoint (RFC 6749 §3.2) for an authenticated client.
    pub async fn exchange_token(
        &self,
        client: &OAuthClient,
        request: &TokenRequest,
        ctx: &AuditContext,
    ) -> Result<Result<IssuedTokens, OAuthRefusal>, IdentityError> {
        match request.grant_type.as_str() {
            "authorization_code" => self.redeem_code(client, request, ctx).await,
            "refresh_token" => self.refresh(client, request, ctx).await,
            "client_credentials" => self.client_credentials(client, request, ctx).await,
            _ => Ok(Err(refusal(
                "unsupported_grant_type",
                "use authorization_code, refresh_token or client_credentials",
            ))),
        }
    }

    async fn redeem_code(
        &self,
        client: &OAuthClient,
        request: &TokenRequest,
        ctx: &AuditContext,
    ) -> Result<Result<IssuedTokens, OAuthRefusal>, IdentityError> {
        let Some(hash) = request
            .code
            .as_deref()
            .and_then(RandomToken::from_presented)
            .map(|c| c.hash())
        else {
            return Ok(Err(INVALID_GRANT));
        };
        let mut tx = self.store().begin().await?;
        let Some(code) = self.store().find_oauth_code(&mut tx, &hash).await? else {
            return Ok(Err(INVALID_GRANT));
        };
        if code.used {
            // The code's own client presenting it again: it was intercepted, and
            // nothing issued from it stands. Another client learns nothing and ends
            // nothing (it could be anyone).
            if code.client_id == client.id {
                self.revoke_grant_in(&mut tx, &code.grant_id, "code_replayed", ctx)
                    .await?;
                tx.commit().await?;
            }
            return Ok(Err(INVALID_GRANT));
        }
        // Checked before the code is spent, so a wrong presentation (another client,
        // a guessed verifier) cannot burn the genuine one.
        let verifier_ok = request
            .code_verifier
            .as_deref()
            .is_some_and(|v| pkce_s256_matches(v, &code.code_challenge));
        if code.client_id != client.id
            || code.expires_at.0 < UnixMillis::now().0
            || request.redirect_uri.as_deref() != Some(code.redirect_uri.as_str())
            || !verifier_ok
        {
            return Ok(Err(INVALID_GRANT));
        }
        if !self.store().spend_oauth_code(&mut tx, &hash).await? {
            return Ok(Err(INVALID_GRANT));
        }
        let grant = self.store().oauth_grant(&code.grant_id).await?;
        if grant.revoked_at.is_some() || !self.active(&grant.user).await? {
            return Ok(Err(INVALID_GRANT));
        }
        let issued = self
            .issue(
                &mut tx,
                client,
                &grant.user,
                Some(&grant.id),
                &grant.scopes,
                &grant.scopes,
                true,
            )
            .await?;
        tx.commit().await?;
        Ok(Ok(issued))
    }

    async fn refresh(
        &self,
        client: &OAuthClient,
        request: &TokenRequest,
        ctx: &AuditContext,
    ) -> Result<Result<IssuedTokens, OAuthRefusal>, IdentityError> {
        let Some(hash) = request
            .refresh_token
            .as_deref()
            .and_then(|t| presented(t, OAUTH_REFRESH_PREFIX))
        else {
            return Ok(Err(INVALID_GRANT));
        };
        let Some(token) = self.store().find_oauth_token(&hash).await? else {
            return Ok(Err(INVALID_GRANT));
        };
        let Some(grant_id) = token.grant_id.clone() else {
            return Ok(Err(INVALID_GRANT));
        };
        // Another client's refresh token is refused without touching it.
        if token.kind != "refresh" || token.client_id != client.id || token.revoked {
            return Ok(Err(INVALID_GRANT));
        }
        let narrowed = match request.scope.as_deref() {
            None => token.scopes.clone(),
            Some(raw) => match requested_scopes(Some(raw), &token.scopes) {
                Some(scopes) => scope_names(&scopes),
                None => {
                    return Ok(Err(refusal(
                        "invalid_scope",
                        "a refresh never widens the scopes granted",
                    )));
                }
            },
        };
        let mut tx = self.store().begin().await?;
        if !self.store().use_refresh_token(&mut tx, &hash).await? {
            // Used before: two parties hold this chain. End it for both.
            self.revoke_grant_in(&mut tx, &grant_id, "refresh_reused", ctx)
                .await?;
            tx.commit().await?;
            return Ok(Err(INVALID_GRANT));
        }
        if token.expires_at.0 < UnixMillis::now().0 || !self.active(&token.user).await? {
            return Ok(Err(INVALID_GRANT));
        }
        let issued = self
            .issue(
                &mut tx,
                client,
                &token.user,
                Some(&grant_id),
                &narrowed,
                &token.scopes,
                true,
            )
            .await?;
        tx.commit().await?;
        Ok(Ok(issued))
    }

    async fn client_credentials(
        &self,
        client: &OAuthClient,
        request: &TokenRequest,
        ctx: &AuditContext,
    ) -> Result<Result<IssuedTokens, OAuthRefusal>, IdentityError> {
        let Some(account) = client.act_as.clone().filter(|_| client.confidential) else {
            return Ok(Err(refusal(
                "unauthorized_client",
                "this application may not act as itself",
            )));
        };
        if !self.active(&account).await? {
            return Ok(Err(refusal(
                "unauthorized_client",
                "the account this application acts as is disabled",
            )));
        }
        let Some(scopes) = requested_scopes(request.scope.as_deref(), &client.scopes) else {
            return Ok(Err(refusal(
                "invalid_scope",
                "a scope asked for is unknown or not allowed for this application",
            )));
        };
        let scopes = scope_names(&scopes);
        let mut tx = self.store().begin().await?;
        let issued = self
            .issue(&mut tx, client, &account, None, &scopes, &scopes, false)
            .await?;
        let event = AuditEvent::new(
            AuditAction::OAuthClientCredentials,
            client.id.clone(),
            Outcome::Success,
        )
        .with_detail(json!({ "account": account.to_string(), "scopes": scopes }));
        self.store().append_audit(&mut tx, ctx, &event).await?;
        tx.commit().await?;
        Ok(Ok(issued))
    }

    /// An access token (with `access_scopes`) and, for a grant, the next refresh token
    /// of its chain (with the grant's `refresh_scopes`).
    #[allow(clippy::too_many_arguments)]
    async fn issue(
        &self,
        tx: &mut palisade_store::Tx,
        client: &OAuthClient,
        user: &UserId,
        grant: Option<&str>,
        access_scopes: &[String],
        refresh_scopes: &[String],
        with_refresh: bool,
    ) -> Result<IssuedTokens, IdentityError> {
        let access = RandomToken::generate()?;
        self.store()
            .insert_oauth_token(
                tx,
                &NewOAuthToken {
                    hash: &access.hash(),
                    kind: "access",
                    grant_id: grant,
                    client_id: &client.id,
                    user,
                    scopes: access_scopes,
                    expires_at: UnixMillis::now().plus_secs(ACCESS_TOKEN_SECS),
                },
            )
            .await?;
        let refresh_token = if with_refresh {
            let refresh = RandomToken::generate()?;
            self.store()
                .insert_oauth_token(
                    tx,
                    &NewOAuthToken {
                        hash: &refresh.hash(),
                        kind: "refresh",
                        grant_id: grant,
                        client_id: &client.id,
                        user,
                        scopes: refresh_scopes,
                        expires_at: UnixMillis::now().plus_secs(REFRESH_TOKEN_SECS),
                    },
                )
                .await?;
            Some(Zeroizing::new(format!(
                "{OAUTH_REFRESH_PREFIX}{}",
                refresh.expose()
            )))
        } else {
            None
        };
        Ok(IssuedTokens {
            access_token: Zeroizing::new(format!("{OAUTH_ACCESS_PREFIX}{}", access.expose())),
            refresh_token,
            scopes: access_scopes.to_vec(),
            expires_in: ACCESS_TOKEN_SECS,
        })
    }

    async fn active(&self, user: &UserId) -> Result<bool, IdentityError> {
        Ok(match self.store().get_user(user).await {
            Ok(user) => !user.disabled && !user.erased,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        })
    }

    async fn revoke_grant_in(
        &self,
        tx: &mut palisade_store::Tx,
        grant: &str,
        why: &str,
        ctx: &AuditContext,
    ) -> Result<(), IdentityError> {
        if self.store().revoke_oauth_grant(tx, grant, why).await? {
            let event = AuditEvent::new(AuditAction::OAuthGrantRevoked, grant.to_owned(), Outcome::Success)
                .with_detail(json!({ "reason": why }));
            self.store().append_audit(tx, ctx, &event).await?;
        }
        Ok(())
    }

    /// A token presented to the client that holds it: found only if it is that
    /// client's.
    async fn token_of(
        &self,
        client: &OAuthClient,
        token: &str,
    ) -> Result<Option<(TokenHash, OAuthToken)>, IdentityError> {
        let hash = presented(token, OAUTH_ACCESS_PREFIX).or_else(|| presented(token, OAUTH_REFRESH_PREFIX));
        let Some(hash) = hash else { return Ok(None) };
        Ok(self
            .store()
            .find_oauth_token(&hash)
            .await?
            .filter(|t| t.client_id == client.id)
            .map(|t| (hash, t)))
    }

    /// Revocation (RFC 7009): a refresh token ends its grant, an access token itself.
    /// Unknown tokens and other clients' are ignored alike (the answer is the same).
    pub async fn revoke_token(
        &self,
        client: &OAuthClient,
        token: &str,
        ctx: &AuditContext,
    ) -> Result<(), IdentityError> {
        let Some((hash, found)) = self.token_of(client, token).await? else {
            return Ok(());
        };
        let mut tx = self.store().begin().await?;
        match (found.kind.as_str(), found.grant_id.as_deref()) {
            ("refresh", Some(grant)) => {
                self.revoke_grant_in(&mut tx, grant, "client_revoked", ctx)
                    .await?
            }
            _ => {
                self.store().revoke_oauth_token(&mut tx, &hash).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Introspection (RFC 7662) for the client the token was issued to; any other
    /// client learns only that it is not active.
    pub async fn introspect_token(
        &self,
        client: &OAuthClient,
        token: &str,
    ) -> Result<Introspection, IdentityError> {
        let Some((_, found)) = self.token_of(client, token).await? else {
            return Ok(Introspection::default());
        };
        let spent = found.kind == "refresh" && found.used;
        let live = !(found.revoked || spent)
            && found.expires_at.0 > UnixMillis::now().0
            && self.active(&found.user).await?;
        if !live {
            return Ok(Introspection::default());
        }
        Ok(Introspection {
            active: true,
            scopes: found.scopes,
            client_id: found.client_id,
            subject: found.user.to_string(),
            token_type: if found.kind == "access" {
                "access_token"
            } else {
                "refresh_token"
            }
            .to_owned(),
            expires_at: found.expires_at.0 / 1000,
            issued_at: found.created_at.0 / 1000,
        })
    }

    /// Resolves a presented `poa_…` access token to its person's principal narrowed to
    /// the token's scopes; `None` for anything unknown, expired, revoked or disabled.
    pub async fn authenticate_oauth_access(
        &self,
        presented_token: &str,
    ) -> Result<Option<crate::Authenticated>, IdentityError> {
        let Some(hash) = presented(presented_token, OAUTH_ACCESS_PREFIX) else {
            return Ok(None);
        };
        let Some(token) = self.store().find_oauth_token(&hash).await? else {
            return Ok(None);
        };
        if token.kind != "access" || token.revoked || token.expires_at.0 <= UnixMillis::now().0 {
            return Ok(None);
        }
        let user = self.store().get_user(&token.user).await?;
        if user.disabled || user.erased {
            return Ok(None);
        }
        // The same allowance as a personal API token, per application and person.
        let bucket = format!("oauth:{}:{}", token.client_id, token.user);
        if let Err(refused) = self.token_rate.check(&bucket) {
            return Err(IdentityError::Throttled {
                retry_after_secs: refused.retry_after_secs,
            });
        }
        let principal = Principal {
            user_id: user.id.clone(),
            role: user.role,
            teams: self.store().user_teams(&user.id).await?,
            company: user.company.clone(),
            session: None,
            scopes: Some(token.scopes.iter().filter_map(|s| Scope::parse(s).ok()).collect()),
        };
        Ok(Some(crate::Authenticated {
            principal,
            user,
            session: None,
        }))
    }

    /// The applications a person allowed, newest first.
    pub async fn oauth_grants(&self, user: &UserId) -> Result<Vec<OAuthGrant>, IdentityError> {
        Ok(self.store().oauth_grants_of(user).await?)
    }

    /// A person takes back what they allowed an application; false when the grant is
    /// not theirs (or was revoked already).
    pub async fn revoke_own_grant(
        &self,
        user: &UserId,
        grant: &str,
        ctx: &AuditContext,
    ) -> Result<bool, IdentityError> {
        match self.store().oauth_grant(grant).await {
            Ok(found) if found.user == *user && found.revoked_at.is_none() => {}
            Ok(_) | Err(StoreError::NotFound) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let mut tx = self.store().begin().await?;
        self.revoke_grant_in(&mut tx, grant, "person_revoked", ctx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_and_compared_whole() {
        for ok in [
            "https://app.example.com/callback",
            "http://127.0.0.1:8765/callback",
            "http://[::1]:8765/cb",
        ] {
            assert!(acceptable_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "http://app.example.com/callback",
            "http://localhost:8765/callback",
            "https://app.example.com/cb#x",
            "https://user@app.example.com/cb",
            "javascript:alert(1)",
            "com.example.app:/cb",
            "/relative",
        ] {
            assert!(!acceptable_redirect_uri(bad), "{bad}");
        }
    }

    #[test]
    fn scopes_asked_for_are_the_clients_or_refused() {
        let allowed = vec!["tickets:read".to_owned(), "tickets:write".to_owned()];
        assert_eq!(
            requested_scopes(Some("tickets:read"), &allowed),
            Some(vec![Scope::TicketsRead])
        );
        assert_eq!(requested_scopes(None, &allowed).map(|s| s.len()), Some(2));
        assert_eq!(
            requested_scopes(Some("tickets:read people:write"), &allowed),
            None
        );
        assert_eq!(requested_scopes(Some("admin"), &allowed), None);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            with_query(
                "https://a.example/cb?x=1",
                &[("state", "a b&c"), ("iss", "https://d.example")]
            ),
            "https://a.example/cb?x=1&state=a%20b%26c&iss=https%3A%2F%2Fd.example"
        );
    }
}
