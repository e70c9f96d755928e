//! Palisade's domain vocabulary: identifiers, roles, principals, validated values
//! (email addresses, ticket states) and secret wrappers. No I/O lives here, so every
//! other crate can depend on it without pulling in a runtime.

mod error;
mod ids;
mod mail;
mod network;
mod principal;
mod secret;
mod time;
mod values;

pub use error::CoreError;
pub use ids::{
    ArticleFileId, ArticleId, AttachmentId, AuditSeq, CalendarId, CeremonyId, CompanyId, ConversationId,
    CustomFieldId, LegalHoldId, MacroId, MessageId, NotificationId, OutboxId, PasskeyId, PrivacyRequestId,
    RuleId, SessionId, SlaPolicyId, TeamId, TicketId, UserId, ViewId, WebhookDeliveryId, WebhookEndpointId,
    unique_name,
};
pub use mail::{OutgoingFile, OutgoingMail};
pub use network::{is_truncated, source_network, truncate_ip};
pub use principal::{Principal, Role, Scope};
pub use secret::{SecretBytes, SecretString};
pub use time::{Clock, ManualClock, SystemClock, UnixMillis};
pub use values::{
    Audience, EmailAddress, Priority, TagName, TicketStatus, TicketType, Visibility, is_invisible,
    valid_locale,
};
