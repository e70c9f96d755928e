//! Persistence for SQLite (embedded, single node) and PostgreSQL (shared by several
//! nodes), through one set of SQL statements over sqlx's `Any` driver.
//!
//! Every sensitive value is sealed with `palisade-crypto` on its way in and opened on its
//! way out, so no caller can store plaintext by mistake. Audit entries are appended in
//! the same transaction as the change they record. Ticket writes demand an
//! [`palisade_policy::Authorized`] proof covering the ticket.

mod advisory_checks;
mod api_tokens;
mod article_files;
mod articles;
mod assignment;
mod assistant;
mod attachments;
mod audit;
mod audit_keys;
mod automation;
mod backlog;
mod bulk_tickets;
mod capabilities;
mod confirmations;
mod custom_fields;
mod customer_merge;
mod db;
mod erasure;
mod error;
mod events;
mod keys;
mod limits;
mod macros;
mod mailbox_routes;
mod master_rotation;
mod mfa;
mod migrate;
mod notifications;
mod oauth;
mod oidc;
mod originals;
mod outbox;
mod page;
mod people_search;
mod presence;
mod primary;
mod privacy;
mod readiness;
mod received;
mod retention;
mod retention_apply;
mod root_reindex;
mod root_rotation;
mod satisfaction;
mod saved_views;
mod search_merge;
mod service_levels;
mod sessions;
mod settings;
mod snapshot;
mod subject_access;
mod teams;
mod throttle;
mod ticket_lists;
mod ticket_merge;
mod ticket_search;
mod tickets;
mod users;
mod webhooks;

pub use advisory_checks::AdvisoryCheck;
pub use api_tokens::{ApiTokenRecord, NewApiToken};
pub use article_files::{ArticleFile, NewArticleFile};
pub use articles::{ArticleChange, ArticleDraft, ArticleRecord, ArticleVersion};
pub use assistant::{
    ConsentRecord, ConversationRecord, ConversationState, Exchange, NewConversation, TranscriptEntry,
    Verification,
};
pub use attachments::{AttachmentContent, AttachmentRecord, NewAttachment, ScanState, ScanWork};
pub use audit::HeadCheckpoint;
pub use automation::{RuleRecord, RuleRun, Waiting};
pub use backlog::{EventBacklog, OutboxBacklog, PoolStats, age_seconds};
pub use bulk_tickets::BulkTicket;
pub use capabilities::ReplyCapability;
pub use custom_fields::{FieldDefinition, FieldKind, FieldRecord};
pub use customer_merge::PeopleMerged;
pub use db::{AuditTap, Dialect, Store, Tx};
pub use erasure::{Erased, ErasureLog, ErasureRecord};
pub use error::StoreError;
pub use events::{DomainEventRecord, NewDomainEvent};
pub use limits::SecurityAlert;
pub use macros::{MacroAssignee, MacroContent, MacroRecord};
pub use master_rotation::{LEARN_EVERY_MS, MasterRotation};
pub use mfa::{PasskeyRecord, TotpRecord};
pub use migrate::schema_version;
pub use notifications::NotificationRecord;
pub use oauth::{
    NewOAuthCode, NewOAuthToken, OAuthClient, OAuthClientChange, OAuthCode, OAuthGrant, OAuthToken,
};
pub use oidc::OidcFlowRecord;
pub use outbox::{BOUNCE_ID_LEN, ClaimedMail, OutboxStatus};
pub use page::{CURSOR_PATTERN, Cursor, Page};
pub use primary::database_host;
pub use primary::{candidate_urls, primary_url};
pub use privacy::{HoldTarget, LegalHold, NewPrivacyRequest, PrivacyRequest, RequestState};
pub use readiness::Readiness;
pub use received::{QuarantineStatus, QuarantinedMail};
pub use retention::{
    AddressesDue, DueTicket, MAX_RETENTION_DAYS, RetentionDue, RetentionRun, RetentionSchedule,
    RetentionScope, TicketDisposal,
};
pub use retention_apply::{ANONYMISED_PERSON, RetentionDone};
pub use root_reindex::RootReindexed;
pub use root_rotation::RootRotation;
pub use satisfaction::{RatingFact, SatisfactionRecord};
pub use saved_views::{SavedFilter, SavedViewRecord};
pub use service_levels::{CalendarRecord, SlaPolicyRecord, SlaTimer, TicketTargetRecord};
pub use sessions::{NewSession, SessionRecord, SessionStage};
pub use snapshot::{
    HeldSnapshot, SealedSample, SnapshotFacts, create_database, drop_database, facts_at, is_empty_database,
};
pub use subject_access::{
    ExportConversation, ExportFile, ExportMessage, ExportSession, ExportTicket, FileWithheld,
    MAX_EXPORT_FILE_BYTES, SubjectAccess, TicketRelation,
};
pub use teams::{TeamRecord, TeamSettings};
pub use throttle::Reservation;
pub use ticket_lists::{AssigneeFilter, TargetFilter, TicketFilter, TicketSort};
pub use ticket_merge::MergeMoved;
pub use ticket_search::TicketSearch;
pub use tickets::{Including, MessageRecord, NewTicket, TicketRecord, TicketScope, TicketUpdate};
pub use users::{CompanyRecord, ERASED_DOMAIN, LiveSession, NewUser, ProfileUpdate, UserKind, UserRecord};
pub use webhooks::{
    ClaimedDelivery, DeliveryCounts, DeliveryOutcome, WebhookDelivery, WebhookEndpoint,
    WebhookEndpointChange, WebhookSecrets,
};
