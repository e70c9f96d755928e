use std::sync::Arc;

use palisade_identity::Identity;
use palisade_policy::PolicyEngine;
use palisade_store::Store;

/// Settings the web layer needs; built by the binary from its configuration.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The public origin (`https://host:port`), for same-origin checks and links.
    pub public_origin: String,
    pub max_json_bytes: usize,
    pub max_attachment_bytes: usize,
    /// Applied to every ticket subject and message written through the web and API,
    /// before anything is stored, indexed, audited or mailed.
    pub redactor: std::sync::Arc<palisade_assist::Redactor>,
    /// Whose forwarding headers are believed; nobody's by default.
    pub trusted_proxies: crate::TrustedProxies,
    /// Shown in the help centre and on the sign-in page until an administrator sets it
    /// (`/admin/settings`).
    pub organisation_name: String,
    /// The help centre's locale when a visitor names none.
    pub default_locale: String,
    /// When the assistant counts an article as an answer.
    pub assistant: palisade_assist::assistant::Thresholds,
    /// Linked from the notice before every conversation.
    pub privacy_notice_url: String,
    /// Limits on the help centre and the assistant, shared by all nodes.
    pub public_limits: crate::PublicLimits,
    /// The optional language model; `None` (the default) answers from articles only.
    pub model: Option<crate::AssistantModel>,
    /// Verifies the tokens the organisation's site issues for its signed-in users, for
    /// verified conversations in the widget; `None`: the widget is anonymous only.
    pub site_tokens: Option<Arc<palisade_assist::SiteTokenVerifier>>,
    /// Origins (`https://www.example.com`) whose pages may embed the assistant widget.
    pub widget_origins: Vec<String>,
    /// When a source's refused or missing requests count as an anomaly.
    pub anomaly: crate::DetectorConfig,
    /// Redact mail that becomes a ticket (`[smtp] redact`), released quarantine included.
    pub redact_mail: bool,
    /// The files a received message may carry (`[smtp]`), read again on release.
    pub mail_file_limits: palisade_mail::FileLimits,
    /// Malware scanning of every file; `None` serves files unscanned (marked so).
    pub scanner: Option<palisade_scan::Scanner>,
    /// How long one notification stream lasts before the browser reconnects (and is
    /// authenticated afresh, so a signed-out session stops hearing within it).
    pub notification_stream: std::time::Duration,
    /// On a database without staff: the one link that creates the first administrator.
    pub first_run: Option<Arc<crate::FirstRunLink>>,
    /// "Now" for what depends on it (breached targets); tests move their own.
    pub clock: Arc<dyn palisade_core::Clock>,
    /// The support addresses (`[[mailbox]]`) and the team each delivers to, by name:
    /// shown on the Teams page. They stay in the file, beside the DNS records and the
    /// listener they need.
    pub team_mailboxes: Vec<(String, String)>,
    /// This node's metrics, counted when `[metrics]` is on.
    pub metrics: Option<palisade_metrics::Metrics>,
    /// Who outside this desk receives personal data, from the configuration
    /// (`palisade_service::OutsideParty`); shown on the operations page.
    pub outside_parties: Vec<palisade_service::OutsideParty>,
    /// Four eyes, deadlines and the erasure ledger (`[privacy]`).
    pub privacy: palisade_service::PrivacyRules,
    /// Where webhooks may go besides public https destinations (`[webhooks]`).
    pub webhook_hosts: palisade_service::WebhookHosts,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_origin: "https://localhost:8443".into(),
            // Every request the API document allows fits: the largest text field
            // (50,000 characters) written as JSON escapes of astral characters (12
            // bytes each) is 600 KB.
            max_json_bytes: 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            redactor: std::sync::Arc::new(palisade_assist::Redactor::default()),
            trusted_proxies: crate::TrustedProxies::default(),
            organisation_name: "Support".into(),
            default_locale: "en".into(),
            assistant: palisade_assist::assistant::Thresholds::default(),
            privacy_notice_url: "/help/en/privacy-notice".into(),
            public_limits: crate::PublicLimits::default(),
            model: None,
            site_tokens: None,
            widget_origins: Vec::new(),
            team_mailboxes: Vec::new(),
            metrics: None,
            outside_parties: Vec::new(),
            privacy: palisade_service::PrivacyRules::default(),
            webhook_hosts: palisade_service::WebhookHosts::default(),
            anomaly: crate::DetectorConfig::default(),
            redact_mail: false,
            mail_file_limits: palisade_mail::FileLimits::default(),
            scanner: None,
            notification_stream: std::time::Duration::from_secs(60),
            first_run: None,
            clock: std::sync::Arc::new(palisade_core::SystemClock),
        }
    }
}

/// What every handler shares, behind one reference count: a request clones this
/// several times (middleware, extractors), and cloning each part was measurable.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    parts: AppParts,
    /// Built once from the parts, not per request.
    desk: palisade_service::Desk,
    /// This node's reservations of the shared limits.
    allowances: crate::allowance::Allowances,
    /// The last readiness answer, reused for a moment (see `health`).
    readiness: crate::health::ReadinessCache,
}

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        let desk = parts.build_desk();
        Self(Arc::new(Shared {
            parts,
            desk,
            allowances: Default::default(),
            readiness: Default::default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0.parts
    }
}

impl AppState {
    /// The use cases, with this node's scanner, identity, clock and redaction.
    pub fn desk(&self) -> &palisade_service::Desk {
        &self.0.desk
    }

    pub(crate) fn readiness_cache(&self) -> &crate::health::ReadinessCache {
        &self.0.readiness
    }

    /// This node's reservations of the shared limits (see `allowance`).
    pub(crate) fn allowances(&self) -> &crate::allowance::Allowances {
        &self.0.allowances
    }

    /// A new state from these parts changed by `adjust` (the desk rebuilt to match).
    pub fn with_parts(&self, adjust: impl FnOnce(&mut AppParts)) -> AppState {
        let mut parts = self.0.parts.clone();
        adjust(&mut parts);
        parts.into()
    }
}

#[derive(Clone)]
pub struct AppParts {
    pub store: Store,
    pub identity: Identity,
    pub policy: Arc<PolicyEngine>,
    pub config: Arc<WebConfig>,
    /// Articles and their search index.
    pub help: palisade_assist::HelpCentre,
    /// Rolling baselines of refused and missing requests (per node).
    pub anomaly: crate::SharedDetector,
}
