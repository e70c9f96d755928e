//! Operations shared by the API and the UI, so both paths authorise, validate and audit
//! identically. Each function authorises through [`AppState::authorize`] before it
//! touches the store, and writes its audit entry in the same transaction as the change.

use palisade_assist::RedactionKind;
use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{MessageId, Role, TagName, TeamId, TicketId, TicketStatus, UserId, Visibility};
use palisade_policy::{Action, Resource, TicketFacts};
use palisade_store::{Cursor, MessageRecord, NewTicket, Page, TicketRecord, TicketUpdate};
use serde_json::json;

use crate::{AppError, AppState, Caller};

pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 50_000;

/// Rejects empty, oversized or control-character text (tabs and newlines allowed).
pub fn validate_text(field: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AppError::BadRequest(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max_chars {
        return Err(AppError::BadRequest(format!(
            "{field} is longer than {max_chars} characters"
        )));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::BadRequest(format!(
            "{field} contains control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

pub struct CreateTicketInput {
    pub subject: String,
    pub body: String,
    /// Staff open tickets on a customer's behalf; customers always open their own.
    pub requester: Option<UserId>,
    pub team: Option<TeamId>,
}

pub struct TicketDetail {
    pub ticket: TicketRecord,
    pub messages: Vec<MessageRecord>,
    pub attachments: Vec<palisade_store::AttachmentRecord>,
    pub shows_internal: bool,
}

impl AppState {
    pub async fn default_team(&self) -> Result<TeamId, AppError> {
        let teams = self.store.list_teams().await?;
        let oldest = teams.into_iter().min_by_key(|t| (t.created_at, t.id.clone()));
        oldest
            .map(|t| t.id)
            .ok_or_else(|| AppError::Conflict("no team exists yet to receive tickets".into()))
    }

    /// `text` with what customers must never send removed (`assist::Redactor`), and
    /// what was removed, merged into `found`.
    fn redact(&self, text: String, found: &mut Vec<(RedactionKind, usize)>) -> String {
        let redacted = self.config.redactor.redact(&text);
        for (kind, count) in redacted.found {
            match found.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, n)) => *n += count,
                None => found.push((kind, count)),
            }
        }
        found.sort();
        redacted.text
    }

    /// Opens a ticket; also returns what redaction removed from subject and body.
    pub async fn create_ticket(
        &self,
        caller: &Caller,
        input: CreateTicketInput,
    ) -> Result<(TicketRecord, Vec<(RedactionKind, usize)>), AppError> {
        let mut redacted = Vec::new();
        let subject = validate_text("subject", &input.subject, MAX_SUBJECT_CHARS)?;
        let subject = self.redact(subject, &mut redacted);
        let body = validate_text("body", &input.body, MAX_BODY_CHARS)?;
        let body = self.redact(body, &mut redacted);
        let requester = match (caller.principal.role, input.requester) {
            (Role::Customer, Some(r)) if r != caller.principal.user_id => {
                return Err(AppError::BadRequest(
                    "customers open tickets in their own name".into(),
                ));
            }
            (_, Some(r)) => r,
            (_, None) => caller.principal.user_id.clone(),
        };
        let requester_user = match self.store.get_user(&requester).await {
            Ok(u) => Some(u),
            Err(palisade_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let team = match (caller.principal.role, input.team) {
            (Role::Customer, Some(_)) => {
                return Err(AppError::BadRequest("customers cannot choose a team".into()));
            }
            (_, Some(team)) => {
                self.store
                    .get_team(&team)
                    .await
                    .map_err(|_| AppError::Conflict("unknown team".into()))?;
                team
            }
            (_, None) => self.default_team().await?,
        };
        let company = requester_user.as_ref().and_then(|u| u.company.clone());
        let company_sharing = match &company {
            Some(c) => self.store.get_company(c).await?.share_tickets,
            None => false,
        };
        let id = TicketId::generate();
        let proposed = TicketFacts {
            id: id.clone(),
            requester: requester.clone(),
            collaborators: vec![],
            team: team.clone(),
            assignee: None,
            company,
            company_sharing,
            requester_confirmed: true,
        };
        // Authorise before judging the requester, so a caller who may not open tickets
        // at all learns nothing about which accounts are customers.
        let proof = self
            .authorize(caller, Action::TicketCreate, &Resource::Ticket(proposed))
            .await?;
        if !requester_user.is_some_and(|u| u.role == Role::Customer) {
            return Err(AppError::Conflict(
                "requester must be an existing customer".into(),
            ));
        }
        let new = NewTicket {
            requester,
            team,
            subject,
            first_message: body,
            author: caller.principal.user_id.clone(),
        };
        let mut tx = self.store.begin().await?;
        let (number, message) = self.store.create_ticket(&mut tx, &proof, &id, &new).await?;
        let event = AuditEvent::new(AuditAction::TicketCreated, id.to_string(), Outcome::Success)
            .with_detail(
                json!({ "number": number, "message": message.to_string(), "team": new.team.to_string(),
                                 "redacted": redaction_json(&redacted) }),
            );
        self.store.append_audit(&mut tx, &caller.audit(), &event).await?;
        tx.commit().await?;
        Ok((self.store.get_ticket(&id).await?, redacted))
    }

    pub async fn list_tickets(
        &self,
        caller: &Caller,
        status: Option<TicketStatus>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<TicketRecord>, AppError> {
        self.authorize(caller, Action::ListTickets, &Resource::Directory)
            .await?;
        let cursor = cursor.map(Cursor::decode).transpose()?;
        let scope = self.ticket_scope(caller).await?;
        let page = self
            .store
            .list_tickets(&scope, status, cursor.as_ref(), limit.clamp(1, 100))
            .await?;
        Ok(Page {
            items: self.only_readable(caller, page.items),
            next_cursor: page.next_cursor,
        })
    }

    pub async fn search_tickets(
        &self,
        caller: &Caller,
        query: &str,
        limit: u32,
    ) -> Result<Vec<TicketRecord>, AppError> {
        self.authorize(caller, Action::SearchTickets, &Resource::Directory)
            .await?;
        if query.len() > 500 {
            return Err(AppError::BadRequest("query is longer than 500 bytes".into()));
        }
        // Each search reads and decrypts candidate tickets: bounded per account, so a
        // script cannot sweep the desk through it (or slow it for everyone).
        self.enforce(
            &self.config.public_limits.ticket_searches,
            &crate::limits::subject(Some(caller), &caller.meta),
            &caller.meta,
        )
        .await?;
        let scope = self.ticket_scope(caller).await?;
        // Words of internal notes only ever match for staff who may read internal notes;
        // each hit is then authorised individually as well.
        let staff = caller.principal.role.is_staff();
        let hits = self
            .store
            .search_tickets(&scope, query, staff, limit.clamp(1, 100))
            .await?;
        let readable = self.only_readable(caller, hits);
        // A staff hit that might stem from internal words the caller may not read is dropped.
        Ok(readable
            .into_iter()
            .filter(|t| !staff || self.can_read_internal(caller, t))
            .collect())
    }

    pub async fn ticket_detail(&self, caller: &Caller, raw_id: &str) -> Result<TicketDetail, AppError> {
        let (ticket, _proof) = self.readable_ticket(caller, raw_id).await?;
        let shows_internal = self.can_read_internal(caller, &ticket);
        let messages = self.store.list_messages(&ticket, shows_internal).await?;
        let attachments = self.store.list_attachments(&ticket, shows_internal).await?;
        Ok(TicketDetail {
            ticket,
            messages,
            attachments,
            shows_internal,
        })
    }

    pub async fn add_message(
        &self,
        caller: &Caller,
        raw_id: &str,
        body: &str,
        visibility: Visibility,
    ) -> Result<(MessageId, Vec<(RedactionKind, usize)>), AppError> {
        let mut redacted = Vec::new();
        let body = validate_text("body", body, MAX_BODY_CHARS)?;
        let body = self.redact(body, &mut redacted);
        let action = match visibility {
            Visibility::Public => Action::TicketReply,
            Visibility::Internal => Action::TicketNote,
        };
        let (ticket, proof) = self.ticket_for(caller, raw_id, action).await?;
        let mut tx = self.store.begin().await?;
        let id = self
            .store
            .add_message(
                &mut tx,
                &proof,
                &ticket,
                &caller.principal.user_id,
                visibility,
                &body,
            )
            .await?;
        let mut mailed = 0;
        if visibility == Visibility::Public
            && caller.principal.role.is_staff()
            && let Some(notifier) = &self.notifier
        {
            // Queued in this transaction: the reply and its mail exist together.
            mailed = notifier
                .public_reply(&mut tx, &ticket, &caller.principal.user_id, &body)
                .await
                .map_err(|e| AppError::Internal(format!("queueing ticket mail: {e}")))?;
        }
        let event = AuditEvent::new(AuditAction::MessageAdded, ticket.id.to_string(), Outcome::Success)
            .with_detail(
                json!({ "message": id.to_string(), "visibility": visibility.as_str(), "mailed": mailed,
                        "redacted": redaction_json(&redacted) }),
            );
        self.store.append_audit(&mut tx, &caller.audit(), &event).await?;
        tx.commit().await?;
        Ok((id, redacted))
    }

    pub async fn update_ticket(
        &self,
        caller: &Caller,
        raw_id: &str,
        update: TicketUpdate,
    ) -> Result<TicketRecord, AppError> {
        let (ticket, _read) = self.readable_ticket(caller, raw_id).await?;
        let resource = Resource::Ticket(ticket.facts());
        let mut proofs = Vec::new();
        if update.status.is_some() {
            proofs.push(self.authorize(caller, Action::TicketSetStatus, &resource).await?);
        }
        if update.assignee.is_some() || update.team.is_some() {
            proofs.push(self.authorize(caller, Action::TicketAssign, &resource).await?);
        }
        let target_team = update.team.clone().unwrap_or_else(|| ticket.team.clone());
        if let Some(team) = &update.team {
            self.store
                .get_team(team)
                .await
                .map_err(|_| AppError::Conflict("unknown team".into()))?;
        }
        if let Some(Some(assignee)) = &update.assignee {
            let member = self.store.team_members(&target_team).await?.contains(assignee);
            let user = self
                .store
                .get_user(assignee)
                .await
                .map_err(|_| AppError::BadRequest("unknown assignee".into()))?;
            if !member || !matches!(user.role, Role::Agent | Role::Supervisor | Role::Admin) {
                return Err(AppError::BadRequest(
                    "the assignee must be an agent of the ticket's team".into(),
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        self.store
            .update_ticket(&mut tx, &proofs, &ticket.id, &update)
            .await?;
        let event = AuditEvent::new(
            AuditAction::TicketUpdated,
            ticket.id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({
            "status": update.status.map(|s| s.as_str()),
            "assignee": update.assignee.as_ref().map(|a| a.as_ref().map(|u| u.to_string())),
            "team": update.team.as_ref().map(|t| t.to_string()),
        }));
        self.store.append_audit(&mut tx, &caller.audit(), &event).await?;
        tx.commit().await?;
        Ok(self.store.get_ticket(&ticket.id).await?)
    }

    pub async fn set_tags(
        &self,
        caller: &Caller,
        raw_id: &str,
        tags: Vec<TagName>,
    ) -> Result<TicketRecord, AppError> {
        if tags.len() > 50 {
            return Err(AppError::BadRequest("at most 50 tags".into()));
        }
        let (ticket, proof) = self.ticket_for(caller, raw_id, Action::TicketTag).await?;
        let mut tx = self.store.begin().await?;
        self.store.set_tags(&mut tx, &proof, &ticket.id, &tags).await?;
        let names: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
        let event = AuditEvent::new(AuditAction::TagsChanged, ticket.id.to_string(), Outcome::Success)
            .with_detail(json!({ "tags": names }));
        self.store.append_audit(&mut tx, &caller.audit(), &event).await?;
        tx.commit().await?;
        Ok(self.store.get_ticket(&ticket.id).await?)
    }

    /// Adds (`present`) or removes a customer as collaborator. Only staff with the
    /// right may do either; mail never adds collaborators.
    pub async fn set_collaborator(
        &self,
        caller: &Caller,
        raw_id: &str,
        user: &UserId,
        present: bool,
    ) -> Result<TicketRecord, AppError> {
        let (ticket, proof) = self
            .ticket_for(caller, raw_id, Action::TicketManageCollaborators)
            .await?;
        if present && !matches!(self.store.get_user(user).await, Ok(u) if u.role == Role::Customer) {
            return Err(AppError::BadRequest(
                "collaborators must be existing customers".into(),
            ));
        }
        let mut tx = self.store.begin().await?;
        let action = if present {
            self.store
                .add_collaborator(&mut tx, &proof, &ticket.id, user)
                .await?;
            AuditAction::CollaboratorAdded
        } else {
            self.store
                .remove_collaborator(&mut tx, &proof, &ticket.id, user)
                .await?;
            // Their reply address dies with their seat on the ticket.
            self.store
                .revoke_reply_capabilities(&mut tx, &ticket.id, user)
                .await?;
            AuditAction::CollaboratorRemoved
        };
        let event = AuditEvent::new(action, ticket.id.to_string(), Outcome::Success)
            .with_detail(json!({ "user": user.to_string() }));
        self.store.append_audit(&mut tx, &caller.audit(), &event).await?;
        tx.commit().await?;
        Ok(self.store.get_ticket(&ticket.id).await?)
    }
}

/// Kinds and counts only: the audit trail never receives what was removed.
fn redaction_json(found: &[(RedactionKind, usize)]) -> serde_json::Value {
    found
        .iter()
        .map(|(kind, count)| (kind.as_str().to_owned(), json!(count)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
