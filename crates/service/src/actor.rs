use palisade_audit::AuditContext;
use palisade_core::Principal;

/// Where a use case was asked for: an attribute of its audit entry and domain event,
/// never a reason to apply other rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// The server-rendered pages (agent UI and customer portal).
    Web,
    /// The REST API.
    Api,
    /// Received mail.
    Mail,
    /// An assistant conversation handed to a person.
    Assistant,
    /// A quarantined message released by a reviewer.
    QuarantineRelease,
    /// A service-level escalation step, run by the desk itself.
    ServiceLevel,
    /// A trigger or automation, run by the desk itself.
    Automation,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Api => "api",
            Self::Mail => "mail",
            Self::Assistant => "assistant",
            Self::QuarantineRelease => "quarantine_release",
            Self::ServiceLevel => "service_level",
            Self::Automation => "automation",
        }
    }
}

/// Who asks, for the decision and the audit trail, and through which channel.
#[derive(Clone, Debug)]
pub struct Actor {
    pub principal: Principal,
    pub audit: AuditContext,
    pub channel: Channel,
}
