//! The web's doorway to the use cases of `palisade-service`: the API and the pages call
//! these, which turn the caller into an [`Actor`], call the use case, and map its
//! answer (errors to [`AppError`], redaction kinds to `assist`'s names). No rule lives
//! here.

use std::sync::Arc;

use palisade_assist::RedactionKind;
use palisade_core::{MessageId, TagName, TeamId, TicketStatus, UserId, Visibility};
use palisade_service::{Actor, Channel, Desk, OpenTicket, Redacted, Redactor};
use palisade_store::{Page, TicketRecord, TicketUpdate};

pub use palisade_service::{MAX_BODY_CHARS, TicketDetail};

use crate::{AppError, AppState, Caller, CredentialSource};

/// Rejects empty, oversized or control-character text (tabs and newlines allowed).
pub fn validate_text(field: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    Ok(palisade_service::validate_text(field, value, max_chars)?)
}

/// `assist`'s redactor, as the use cases ask for one.
struct AssistRedaction(Arc<palisade_assist::Redactor>);

impl Redactor for AssistRedaction {
    fn redact(&self, text: &str) -> Redacted {
        let redacted = self.0.redact(text);
        Redacted {
            text: redacted.text,
            found: redacted
                .found
                .into_iter()
                .map(|(kind, count)| (kind.as_str(), count))
                .collect(),
        }
    }
}

/// In `assist`'s order of kinds (what matters most first), as the API has always listed them.
fn kinds(found: Vec<(&'static str, usize)>) -> Vec<(RedactionKind, usize)> {
    let mut kinds: Vec<(RedactionKind, usize)> = found
        .into_iter()
        .filter_map(|(kind, count)| RedactionKind::parse(kind).map(|k| (k, count)))
        .collect();
    kinds.sort();
    kinds
}

impl Caller {
    /// The caller as the use cases know them: pages are the web channel, everything
    /// with a token the API.
    pub fn actor(&self) -> Actor {
        Actor {
            principal: self.principal.clone(),
            audit: self.audit(),
            channel: match self.source {
                CredentialSource::Cookie => Channel::Web,
                CredentialSource::Bearer | CredentialSource::ApiToken => Channel::Api,
                CredentialSource::SiteToken => Channel::Assistant,
            },
        }
    }
}

impl crate::state::AppParts {
    /// The use cases as this node runs them (kept by [`AppState`], built once).
    pub(crate) fn build_desk(&self) -> Desk {
        let desk = Desk::new(self.store.clone(), self.policy.clone());
        let desk = match &self.config.scanner {
            Some(scanner) => desk.with_scanner(scanner.clone()),
            None => desk,
        };
        desk.with_identity(self.identity.clone())
            .with_clock(self.config.clock.clone())
            .with_privacy(self.config.privacy.clone())
            .with_webhook_hosts(self.config.webhook_hosts.clone())
            .with_redactor(Arc::new(AssistRedaction(self.config.redactor.clone())))
            .with_reaction(Arc::new(crate::confirmation::AskRequester {
                store: self.store.clone(),
                public_origin: self.config.public_origin.clone(),
            }))
    }
}

impl AppState {
    /// The runtime settings as the configuration file (or the defaults) gives them.
    pub fn file_settings(&self) -> palisade_service::DeskSettings {
        let c = &self.config;
        palisade_service::DeskSettings {
            organisation_name: c.organisation_name.clone(),
            default_locale: c.default_locale.clone(),
            privacy_notice_url: c.privacy_notice_url.clone(),
            assistant_min_score: c.assistant.min_score,
            assistant_min_coverage: c.assistant.min_coverage,
            assistant_max_passages: c.assistant.max_passages,
            assistant_misses_before_handover: c.assistant.misses_before_handover,
        }
    }

    /// The runtime settings in force: the file's, with what an administrator set from
    /// the web on top (read afresh, so a change applies at once on every node).
    pub async fn settings(&self) -> Result<palisade_service::DeskSettings, AppError> {
        Ok(self.desk().effective_settings(&self.file_settings()).await?)
    }

    /// The organisation's name for a page that must render regardless (the sign-in
    /// page): when the settings cannot be read, the file's, and the log says why.
    pub async fn organisation_name(&self) -> String {
        match self.settings().await {
            Ok(settings) => settings.organisation_name,
            Err(e) => {
                tracing::warn!(error = %e, "runtime settings unreadable; using the file's organisation name");
                self.config.organisation_name.clone()
            }
        }
    }

    /// The use cases, with this server's redactor and the requester-confirmation mail
    /// (ticket mail follows the domain events: `palisade_service::Dispatcher`).
    pub async fn default_team(&self) -> Result<TeamId, AppError> {
        Ok(self.desk().default_team().await?)
    }

    /// Opens a ticket; also returns what redaction removed from subject and body.
    pub async fn create_ticket(
        &self,
        caller: &Caller,
        input: OpenTicket,
    ) -> Result<(TicketRecord, Vec<(RedactionKind, usize)>), AppError> {
        let opened = self.desk().open_ticket(&caller.actor(), input).await?;
        Ok((opened.ticket, kinds(opened.redacted)))
    }

    pub async fn list_tickets(
        &self,
        caller: &Caller,
        status: Option<TicketStatus>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<TicketRecord>, AppError> {
        Ok(self
            .desk()
            .list_tickets(&caller.actor(), status, cursor, limit)
            .await?)
    }

    pub async fn search_tickets(
        &self,
        caller: &Caller,
        query: &str,
        limit: u32,
    ) -> Result<Vec<TicketRecord>, AppError> {
        // Each search reads and decrypts candidate tickets: bounded per account, so a
        // script cannot sweep the desk through it (or slow it for everyone).
        self.enforce(
            &self.config.public_limits.ticket_searches,
            &crate::limits::subject(Some(caller), &caller.meta),
            &caller.meta,
        )
        .await?;
        Ok(self.desk().search_tickets(&caller.actor(), query, limit).await?)
    }

    /// Customers by the words of their name or address, under the same per-account
    /// bound as the ticket search (each search opens the accounts it finds).
    pub async fn find_customers(
        &self,
        caller: &Caller,
        query: &str,
        limit: u32,
    ) -> Result<Vec<palisade_store::UserRecord>, AppError> {
        self.enforce(
            &self.config.public_limits.ticket_searches,
            &crate::limits::subject(Some(caller), &caller.meta),
            &caller.meta,
        )
        .await?;
        Ok(self
            .desk()
            .find_people(&caller.actor(), palisade_store::UserKind::Customers, query, limit)
            .await?)
    }

    pub async fn ticket_detail(&self, caller: &Caller, raw_id: &str) -> Result<TicketDetail, AppError> {
        Ok(self.desk().ticket_detail(&caller.actor(), raw_id).await?)
    }

    pub async fn add_message(
        &self,
        caller: &Caller,
        raw_id: &str,
        body: &str,
        visibility: Visibility,
        sending: &palisade_service::Sending,
    ) -> Result<(MessageId, Vec<(RedactionKind, usize)>), AppError> {
        let (id, found) = self
            .desk()
            .add_message_with(&caller.actor(), raw_id, body, visibility, sending)
            .await?;
        Ok((id, kinds(found)))
    }

    pub async fn update_ticket(
        &self,
        caller: &Caller,
        raw_id: &str,
        update: TicketUpdate,
        based_on: Option<i64>,
    ) -> Result<TicketRecord, AppError> {
        Ok(self
            .desk()
            .update_ticket(&caller.actor(), raw_id, update, based_on)
            .await?)
    }

    pub async fn set_tags(
        &self,
        caller: &Caller,
        raw_id: &str,
        tags: Vec<TagName>,
    ) -> Result<TicketRecord, AppError> {
        Ok(self.desk().set_tags(&caller.actor(), raw_id, tags).await?)
    }

    /// Adds (`present`) or removes a customer as collaborator.
    pub async fn set_collaborator(
        &self,
        caller: &Caller,
        raw_id: &str,
        user: &UserId,
        present: bool,
    ) -> Result<TicketRecord, AppError> {
        Ok(self
            .desk()
            .set_collaborator(&caller.actor(), raw_id, user, present)
            .await?)
    }
}

/// When the assistant counts an article as an answer, as `settings` say.
pub(crate) fn thresholds_of(s: &palisade_service::DeskSettings) -> palisade_assist::assistant::Thresholds {
    palisade_assist::assistant::Thresholds {
        min_score: s.assistant_min_score,
        min_coverage: s.assistant_min_coverage,
        max_passages: s.assistant_max_passages,
        misses_before_handover: s.assistant_misses_before_handover,
    }
}
