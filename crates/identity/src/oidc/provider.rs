//! One configured identity provider: its settings, its discovered metadata (cached),
//! building the authorisation request and checking the answer.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod,
    CoreGrantType, CoreIdToken, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError,
    ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, Scope, TokenResponse,
};
use palisade_core::{EmailAddress, Role, SecretString};
use palisade_crypto::RandomToken;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{Failure, VerifiedIdentity};
use crate::IdentityError;
use palisade_outbound::{HttpClient, OutboundError, acceptable_url, origin_of};

/// Signature algorithms an ID token may use. Shared-secret (HS*) algorithms are left
/// out on purpose: whoever learns the client secret could mint tokens. `none` never.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// Discovery documents (and the keys in them) are refetched after this long, so a
/// provider's key rotation is picked up without a restart.
const METADATA_MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// A token signed with a key we do not have triggers a refetch, at most this often.
const METADATA_MIN_AGE_FOR_REFRESH: Duration = Duration::from_secs(60);

/// What the operator configured for one provider.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    /// Short name used in URLs (`/login/sso/{name}`): lowercase letters, digits, `-`.
    pub name: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Requested besides `openid`.
    pub scopes: Vec<String>,
    /// Sign in an existing account whose email the provider asserts as verified.
    pub link_by_email: bool,
    /// Create an account on first sign-in (verified email required).
    pub create_accounts: bool,
    /// The role of created accounts; the provider's claims never choose a role.
    pub new_account_role: Role,
    /// Domains whose addresses may get a created account; empty means any (customers only).
    pub allowed_domains: Vec<String>,
    /// Accept the provider's MFA instead of asking staff for a local second factor.
    pub trust_provider_mfa: bool,
    /// `amr` values that count as multi-factor when trusted.
    pub mfa_amr: Vec<String>,
    /// `acr` values that count as multi-factor when trusted.
    pub mfa_acr: Vec<String>,
    /// Extra CA certificates (PEM) for a provider behind a private CA.
    pub ca_file: Option<PathBuf>,
    /// Origins besides the issuer's that the provider's keys, token and user-info
    /// endpoints may be on (`https://host[:port]`). Everything the discovery document
    /// names elsewhere is refused: the token request carries the client secret.
    pub endpoint_origins: Vec<String>,
}

impl OidcSettings {
    /// A provider with safe defaults: link by verified email, create nothing, trust no
    /// provider MFA.
    pub fn new(name: &str, issuer: &str, client_id: &str, client_secret: SecretString) -> Self {
        Self {
            name: name.to_owned(),
            display_name: name.to_owned(),
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
            scopes: vec!["email".into(), "profile".into()],
            link_by_email: true,
            create_accounts: false,
            new_account_role: Role::Customer,
            allowed_domains: Vec::new(),
            trust_provider_mfa: false,
            mfa_amr: vec!["mfa".into(), "hwk".into(), "otp".into(), "sc".into()],
            mfa_acr: Vec::new(),
            ca_file: None,
            endpoint_origins: Vec::new(),
        }
    }

    pub fn validate(&self) -> Result<(), IdentityError> {
        let invalid = |why: String| {
            Err(IdentityError::Config(format!(
                "OIDC provider {}: {why}",
                self.name
            )))
        };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 32
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            return invalid("name must be 1-32 lowercase letters, digits or '-'".into());
        }
        if !acceptable_url(&self.issuer) {
            return invalid(format!(
                "issuer {} must be https (http only on loopback)",
                self.issuer
            ));
        }
        for origin in &self.endpoint_origins {
            if !acceptable_url(origin) || origin_of(origin).as_deref() != Some(origin.trim_end_matches('/')) {
                return invalid(format!(
                    "endpoint origin {origin} must be scheme://host[:port] only, https (http only on loopback)"
                ));
            }
        }
        if self.client_id.is_empty() || self.client_secret.expose().is_empty() {
            return invalid("client_id and client_secret are required".into());
        }
        if self.create_accounts && self.new_account_role.is_staff() && self.allowed_domains.is_empty() {
            return invalid("creating staff accounts needs allowed_domains".into());
        }
        Ok(())
    }

    pub(crate) fn may_create(&self, email: &EmailAddress) -> bool {
        let domain = email.as_str().rsplit('@').next().unwrap_or_default();
        self.create_accounts
            && (self.allowed_domains.is_empty()
                || self
                    .allowed_domains
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(domain)))
    }
}

/// RFC 9207 support, which the core metadata type does not carry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub(crate) struct IssuerParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

impl AdditionalProviderMetadata for IssuerParameter {}

type Metadata = ProviderMetadata<
    IssuerParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// The shared outbound client, as openidconnect expects to call it, held to the
/// origins this provider may use: the issuer's and those configured. A discovery
/// document that points the keys or the token endpoint anywhere else (another host, an
/// internal port) gets no request, and so never the client secret.
struct ProviderHttp {
    client: HttpClient,
    origins: Vec<String>,
}

impl From<OutboundError> for IdentityError {
    fn from(e: OutboundError) -> Self {
        match e {
            OutboundError::Config(what) => IdentityError::Config(what),
            OutboundError::Peer(what) => IdentityError::Provider(what),
            OutboundError::Timeout => {
                IdentityError::Provider("the identity provider did not answer in time".into())
            }
        }
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = IdentityError;
    type Future =
        Pin<Box<dyn Future<Output = Result<openidconnect::HttpResponse, IdentityError>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let origin = origin_of(&request.uri().to_string());
            if !origin.as_ref().is_some_and(|o| self.origins.contains(o)) {
                return Err(IdentityError::Provider(format!(
                    "refusing {}: not on the issuer's origin or a configured endpoint origin",
                    request.uri()
                )));
            }
            Ok(self.client.send(request).await?)
        })
    }
}

type ConfiguredClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

pub(crate) struct Authorize {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub pkce_verifier: PkceCodeVerifier,
}

pub(crate) struct OidcProvider {
    settings: OidcSettings,
    redirect_uri: RedirectUrl,
    http: ProviderHttp,
    metadata: Mutex<Option<(Metadata, Instant)>>,
}

impl OidcProvider {
    fn new(settings: OidcSettings, public_origin: &str) -> Result<Self, IdentityError> {
        settings.validate()?;
        let redirect = format!(
            "{}/login/sso/{}/callback",
            public_origin.trim_end_matches('/'),
            settings.name
        );
        let redirect_uri =
            RedirectUrl::new(redirect).map_err(|e| IdentityError::Config(format!("redirect URI: {e}")))?;
        let mut client = HttpClient::new(settings.ca_file.as_deref())?.trust_host(&settings.issuer);
        let mut origins: Vec<String> = origin_of(&settings.issuer).into_iter().collect();
        for origin in &settings.endpoint_origins {
            client = client.trust_host(origin);
            origins.extend(origin_of(origin));
        }
        let http = ProviderHttp { client, origins };
        Ok(Self {
            settings,
            redirect_uri,
            http,
            metadata: Mutex::new(None),
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.settings.name
    }

    pub(crate) fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's metadata and keys; fetched on first use (so Palisade starts while
    /// a provider is down) and again once stale or when `refresh` asks for it.
    async fn metadata(&self, refresh: bool) -> Result<Metadata, IdentityError> {
        let mut cached = self.metadata.lock().await;
        if let Some((metadata, fetched)) = cached.as_ref() {
            let age = fetched.elapsed();
            let fresh = age < METADATA_MAX_AGE && !(refresh && age >= METADATA_MIN_AGE_FOR_REFRESH);
            if fresh {
                return Ok(metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| IdentityError::Provider(format!("issuer URL: {e}")))?;
        // Discovery checks that the document names the configured issuer exactly.
        let metadata = Metadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| IdentityError::Provider(format!("discovery at {}: {e}", self.settings.issuer)))?;
        *cached = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    fn client(&self, metadata: Metadata) -> ConfiguredClient {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.expose().to_owned())),
        )
        .set_redirect_uri(self.redirect_uri.clone())
    }

    pub(crate) async fn authorize(&self) -> Result<Authorize, IdentityError> {
        let client = self.client(self.metadata(false).await?);
        let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let state = RandomToken::generate()?;
        let nonce = RandomToken::generate()?;
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state.expose().to_owned()),
            move || Nonce::new(nonce.expose().to_owned()),
        );
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Authorize {
            url: url.to_string(),
            state,
            nonce,
            pkce_verifier,
        })
    }

    /// Redeems the code (with the PKCE verifier) and checks the ID token completely.
    pub(crate) async fn exchange(
        &self,
        code: &str,
        iss: Option<&str>,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedIdentity, Failure> {
        let metadata = self
            .metadata(false)
            .await
            .map_err(|e| Failure::with("discovery_failed", e))?;
        match iss {
            Some(iss) if iss != metadata.issuer().as_str() => {
                return Err(Failure::with("issuer_mismatch", iss));
            }
            None if metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported
                == Some(true) =>
            {
                return Err(Failure::new("issuer_missing"));
            }
            _ => {}
        }
        let client = self.client(metadata);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Failure::with("no_token_endpoint", e))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| Failure::with("token_exchange_failed", e))?;
        let id_token = response.id_token().ok_or(Failure::new("no_id_token"))?;
        let nonce = Nonce::new(nonce.to_owned());
        match self.check_id_token(&client, id_token, response.access_token(), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                // Perhaps the provider rotated its keys since we fetched them.
                let fresh = self
                    .metadata(true)
                    .await
                    .map_err(|e| Failure::with("discovery_failed", e))?;
                let client = self.client(fresh);
                self.check_id_token(&client, id_token, response.access_token(), &nonce)
                    .map_err(|e| Failure::with(claims_failure(&e), e))?
            }
            other => other.map_err(|e| Failure::with(claims_failure(&e), e))?,
        }
    }

    fn check_id_token(
        &self,
        client: &ConfiguredClient,
        id_token: &CoreIdToken,
        access_token: &AccessToken,
        nonce: &Nonce,
    ) -> Result<Result<VerifiedIdentity, Failure>, ClaimsVerificationError> {
        let verifier = client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS);
        let claims = id_token.claims(&verifier, nonce)?;
        if let Some(expected) = claims.access_token_hash() {
            let matches = id_token
                .signing_alg()
                .and_then(|alg| Ok((alg, id_token.signing_key(&verifier)?)))
                .ok()
                .and_then(|(alg, key)| AccessTokenHash::from_token(access_token, alg, key).ok())
                .is_some_and(|actual| actual == *expected);
            if !matches {
                return Ok(Err(Failure::new("access_token_hash_mismatch")));
            }
        }
        let amr: Vec<String> = claims
            .auth_method_refs()
            .map(|v| v.iter().map(|a| a.as_str().to_owned()).collect())
            .unwrap_or_default();
        let acr = claims.auth_context_ref().map(|a| a.as_str().to_owned());
        let provider_mfa = amr.iter().any(|a| self.settings.mfa_amr.contains(a))
            || acr.as_ref().is_some_and(|a| self.settings.mfa_acr.contains(a));
        Ok(Ok(VerifiedIdentity {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            provider_mfa,
        }))
    }
}

fn claims_failure(e: &ClaimsVerificationError) -> &'static str {
    match e {
        ClaimsVerificationError::Expired(_) => "id_token_expired",
        ClaimsVerificationError::InvalidAudience(_) => "id_token_wrong_audience",
        ClaimsVerificationError::InvalidIssuer(_) => "id_token_wrong_issuer",
        ClaimsVerificationError::InvalidNonce(_) => "id_token_bad_nonce",
        ClaimsVerificationError::SignatureVerification(_) => "id_token_bad_signature",
        _ => "id_token_invalid",
    }
}

/// Every configured provider, by name.
#[derive(Clone, Default)]
pub struct OidcProviders {
    by_name: BTreeMap<String, Arc<OidcProvider>>,
}

impl OidcProviders {
    /// Checks every provider's settings; redirect URIs are built from `public_origin`.
    pub fn new(settings: Vec<OidcSettings>, public_origin: &str) -> Result<Self, IdentityError> {
        let mut by_name = BTreeMap::new();
        for s in settings {
            let name = s.name.clone();
            if by_name
                .insert(name.clone(), Arc::new(OidcProvider::new(s, public_origin)?))
                .is_some()
            {
                return Err(IdentityError::Config(format!(
                    "OIDC provider {name} is configured twice"
                )));
            }
        }
        Ok(Self { by_name })
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<OidcProvider>> {
        self.by_name.get(name).cloned()
    }

    pub(crate) fn list(&self) -> Vec<(String, String)> {
        self.by_name
            .values()
            .map(|p| (p.settings.name.clone(), p.settings.display_name.clone()))
            .collect()
    }
}
