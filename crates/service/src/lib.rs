//! Palisade's use cases: the one home of every change to tickets (and, as they move
//! here, everything else) and of the reads that need a decision. Each use case
//! validates its input against one set of limits, begins the transaction, loads the
//! facts inside it, asks Cedar (through [`Desk::authorize`], which audits every
//! denial), writes, appends the audit entry, records the domain event and lets the
//! in-transaction [`Reaction`]s act on it, then commits. `web`, `mail`, `assist` and
//! `cli` are adapters: they parse and authenticate, call a use case and map its answer.

mod actor;
mod alerts;
mod articles;
mod attachments;
mod authz;
pub mod automation;
mod bulk;
mod conversations;
mod directory;
mod dispatch;
mod erasure;
mod error;
mod events;
mod fields;
mod files;
mod handover;
mod held;
mod keys;
mod language;
mod macros;
mod mail;
mod merging;
use merging::merged;
mod notices;
mod oauth_clients;
mod operations;
pub use erasure::{ErasureOutcome, MAX_PRIVACY_REASON_CHARS, PrivacyRules};
pub use keys::{
    RotationTarget, abort_root_rotation, min_root_settle, min_settle, rotate_master_key, rotate_root,
};
pub use operations::{BackupRecord, SCHEDULED_BACKUP_LEASE};
pub use palisade_store::ErasureLog;
pub use privacy::{DataCategory, OutsideParty, PartyKind};
pub use retention::{PREVIEW_TICKETS, RETENTION_BATCH, RETENTION_LEASE, ScheduleChange};
pub use subject_export::{EXPORT_LINK_SECS, EXPORT_SCHEMA, ExportLink};
mod notifications;
mod people;
mod people_merge;
mod presence;
mod privacy;
mod quarantine;
mod reading;
pub mod reports;
mod retention;
mod satisfaction;
mod scanning;
mod settings;
pub mod sla;
mod subject_export;
mod text;
mod tickets;
mod views;
mod webhooks;

use std::sync::Arc;

use palisade_policy::PolicyEngine;
use palisade_store::Store;

pub use actor::{Actor, Channel};
pub use alerts::ALERT_MAILS_PER_HOUR;
pub use articles::ArticleUpload;
pub use attachments::NewFile;
pub use bulk::{BulkChange, BulkOutcome, MAX_BULK_TICKETS};
pub use conversations::{StartConversation, StartedConversation};
pub use directory::{StaffEntry, TeamEntry};
pub use dispatch::{Dispatcher, Subscriber};
pub use error::{ServiceError, core_refusal};
pub use events::{Happened, Reaction, ReactionFuture};
pub use fields::{
    FIELD_KEY_PATTERN, FIELD_NUMBER_PATTERN, FieldValue, MAX_FIELD_LABEL_CHARS, MAX_FIELD_OPTIONS,
    MAX_FIELD_TEXT_CHARS, validate_definition, validate_value,
};
pub use files::{MailFile, PREVIEWABLE_TYPES, previewable, sniff_content_type};
pub use handover::HandoverTo;
pub use held::HeldMail;
pub use macros::{MACRO_PLACEHOLDERS, UsableMacro};
pub use mail::{LOOKALIKE_TAG, MailPlacement, RELEASED_TAG, Received, ReceivedMail, Released, ReleasedMail};
pub use notices::SecurityNotices;
pub use notifications::{
    AgentNotifications, Channel as NotificationChannel, MAIL_NOTIFICATION, Notification, NotificationKind,
};
pub use oauth_clients::{AppRequest, MAX_APP_NAME_CHARS, MAX_REDIRECT_URIS};
pub use palisade_i18n::{Arg, Refusal};
pub use people::{CreatedAccount, CustomerChange, NewCustomer, NewStaff};
pub use presence::Colleague;
pub use reading::reader_of;
pub use satisfaction::{MAX_RATING_COMMENT_CHARS, SURVEY_LINK_SECS};
pub use scanning::{Availability, ScanRound};
pub use settings::{DeskSettings, Setting, SettingEntry};
pub use text::{MAX_BODY_CHARS, MAX_SUBJECT_CHARS, Redacted, Redactor, validate_line, validate_text};
pub use tickets::{OpenTicket, Opened, Sending, TicketDetail};
pub use views::{BuiltInView, DUE_SOON_MS, UsableView, day_end, day_start};
pub use webhooks::{
    EndpointOverview, EndpointRequest, MAX_WEBHOOK_NAME_CHARS, MAX_WEBHOOK_URL_CHARS, RECENT_DELIVERIES,
    RETRY_AFTER_SECS, SECRET_OVERLAP_MS, WEBHOOK_EVENT_TYPES, WebhookHosts, WebhookQueue, WebhookSender,
};

/// The use cases, over one store and one policy engine.
#[derive(Clone)]
pub struct Desk {
    store: Store,
    policy: Arc<PolicyEngine>,
    redactor: Arc<dyn Redactor>,
    reactions: Vec<Arc<dyn Reaction>>,
    /// For use cases that create accounts (invitations and setup links).
    identity: Option<palisade_identity::Identity>,
    /// Malware scanning of files; `None` when the operator turned it off.
    scanner: Option<palisade_scan::Scanner>,
    /// "Now" for decisions that depend on it (which targets are breached).
    clock: Arc<dyn palisade_core::Clock>,
    /// How privacy requests are answered (four eyes, deadline, the erasure ledger).
    privacy: erasure::PrivacyRules,
    /// Where webhooks may go besides public https destinations.
    webhook_hosts: Arc<webhooks::WebhookHosts>,
}

/// Keeps text as written: for channels whose text the adapter already treated (mail,
/// where redaction is the operator's choice) and for tests about other things.
struct Verbatim;

impl Redactor for Verbatim {
    fn redact(&self, text: &str) -> Redacted {
        Redacted {
            text: text.to_owned(),
            found: Vec::new(),
        }
    }
}

impl Desk {
    /// The use cases over `store` and `policy`. Text people type is kept as written
    /// until a redactor is given ([`Desk::with_redactor`]; the web always gives one).
    pub fn new(store: Store, policy: Arc<PolicyEngine>) -> Self {
        Self {
            store,
            policy,
            redactor: Arc::new(Verbatim),
            reactions: Vec::new(),
            identity: None,
            scanner: None,
            clock: Arc::new(palisade_core::SystemClock),
            privacy: erasure::PrivacyRules::default(),
            webhook_hosts: Arc::new(webhooks::WebhookHosts::default()),
        }
    }

    /// Takes "now" from `clock` (tests move one by hand).
    pub fn with_clock(mut self, clock: Arc<dyn palisade_core::Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now().0
    }

    /// "Now" as the desk's decisions see it (ms), for adapters that default to it.
    pub fn clock_now(&self) -> i64 {
        self.now()
    }

    /// Removes what customers must never send from ticket text before it is stored.
    pub fn with_redactor(mut self, redactor: Arc<dyn Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Adds something that acts on every change inside its transaction (ticket mail).
    pub fn with_reaction(mut self, reaction: Arc<dyn Reaction>) -> Self {
        self.reactions.push(reaction);
        self
    }

    /// Accounts are created with `identity`'s invitations and setup links.
    pub fn with_identity(mut self, identity: palisade_identity::Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    fn identity(&self) -> Result<&palisade_identity::Identity, ServiceError> {
        self.identity.as_ref().ok_or_else(|| {
            ServiceError::Reaction("accounts cannot be created here: no identity service".into())
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policy(&self) -> &PolicyEngine {
        &self.policy
    }
}
