//! The register of outside parties: every service beyond this desk's own servers that
//! the running configuration sends personal data to, with what each receives. It is
//! the operator's record of processing and third-party risk list, derived from the
//! configuration, and from the webhook endpoints administrators registered, so it
//! cannot drift from what the desk actually does (docs/PRIVACY.md).

use serde::Serialize;

/// What kind of service an outside party is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// The SMTP relay outgoing mail leaves through (`[mail]`).
    MailRelay,
    /// A hosted mailbox incoming mail is fetched from (`[[imap]]`).
    Mailbox,
    /// An OpenID Connect provider staff sign in with (`[[oidc]]`).
    IdentityProvider,
    /// The language model the assistant asks (`[assistant.model]`).
    LanguageModel,
    /// The malware scanner files are sent to (`[scan]`).
    VirusScanner,
    /// The syslog collector audit entries are exported to (`[siem]`).
    Siem,
    /// A DNS resolver beyond this machine that mail checks ask (`[smtp] nameservers`).
    DnsResolver,
    /// The PostgreSQL server scheduled backups are decrypted into to be checked
    /// (`[backup] scratch_url`), when it is not the desk's own.
    BackupCheckDatabase,
    /// A webhook endpoint an administrator registered (`/admin/webhooks`): ticket
    /// events with what its account may read of the ticket and its messages.
    WebhookReceiver,
}

impl PartyKind {
    /// The message id naming it in the pages.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::MailRelay => "party-kind-mail-relay",
            Self::Mailbox => "party-kind-mailbox",
            Self::IdentityProvider => "party-kind-identity-provider",
            Self::LanguageModel => "party-kind-language-model",
            Self::VirusScanner => "party-kind-virus-scanner",
            Self::Siem => "party-kind-siem",
            Self::DnsResolver => "party-kind-dns-resolver",
            Self::BackupCheckDatabase => "party-kind-backup-check-database",
            Self::WebhookReceiver => "party-kind-webhook-receiver",
        }
    }
}

/// The categories of personal data a party receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Names and email addresses of customers and staff.
    ContactDetails,
    /// What customers and staff write: subjects and messages.
    MessageContent,
    /// Files attached to messages.
    Attachments,
    /// Who signs in, and when.
    SignInEvents,
    /// Questions asked of the assistant (after redaction) and help-centre excerpts.
    AssistantQuestions,
    /// Audit entries: account and session ids, actions, objects, times, IP addresses
    /// and browsers' user agents.
    AuditEvents,
    /// Senders' addresses and domains and their servers' IP addresses (what SPF,
    /// DKIM and DMARC checks look up).
    SenderLookups,
}

impl DataCategory {
    /// The message id naming it in the pages.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::ContactDetails => "data-contact-details",
            Self::MessageContent => "data-message-content",
            Self::Attachments => "data-attachments",
            Self::SignInEvents => "data-sign-in-events",
            Self::AssistantQuestions => "data-assistant-questions",
            Self::AuditEvents => "data-audit-events",
            Self::SenderLookups => "data-sender-lookups",
        }
    }
}

/// One outside party of the running configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutsideParty {
    pub kind: PartyKind,
    /// The configuration's name for it (a provider's name, a mailbox address), or its host.
    pub name: String,
    /// Where the desk reaches it: host and port, or URL.
    pub endpoint: String,
    pub receives: Vec<DataCategory>,
}

impl OutsideParty {
    /// A party of `kind` with the categories that kind always receives.
    pub fn new(kind: PartyKind, name: impl Into<String>, endpoint: impl Into<String>) -> Self {
        use DataCategory::*;
        let receives = match kind {
            PartyKind::MailRelay | PartyKind::Mailbox => vec![ContactDetails, MessageContent, Attachments],
            PartyKind::IdentityProvider => vec![ContactDetails, SignInEvents],
            PartyKind::LanguageModel => vec![AssistantQuestions],
            PartyKind::VirusScanner => vec![Attachments],
            PartyKind::Siem => vec![AuditEvents],
            PartyKind::DnsResolver => vec![SenderLookups],
            PartyKind::BackupCheckDatabase => vec![ContactDetails, MessageContent, Attachments, AuditEvents],
            PartyKind::WebhookReceiver => vec![MessageContent],
        };
        Self {
            kind,
            name: name.into(),
            endpoint: endpoint.into(),
            receives,
        }
    }
}
