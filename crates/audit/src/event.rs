use serde::{Deserialize, Serialize};

/// What happened. A closed set, so every audited operation is named in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    SignIn,
    SignOut,
    AccountLocked,
    SessionEnded,
    ApiTokenCreated,
    ApiTokenRevoked,
    AccountDisabled,
    /// A duplicate customer account merged into another.
    CustomersMerged,
    PasswordRehashed,
    SetupLinkIssued,
    SetupCompleted,
    AccessDenied,
    TicketCreated,
    TicketUpdated,
    TicketMerged,
    TicketLinked,
    TicketUnlinked,
    TicketFieldsChanged,
    CustomFieldCreated,
    CustomFieldUpdated,
    CustomFieldArchived,
    MessageAdded,
    AttachmentAdded,
    /// The malware scanner judged a file (clean or infected).
    AttachmentScanned,
    CollaboratorAdded,
    CollaboratorRemoved,
    TagsChanged,
    UserCreated,
    UserUpdated,
    /// A staff member's role changed.
    RoleChanged,
    TeamCreated,
    /// A team's settings changed (secure delivery of replies).
    TeamUpdated,
    TeamMemberAdded,
    TeamMemberRemoved,
    MailboxRouted,
    CalendarSaved,
    CalendarDeleted,
    SlaPolicySaved,
    SlaPolicyDeleted,
    SlaEscalated,
    RuleSaved,
    RuleDeleted,
    RuleRan,
    AvailabilityChanged,
    TicketRated,
    MacroCreated,
    MacroUpdated,
    MacroDeleted,
    MacroApplied,
    ViewSaved,
    ViewDeleted,
    CompanyCreated,
    CompanySharingChanged,
    SettingsChanged,
    AuditRead,
    CheckpointSigned,
    MfaChallenge,
    MfaFailed,
    MfaEnrolled,
    MfaRemoved,
    RecoveryCodesIssued,
    RecoveryCodeUsed,
    StepUp,
    PasswordChanged,
    SsoLinked,
    ApiTokenThrottled,
    PasswordResetRequested,
    MailReceived,
    QuarantineReleased,
    QuarantineDiscarded,
    RequesterConfirmed,
    MailBounced,
    ArticleCreated,
    ArticleFileAdded,
    ArticleRevised,
    ArticlePublished,
    ArticleWithdrawn,
    SecurityAlert,
    ConversationEnded,
    PiiUnmasked,
    /// A scheduled backup was written and verified.
    BackupCreated,
    /// The compiled-in dependencies were checked against an advisory database.
    AdvisoriesChecked,
    /// This database was restored from a backup (the first entry after the backup's).
    BackupRestored,
    /// A master-key rotation began: data keys are being re-wrapped under a new key.
    MasterKeyRotationStarted,
    /// Every data key is wrapped under the new master key; the old one is retired.
    MasterKeyRotationFinished,
    /// A root rotation began: every node stops until it finishes.
    RootRotationStarted,
    /// Every derived value was rewritten under the new root, which retired the old.
    RootRotationFinished,
    /// A root rotation under way was abandoned before its rewrite.
    RootRotationAborted,
    /// Checkpoints are signed with a new key from this entry on; the old key's
    /// checkpoints before it still verify.
    SigningKeyRotated,
    /// Erasure of a person was asked for (and awaits a second person's approval when
    /// the desk requires one).
    ErasureRequested,
    /// A second person approved an erasure, or declined it.
    ErasureApproved,
    ErasureDeclined,
    /// A person's data key was destroyed and everything keyed to them deleted.
    PersonErased,
    /// An erasure the ledger holds was done again (after a restore of an older backup).
    ErasureReapplied,
    LegalHoldPlaced,
    LegalHoldReleased,
    /// Everything stored about a person was asked for (subject access).
    AccessRequested,
    /// Their export was built and waits for its download.
    AccessExportBuilt,
    /// A single-use download link to it was issued.
    AccessLinkIssued,
    /// It was downloaded (and deleted).
    AccessExportDelivered,
    /// A retention schedule was set, changed or removed.
    RetentionScheduleSet,
    RetentionScheduleRemoved,
    /// A run of the retention schedules began (by the schedule, or by hand).
    RetentionRunStarted,
    /// One batch of a run disposed of what was due (with counts and the tickets).
    RetentionApplied,
    /// A run finished, with its totals.
    RetentionRunFinished,
    /// A webhook endpoint was registered, changed (where, what, as whom, on or off)
    /// or removed.
    WebhookEndpointCreated,
    WebhookEndpointChanged,
    WebhookEndpointDeleted,
    /// Its signing secret was replaced (the old one signs on for the overlap).
    WebhookSecretRotated,
    /// A delivery that had ended was queued again by hand.
    WebhookRedelivered,
    /// An OAuth application was registered, changed, removed, or given a new secret.
    OAuthClientRegistered,
    OAuthClientChanged,
    OAuthClientDeleted,
    OAuthClientSecretRotated,
    /// A person allowed an application (the consent page), with the scopes.
    OAuthAuthorized,
    /// A grant was revoked: by its person, by an administrator, or because a refresh
    /// token or code was used twice (a copy is in someone else's hands).
    OAuthGrantRevoked,
    /// An application obtained a token as its own account (client credentials).
    OAuthClientCredentials,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "auth.sign_in",
            AuditAction::SignOut => "auth.sign_out",
            AuditAction::AccountLocked => "auth.account_locked",
            AuditAction::SessionEnded => "auth.session_ended",
            AuditAction::ApiTokenCreated => "auth.api_token_created",
            AuditAction::ApiTokenRevoked => "auth.api_token_revoked",
            AuditAction::AccountDisabled => "directory.user_disabled",
            AuditAction::CustomersMerged => "directory.customers_merged",
            AuditAction::PasswordRehashed => "auth.password_rehashed",
            AuditAction::SetupLinkIssued => "auth.setup_link_issued",
            AuditAction::SetupCompleted => "auth.setup_completed",
            AuditAction::AccessDenied => "access.denied",
            AuditAction::TicketCreated => "ticket.created",
            AuditAction::TicketUpdated => "ticket.updated",
            AuditAction::TicketMerged => "ticket.merged",
            AuditAction::TicketLinked => "ticket.linked",
            AuditAction::TicketUnlinked => "ticket.unlinked",
            AuditAction::TicketFieldsChanged => "ticket.fields_changed",
            AuditAction::CustomFieldCreated => "field.created",
            AuditAction::CustomFieldUpdated => "field.updated",
            AuditAction::CustomFieldArchived => "field.archived",
            AuditAction::MessageAdded => "ticket.message_added",
            AuditAction::AttachmentAdded => "ticket.attachment_added",
            AuditAction::AttachmentScanned => "ticket.attachment_scanned",
            AuditAction::CollaboratorAdded => "ticket.collaborator_added",
            AuditAction::CollaboratorRemoved => "ticket.collaborator_removed",
            AuditAction::TagsChanged => "ticket.tags_changed",
            AuditAction::UserCreated => "directory.user_created",
            AuditAction::UserUpdated => "directory.user_updated",
            AuditAction::RoleChanged => "directory.role_changed",
            AuditAction::TeamCreated => "directory.team_created",
            AuditAction::TeamUpdated => "directory.team_updated",
            AuditAction::TeamMemberAdded => "directory.team_member_added",
            AuditAction::TeamMemberRemoved => "directory.team_member_removed",
            AuditAction::MailboxRouted => "directory.mailbox_routed",
            AuditAction::CalendarSaved => "service_levels.calendar_saved",
            AuditAction::CalendarDeleted => "service_levels.calendar_deleted",
            AuditAction::SlaPolicySaved => "service_levels.policy_saved",
            AuditAction::SlaPolicyDeleted => "service_levels.policy_deleted",
            AuditAction::SlaEscalated => "service_levels.escalated",
            AuditAction::RuleSaved => "automation.rule_saved",
            AuditAction::RuleDeleted => "automation.rule_deleted",
            AuditAction::RuleRan => "automation.rule_ran",
            AuditAction::AvailabilityChanged => "account.availability_changed",
            AuditAction::TicketRated => "ticket.rated",
            AuditAction::MacroCreated => "macro.created",
            AuditAction::MacroUpdated => "macro.updated",
            AuditAction::MacroDeleted => "macro.deleted",
            AuditAction::MacroApplied => "macro.applied",
            AuditAction::ViewSaved => "view.saved",
            AuditAction::ViewDeleted => "view.deleted",
            AuditAction::CompanyCreated => "directory.company_created",
            AuditAction::CompanySharingChanged => "directory.company_sharing_changed",
            AuditAction::SettingsChanged => "directory.settings_changed",
            AuditAction::AuditRead => "audit.read",
            AuditAction::CheckpointSigned => "audit.checkpoint_signed",
            AuditAction::MfaChallenge => "auth.mfa_challenge",
            AuditAction::MfaFailed => "auth.mfa_failed",
            AuditAction::MfaEnrolled => "auth.mfa_enrolled",
            AuditAction::MfaRemoved => "auth.mfa_removed",
            AuditAction::RecoveryCodesIssued => "auth.recovery_codes_issued",
            AuditAction::RecoveryCodeUsed => "auth.recovery_code_used",
            AuditAction::StepUp => "auth.step_up",
            AuditAction::PasswordChanged => "auth.password_changed",
            AuditAction::SsoLinked => "auth.sso_linked",
            AuditAction::ApiTokenThrottled => "auth.api_token_throttled",
            AuditAction::PasswordResetRequested => "auth.password_reset_requested",
            AuditAction::MailReceived => "mail.received",
            AuditAction::QuarantineReleased => "mail.quarantine_released",
            AuditAction::QuarantineDiscarded => "mail.quarantine_discarded",
            AuditAction::RequesterConfirmed => "ticket.requester_confirmed",
            AuditAction::MailBounced => "mail.bounced",
            AuditAction::ArticleCreated => "help.article_created",
            AuditAction::ArticleFileAdded => "help.article_file_added",
            AuditAction::ArticleRevised => "help.article_revised",
            AuditAction::ArticlePublished => "help.article_published",
            AuditAction::ArticleWithdrawn => "help.article_withdrawn",
            AuditAction::SecurityAlert => "security.alert_raised",
            AuditAction::ConversationEnded => "assistant.conversation_ended",
            AuditAction::PiiUnmasked => "directory.pii_unmasked",
            AuditAction::BackupCreated => "operations.backup_created",
            AuditAction::AdvisoriesChecked => "operations.advisories_checked",
            AuditAction::BackupRestored => "operations.backup_restored",
            AuditAction::MasterKeyRotationStarted => "keys.master_rotation_started",
            AuditAction::MasterKeyRotationFinished => "keys.master_rotation_finished",
            AuditAction::RootRotationStarted => "keys.root_rotation_started",
            AuditAction::RootRotationFinished => "keys.root_rotation_finished",
            AuditAction::RootRotationAborted => "keys.root_rotation_aborted",
            AuditAction::SigningKeyRotated => "audit.signing_key_rotated",
            AuditAction::ErasureRequested => "privacy.erasure_requested",
            AuditAction::ErasureApproved => "privacy.erasure_approved",
            AuditAction::ErasureDeclined => "privacy.erasure_declined",
            AuditAction::PersonErased => "privacy.person_erased",
            AuditAction::ErasureReapplied => "privacy.erasure_reapplied",
            AuditAction::LegalHoldPlaced => "privacy.legal_hold_placed",
            AuditAction::LegalHoldReleased => "privacy.legal_hold_released",
            AuditAction::AccessRequested => "privacy.access_requested",
            AuditAction::AccessExportBuilt => "privacy.access_export_built",
            AuditAction::AccessLinkIssued => "privacy.access_link_issued",
            AuditAction::AccessExportDelivered => "privacy.access_export_delivered",
            AuditAction::RetentionScheduleSet => "privacy.retention_schedule_set",
            AuditAction::RetentionScheduleRemoved => "privacy.retention_schedule_removed",
            AuditAction::RetentionRunStarted => "privacy.retention_run_started",
            AuditAction::RetentionApplied => "privacy.retention_applied",
            AuditAction::RetentionRunFinished => "privacy.retention_run_finished",
            AuditAction::WebhookEndpointCreated => "integrations.webhook_created",
            AuditAction::WebhookEndpointChanged => "integrations.webhook_changed",
            AuditAction::WebhookEndpointDeleted => "integrations.webhook_deleted",
            AuditAction::WebhookSecretRotated => "integrations.webhook_secret_rotated",
            AuditAction::WebhookRedelivered => "integrations.webhook_redelivered",
            AuditAction::OAuthClientRegistered => "integrations.oauth_client_registered",
            AuditAction::OAuthClientChanged => "integrations.oauth_client_changed",
            AuditAction::OAuthClientDeleted => "integrations.oauth_client_deleted",
            AuditAction::OAuthClientSecretRotated => "integrations.oauth_client_secret_rotated",
            AuditAction::OAuthAuthorized => "integrations.oauth_authorized",
            AuditAction::OAuthGrantRevoked => "integrations.oauth_grant_revoked",
            AuditAction::OAuthClientCredentials => "integrations.oauth_client_credentials",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// Who and from where: filled by the web layer from the request.
#[derive(Clone, Debug, Default)]
pub struct AuditContext {
    /// A user id, or "anonymous" / "system".
    pub actor: String,
    pub ip: String,
    pub user_agent: String,
    pub session: String,
}

impl AuditContext {
    pub fn system() -> Self {
        Self {
            actor: "system".into(),
            ..Self::default()
        }
    }
}

/// One thing to record. `detail` is a small JSON object with ids and reasons, never
/// message content or personal data in clear.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub action: AuditAction,
    pub object: String,
    pub outcome: Outcome,
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(action: AuditAction, object: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            action,
            object: object.into(),
            outcome,
            detail: serde_json::Value::Null,
        }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}
