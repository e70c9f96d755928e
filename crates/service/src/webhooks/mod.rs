//! Signed webhooks (Standard Webhooks): administrators register endpoints for some of
//! the domain events, for one team's tickets or all, each running as a staff account
//! whose rights bound what its payloads hold. The [`WebhookQueue`] subscriber queues a
//! delivery per event and endpoint in the event's order; the [`WebhookSender`] posts
//! them, signed, through the SSRF-safe outbound client, retrying with back-off.

mod payload;
mod queue;
mod sender;

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{TeamId, UnixMillis, UserId, WebhookDeliveryId, WebhookEndpointId};
use palisade_crypto::WebhookSecret;
use palisade_policy::{Action, Resource};
use palisade_store::{DeliveryCounts, WebhookDelivery, WebhookEndpoint, WebhookEndpointChange};
use serde_json::json;

pub use queue::WebhookQueue;
pub use sender::{RETRY_AFTER_SECS, WebhookSender};

use crate::{Actor, Desk, ServiceError};

/// The events an endpoint may ask for: changes to tickets, never account events (a
/// sign-in is nobody's integration's business).
pub const WEBHOOK_EVENT_TYPES: [&str; 10] = [
    "ticket.created",
    "message.added",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.team_changed",
    "ticket.classified",
    "ticket.tags_changed",
    "ticket.fields_changed",
    "ticket.merged",
    "ticket.rated",
];

/// How long the secret a rotation replaced keeps signing beside the new one.
pub const SECRET_OVERLAP_MS: i64 = 24 * 3_600_000;
pub const MAX_WEBHOOK_NAME_CHARS: usize = 100;
pub const MAX_WEBHOOK_URL_CHARS: usize = 2000;
/// Deliveries an endpoint's page lists.
pub const RECENT_DELIVERIES: i64 = 50;

/// An endpoint as an administrator describes it.
#[derive(Clone, Debug)]
pub struct EndpointRequest {
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub team: Option<String>,
    /// The staff account whose rights bound the payloads.
    pub run_as: String,
    pub enabled: bool,
}

/// A registered endpoint with how its deliveries stand.
#[derive(Clone, Debug)]
pub struct EndpointOverview {
    pub endpoint: WebhookEndpoint,
    pub counts: DeliveryCounts,
}

/// Hosts a webhook may be sent to although they are not public (or over plain HTTP,
/// when they are loopback): the operator's `[webhooks] allow_hosts`.
#[derive(Clone, Debug, Default)]
pub struct WebhookHosts(pub Vec<String>);

impl WebhookHosts {
    fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Whether `url` may be registered: https to a name or public address, or to an
    /// allowed host (plain http only there, and only on loopback). Names are judged
    /// again, on what they resolve to, at every delivery.
    pub fn acceptable(&self, url: &str) -> bool {
        let Ok(uri) = url.parse::<http::Uri>() else {
            return false;
        };
        let Some(host) = uri.host() else { return false };
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return false;
        }
        let allowed = self.allows(bare);
        let literal = bare.parse::<std::net::IpAddr>().ok();
        let internal_literal = literal.is_some_and(|ip| !palisade_outbound::is_public_address(ip));
        // Other names are judged on what they resolve to, at every delivery.
        let local_name = bare.eq_ignore_ascii_case("localhost");
        match uri.scheme_str() {
            Some("https") => allowed || !(internal_literal || local_name),
            Some("http") => allowed && palisade_outbound::acceptable_url(url),
            _ => false,
        }
    }
}

impl Desk {
    pub fn with_webhook_hosts(mut self, hosts: WebhookHosts) -> Self {
        self.webhook_hosts = std::sync::Arc::new(hosts);
        self
    }

    pub async fn webhook_endpoints(&self, actor: &Actor) -> Result<Vec<EndpointOverview>, ServiceError> {
        self.authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let mut listed = Vec::new();
        for endpoint in self.store.webhook_endpoints().await? {
            let counts = self.store.webhook_delivery_counts(&endpoint.id).await?;
            listed.push(EndpointOverview { endpoint, counts });
        }
        Ok(listed)
    }

    /// The register of outside parties as it stands: the configuration's, and every
    /// enabled webhook endpoint (where the desk sends ticket content now).
    pub async fn outside_parties(
        &self,
        actor: &Actor,
        configured: &[crate::OutsideParty],
    ) -> Result<Vec<crate::OutsideParty>, ServiceError> {
        self.authorize(actor, Action::ReadAlerts, &Resource::AuditTrail)
            .await?;
        let mut parties = configured.to_vec();
        for endpoint in self.store.webhook_endpoints().await? {
            if endpoint.enabled {
                let origin = palisade_outbound::origin_of(&endpoint.url).unwrap_or_default();
                parties.push(crate::OutsideParty::new(
                    crate::PartyKind::WebhookReceiver,
                    endpoint.name,
                    origin,
                ));
            }
        }
        Ok(parties)
    }

    /// One endpoint with its newest deliveries.
    pub async fn webhook_endpoint(
        &self,
        actor: &Actor,
        raw_id: &str,
    ) -> Result<(EndpointOverview, Vec<WebhookDelivery>), ServiceError> {
        self.authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let id = WebhookEndpointId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let endpoint = self.store.webhook_endpoint(&id).await?;
        let counts = self.store.webhook_delivery_counts(&id).await?;
        let deliveries = self.store.webhook_deliveries(&id, RECENT_DELIVERIES).await?;
        Ok((EndpointOverview { endpoint, counts }, deliveries))
    }

    /// Registers an endpoint; its signing secret is returned this once.
    pub async fn create_webhook_endpoint(
        &self,
        actor: &Actor,
        request: &EndpointRequest,
    ) -> Result<(WebhookEndpoint, WebhookSecret), ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let change = self.checked_endpoint(request).await?;
        let secret = WebhookSecret::generate().map_err(|e| ServiceError::Reaction(e.to_string()))?;
        let mut tx = self.store.begin().await?;
        let id = self
            .store
            .create_webhook_endpoint(
                &mut tx,
                &proof,
                &actor.principal.user_id,
                &change,
                secret.expose().as_bytes(),
            )
            .await?;
        let event = AuditEvent::new(
            AuditAction::WebhookEndpointCreated,
            id.to_string(),
            Outcome::Success,
        )
        .with_detail(endpoint_detail(&change));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok((self.store.webhook_endpoint(&id).await?, secret))
    }

    pub async fn update_webhook_endpoint(
        &self,
        actor: &Actor,
        raw_id: &str,
        request: &EndpointRequest,
    ) -> Result<WebhookEndpoint, ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let id = WebhookEndpointId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let change = self.checked_endpoint(request).await?;
        let mut tx = self.store.begin().await?;
        self.store
            .update_webhook_endpoint(&mut tx, &proof, &id, &change)
            .await?;
        let event = AuditEvent::new(
            AuditAction::WebhookEndpointChanged,
            id.to_string(),
            Outcome::Success,
        )
        .with_detail(endpoint_detail(&change));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(self.store.webhook_endpoint(&id).await?)
    }

    /// Replaces the signing secret; the old one signs beside it for a day.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        raw_id: &str,
    ) -> Result<(WebhookEndpoint, WebhookSecret), ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let id = WebhookEndpointId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let secret = WebhookSecret::generate().map_err(|e| ServiceError::Reaction(e.to_string()))?;
        let until = UnixMillis(self.now() + SECRET_OVERLAP_MS);
        let mut tx = self.store.begin().await?;
        self.store
            .rotate_webhook_secret(&mut tx, &proof, &id, secret.expose().as_bytes(), until)
            .await?;
        let event = AuditEvent::new(
            AuditAction::WebhookSecretRotated,
            id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({ "previous_until": until.0 }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok((self.store.webhook_endpoint(&id).await?, secret))
    }

    pub async fn delete_webhook_endpoint(&self, actor: &Actor, raw_id: &str) -> Result<(), ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let id = WebhookEndpointId::parse(raw_id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        self.store.delete_webhook_endpoint(&mut tx, &proof, &id).await?;
        let event = AuditEvent::new(
            AuditAction::WebhookEndpointDeleted,
            id.to_string(),
            Outcome::Success,
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a delivery that ended (given up, skipped, or delivered) once more.
    pub async fn redeliver_webhook(
        &self,
        actor: &Actor,
        raw_endpoint: &str,
        raw_delivery: &str,
    ) -> Result<(), ServiceError> {
        let proof = self
            .authorize(actor, Action::ManageIntegrations, &Resource::Directory)
            .await?;
        let endpoint = WebhookEndpointId::parse(raw_endpoint).map_err(|_| ServiceError::NotFound)?;
        let delivery = WebhookDeliveryId::parse(raw_delivery).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        self.store
            .redeliver_webhook(&mut tx, &proof, &endpoint, &delivery)
            .await?;
        let event = AuditEvent::new(
            AuditAction::WebhookRedelivered,
            delivery.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({ "endpoint": endpoint.to_string() }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The request checked against the limits, the allowed destinations and the
    /// directory: a team that does not exist, or an account that is not active staff,
    /// is not found.
    async fn checked_endpoint(
        &self,
        request: &EndpointRequest,
    ) -> Result<WebhookEndpointChange, ServiceError> {
        let name = request.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_WEBHOOK_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(ServiceError::invalid("refusal-webhook-name"));
        }
        let url = request.url.trim();
        if url.len() > MAX_WEBHOOK_URL_CHARS || !self.webhook_hosts.acceptable(url) {
            return Err(ServiceError::invalid("refusal-webhook-url"));
        }
        let mut event_types: Vec<String> = Vec::new();
        for kind in &request.event_types {
            let known = WEBHOOK_EVENT_TYPES
                .iter()
                .find(|k| **k == kind.as_str())
                .ok_or_else(|| ServiceError::invalid("refusal-webhook-events"))?;
            if !event_types.iter().any(|k| k == known) {
                event_types.push((*known).to_owned());
            }
        }
        if event_types.is_empty() {
            return Err(ServiceError::invalid("refusal-webhook-events"));
        }
        let team = match request.team.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(raw) => {
                let team = TeamId::parse(raw).map_err(|_| ServiceError::NotFound)?;
                if !self.store.list_teams().await?.iter().any(|t| t.id == team) {
                    return Err(ServiceError::NotFound);
                }
                Some(team)
            }
        };
        // Anyone but an active staff member is no account a webhook can run as: not found,
        // like one that does not exist.
        let run_as = UserId::parse(&request.run_as).map_err(|_| ServiceError::NotFound)?;
        match self.store.get_user(&run_as).await {
            Ok(user) if user.role.is_staff() && !user.disabled && !user.erased => {}
            Ok(_) | Err(palisade_store::StoreError::NotFound) => return Err(ServiceError::NotFound),
            Err(e) => return Err(e.into()),
        }
        Ok(WebhookEndpointChange {
            name: name.to_owned(),
            url: url.to_owned(),
            event_types,
            team,
            run_as,
            enabled: request.enabled,
        })
    }
}

/// What the audit trail keeps of an endpoint: where, what and as whom (the URL's
/// query, which may carry a receiver's token, is left out).
fn endpoint_detail(change: &WebhookEndpointChange) -> serde_json::Value {
    let url = change.url.split('?').next().unwrap_or_default();
    json!({
        "name": change.name,
        "url": url,
        "event_types": change.event_types,
        "team": change.team.as_ref().map(|t| t.to_string()),
        "run_as": change.run_as.to_string(),
        "enabled": change.enabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_https_unless_the_operator_allowed_a_host() {
        let none = WebhookHosts::default();
        assert!(none.acceptable("https://hooks.example.com/palisade"));
        assert!(none.acceptable("https://93.184.216.34/x"));
        for refused in [
            "http://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://10.0.0.8/x",
            "https://localhost/x",
            "http://127.0.0.1:9000/x",
            "https://user:pass@hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "hooks.example.com",
            "not a url",
        ] {
            assert!(!none.acceptable(refused), "{refused}");
        }
        let tests = WebhookHosts(vec!["127.0.0.1".into()]);
        assert!(tests.acceptable("http://127.0.0.1:9000/x"));
        assert!(tests.acceptable("https://127.0.0.1:9000/x"));
        assert!(!tests.acceptable("http://localhost:9000/x"));
        assert!(!tests.acceptable("https://169.254.169.254/x"));
        // An allowed name that is not loopback still needs https.
        let intranet = WebhookHosts(vec!["crm.intranet".into()]);
        assert!(intranet.acceptable("https://crm.intranet/x"));
        assert!(!intranet.acceptable("http://crm.intranet/x"));
    }
}
