//! Ticket use cases: open, read, list, search, reply or note, update, tag, and manage
//! collaborators — the same rules whichever channel asks.

use palisade_i18n::Refusal;
use std::collections::HashMap;

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{
    ConversationId, MessageId, Role, TagName, TeamId, TicketId, TicketStatus, UserId, Visibility,
};
use palisade_policy::{Action, Resource, TicketFacts};
use palisade_store::{AttachmentRecord, Cursor, MessageRecord, NewTicket, Page, TicketRecord, TicketUpdate};
use serde_json::json;

use crate::authz::including;
use crate::text::redact_into;
use crate::{Actor, Desk, Happened, MAX_BODY_CHARS, MAX_SUBJECT_CHARS, ServiceError, validate_text};

pub struct OpenTicket {
    pub subject: String,
    pub body: String,
    /// Staff open tickets on a customer's behalf; customers always open their own.
    pub requester: Option<UserId>,
    pub team: Option<TeamId>,
}

/// A ticket just opened, and what redaction removed from what was written.
pub struct Opened {
    pub ticket: TicketRecord,
    pub redacted: Vec<(&'static str, usize)>,
}

pub struct TicketDetail {
    pub ticket: TicketRecord,
    pub messages: Vec<MessageRecord>,
    pub attachments: Vec<AttachmentRecord>,
    /// The sanitised HTML of messages that arrived by mail as HTML only, to show in
    /// place of their text (which stays the text for search, mail and the API's `body`).
    pub html: HashMap<MessageId, String>,
    pub shows_internal: bool,
}

/// How a message is sent: files that go with it, and for a public reply, whether its
/// mail to customers is only a sign-in link (whatever the team's setting says, a team
/// that delivers securely always does).
#[derive(Clone, Debug, Default)]
pub struct Sending {
    pub secure_delivery: bool,
    pub files: Vec<palisade_core::AttachmentId>,
}

/// The largest page of a ticket list or search.
const MAX_PAGE: u32 = 100;

impl Desk {
    /// The team new tickets go to when nobody chose one: the oldest.
    pub async fn default_team(&self) -> Result<TeamId, ServiceError> {
        let teams = self.store.list_teams().await?;
        let oldest = teams.into_iter().min_by_key(|t| (t.created_at, t.id.clone()));
        oldest
            .map(|t| t.id)
            .ok_or_else(|| ServiceError::conflict("refusal-no-team-yet"))
    }

    /// Opens a ticket with its first message.
    pub async fn open_ticket(&self, actor: &Actor, input: OpenTicket) -> Result<Opened, ServiceError> {
        self.open_ticket_closing(actor, input, None).await
    }

    /// Opens a ticket and, in the same transaction, closes the assistant conversation
    /// handed over into it (both or neither).
    pub(crate) async fn open_ticket_closing(
        &self,
        actor: &Actor,
        input: OpenTicket,
        handed_over: Option<&ConversationId>,
    ) -> Result<Opened, ServiceError> {
        let mut redacted = Vec::new();
        let subject = validate_text("subject", &input.subject, MAX_SUBJECT_CHARS)?;
        let subject = redact_into(self.redactor.as_ref(), &subject, &mut redacted);
        let body = validate_text("body", &input.body, MAX_BODY_CHARS)?;
        let body = redact_into(self.redactor.as_ref(), &body, &mut redacted);
        let principal = &actor.principal;
        let requester = match (principal.role, input.requester) {
            (Role::Customer, Some(r)) if r != principal.user_id => {
                return Err(ServiceError::invalid("refusal-own-name"));
            }
            (_, Some(r)) => r,
            (_, None) => principal.user_id.clone(),
        };
        let requester_user = match self.store.get_user(&requester).await {
            Ok(u) => Some(u),
            Err(palisade_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let team = match (principal.role, input.team) {
            (Role::Customer, Some(_)) => {
                return Err(ServiceError::invalid("refusal-customer-team"));
            }
            (_, Some(team)) => {
                self.store
                    .get_team(&team)
                    .await
                    .map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
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
        // Authorise before judging the requester, so an actor who may not open tickets
        // at all learns nothing about which accounts are customers.
        let proof = self
            .authorize(actor, Action::TicketCreate, &Resource::Ticket(proposed))
            .await?;
        // An erased person's key is gone: nothing new is kept in their name.
        if !requester_user.is_some_and(|u| u.role == Role::Customer && !u.erased) {
            return Err(ServiceError::conflict("refusal-requester-customer"));
        }
        let new = NewTicket {
            requester,
            team,
            subject,
            first_message: body,
            author: principal.user_id.clone(),
        };
        let mut tx = self.store.begin().await?;
        let (_, message) = self.store.create_ticket(&mut tx, &proof, &id, &new).await?;
        let ticket = self.store.get_ticket_for_update(&mut tx, &id).await?;
        // Row writes before the audit chain's head (see `Desk::record`).
        if let Some(conversation) = handed_over {
            self.store
                .hand_over_conversation(&mut tx, conversation, Some(&ticket.id))
                .await?;
        }
        self.created(
            &mut tx,
            actor,
            &ticket,
            &message,
            &new.first_message,
            json!({ "redacted": redaction_json(&redacted) }),
        )
        .await?;
        tx.commit().await?;
        Ok(Opened { ticket, redacted })
    }

    pub async fn list_tickets(
        &self,
        actor: &Actor,
        status: Option<TicketStatus>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<TicketRecord>, ServiceError> {
        self.authorize(actor, Action::ListTickets, &palisade_policy::Resource::Directory)
            .await?;
        let cursor = cursor.map(Cursor::decode).transpose()?;
        let scope = self.ticket_scope(&actor.principal).await?;
        let page = self
            .store
            .list_tickets(&scope, status, cursor.as_ref(), limit.clamp(1, MAX_PAGE))
            .await?;
        Ok(Page {
            items: self.only_readable(&actor.principal, page.items),
            next_cursor: page.next_cursor,
        })
    }

    /// Tickets containing every word of `query`, among those the actor may read. The
    /// caller bounds how often an account may search (each search decrypts candidates).
    pub async fn search_tickets(
        &self,
        actor: &Actor,
        query: &str,
        limit: u32,
    ) -> Result<Vec<TicketRecord>, ServiceError> {
        self.authorize(
            actor,
            Action::SearchTickets,
            &palisade_policy::Resource::Directory,
        )
        .await?;
        if query.len() > 500 {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-query-long").with("max", 500_i64),
            ));
        }
        let scope = self.ticket_scope(&actor.principal).await?;
        // Words of internal notes and tags only ever match for staff who may read the
        // internal side; each hit is then authorised individually as well. Fields count
        // only where the searcher may see them, so nobody learns a hidden value by asking.
        let staff = actor.principal.role.is_staff();
        let fields = self.fields_for(actor).await?;
        let word_fields = fields
            .iter()
            .filter(|f| !f.definition.personal)
            .map(|f| f.id.clone())
            .collect();
        let whole_values = fields
            .iter()
            .filter(|_| !query.trim().is_empty())
            .filter_map(|f| {
                let value = crate::fields::validate_value(f, query.trim()).ok()?;
                Some((f.id.clone(), self.store.field_match_key(f, &value)))
            })
            .collect();
        let search = palisade_store::TicketSearch {
            query,
            include_internal: staff,
            include_tags: staff,
            include_addresses: staff && self.may_search_addresses(&actor.principal),
            word_fields,
            whole_values,
        };
        let hits = self
            .store
            .search_tickets(&scope, &search, limit.clamp(1, MAX_PAGE))
            .await?;
        let readable = self.only_readable(&actor.principal, hits);
        // A staff hit that might stem from internal words the actor may not read is dropped.
        Ok(readable
            .into_iter()
            .filter(|t| !staff || self.can_read_internal(&actor.principal, t))
            .collect())
    }

    pub async fn ticket_detail(&self, actor: &Actor, raw_id: &str) -> Result<TicketDetail, ServiceError> {
        let (ticket, proof) = self.readable_ticket(actor, raw_id).await?;
        let internal = self.internal_proof(&actor.principal, &ticket);
        let including = including(internal.as_ref());
        let shows_internal = internal.is_some();
        let messages = self.store.list_messages(&ticket, including).await?;
        let attachments = self.store.list_attachments(&ticket, including).await?;
        let html = self
            .store
            .message_html(&proof, &ticket)
            .await?
            .into_iter()
            .map(|(message, html)| {
                // A message's inline images are its own files, by Content-ID.
                let inline = attachments
                    .iter()
                    .filter(|a| a.message.as_ref() == Some(&message))
                    .filter_map(|a| {
                        let cid = a.content_id.as_ref()?.trim_matches(['<', '>']).to_owned();
                        Some((cid, format!("/api/v1/attachments/{}", a.id)))
                    })
                    .collect();
                (message, palisade_html::sanitize_mail_html(&html, inline))
            })
            .collect();
        Ok(TicketDetail {
            ticket,
            messages,
            attachments,
            html,
            shows_internal,
        })
    }

    /// A public reply or an internal note; also returns what redaction removed.
    pub async fn add_message(
        &self,
        actor: &Actor,
        raw_id: &str,
        body: &str,
        visibility: Visibility,
    ) -> Result<(MessageId, Vec<(&'static str, usize)>), ServiceError> {
        self.add_message_with(actor, raw_id, body, visibility, &Sending::default())
            .await
    }

    /// As [`Desk::add_message`], with files the actor attached to the ticket sent with
    /// the message, and for a public reply, secure delivery of its mail.
    pub async fn add_message_with(
        &self,
        actor: &Actor,
        raw_id: &str,
        body: &str,
        visibility: Visibility,
        sending: &Sending,
    ) -> Result<(MessageId, Vec<(&'static str, usize)>), ServiceError> {
        if sending.secure_delivery && visibility == Visibility::Internal {
            return Err(ServiceError::invalid("refusal-secure-public"));
        }
        self.add_message_closing(actor, raw_id, body, visibility, None, sending)
            .await
            .map(|(id, _, found)| (id, found))
    }

    /// As [`Desk::add_message`], closing in the same transaction the assistant
    /// conversation handed over into the ticket; also returns the ticket.
    pub(crate) async fn add_message_closing(
        &self,
        actor: &Actor,
        raw_id: &str,
        body: &str,
        visibility: Visibility,
        handed_over: Option<&ConversationId>,
        sending: &Sending,
    ) -> Result<(MessageId, TicketRecord, Vec<(&'static str, usize)>), ServiceError> {
        let mut redacted = Vec::new();
        let body = validate_text("body", body, MAX_BODY_CHARS)?;
        let body = redact_into(self.redactor.as_ref(), &body, &mut redacted);
        let action = match visibility {
            Visibility::Public => Action::TicketReply,
            Visibility::Internal => Action::TicketNote,
        };
        let tx = self.store.begin().await?;
        let (mut tx, ticket, proof) = self.ticket_in(tx, actor, raw_id, action).await?;
        let id = self
            .store
            .add_message(
                &mut tx,
                &proof,
                &ticket,
                &actor.principal.user_id,
                visibility,
                &body,
            )
            .await?;
        let mut detail = json!({ "message": id.to_string(), "visibility": visibility.as_str(),
                                 "channel": actor.channel.as_str(), "redacted": redaction_json(&redacted) });
        if sending.secure_delivery {
            detail["secure_delivery"] = json!(true);
        }
        if !sending.files.is_empty() {
            let tied = self
                .store
                .send_files_with(
                    &mut tx,
                    &ticket,
                    &actor.principal.user_id,
                    visibility,
                    &sending.files,
                    &id,
                )
                .await?;
            if tied != sending.files.len() {
                return Err(ServiceError::conflict("refusal-file-not-attachable"));
            }
            detail["files"] = json!(sending.files.iter().map(|f| f.to_string()).collect::<Vec<_>>());
        }
        let audit = AuditEvent::new(AuditAction::MessageAdded, ticket.id.to_string(), Outcome::Success)
            .with_detail(detail.clone());
        let happened = Happened {
            kind: "message.added",
            actor,
            ticket: &ticket,
            message: Some((&id, visibility, &body)),
            detail,
        };
        // Row writes before the audit chain's head (see `Desk::record`).
        if let Some(conversation) = handed_over {
            self.store
                .hand_over_conversation(&mut tx, conversation, Some(&ticket.id))
                .await?;
        }
        self.record(&mut tx, audit, happened).await?;
        tx.commit().await?;
        Ok((id, ticket, redacted))
    }

    /// Changes status, assignee, team, priority or type; each part needs its own
    /// permission. `based_on` is the ticket version the caller saw: when the ticket
    /// has changed since, nothing is written and the answer is the ticket as it is now
    /// ([`ServiceError::Stale`]), so a colleague's change is never silently overwritten.
    /// Fields given with the value they already have change nothing (and do not move
    /// the version).
    pub async fn update_ticket(
        &self,
        actor: &Actor,
        raw_id: &str,
        update: TicketUpdate,
        based_on: Option<i64>,
    ) -> Result<TicketRecord, ServiceError> {
        let tx = self.store.begin().await?;
        let (mut tx, ticket, _read) = self.ticket_in(tx, actor, raw_id, Action::TicketRead).await?;
        let resource = Resource::Ticket(ticket.facts());
        let mut needed = Vec::new();
        if update.status.is_some() {
            needed.push(Action::TicketSetStatus);
        }
        if update.assignee.is_some() || update.team.is_some() {
            needed.push(Action::TicketAssign);
        }
        if update.priority.is_some() || update.ticket_type.is_some() {
            needed.push(Action::TicketClassify);
        }
        let mut proofs = Vec::new();
        for action in needed {
            match self.policy.authorize(&actor.principal, action, &resource) {
                Ok(proof) => proofs.push(proof),
                Err(_) => {
                    drop(tx);
                    self.audit_denial(&actor.audit, action, ticket.id.as_str(), "denied")
                        .await?;
                    return Err(ServiceError::Forbidden);
                }
            }
        }
        // Handing the ticket to another team is also the target team's decision: agents
        // route only into teams they belong to.
        if let Some(team) = update.team.as_ref().filter(|t| **t != ticket.team)
            && self
                .policy
                .authorize(
                    &actor.principal,
                    Action::TeamRouteTo,
                    &Resource::Team(team.clone()),
                )
                .is_err()
        {
            drop(tx);
            self.audit_denial(&actor.audit, Action::TeamRouteTo, team.as_str(), "denied")
                .await?;
            return Err(ServiceError::Forbidden);
        }
        // What the change names must exist; judged only once the change is allowed, so
        // nobody learns which teams exist by asking.
        if let Some(team) = &update.team {
            self.store
                .get_team(team)
                .await
                .map_err(|_| ServiceError::conflict("refusal-unknown-team"))?;
        }
        let target_team = update.team.clone().unwrap_or_else(|| ticket.team.clone());
        if let Some(Some(assignee)) = &update.assignee {
            let member = self.store.team_members(&target_team).await?.contains(assignee);
            let user = self
                .store
                .get_user(assignee)
                .await
                .map_err(|_| ServiceError::invalid("refusal-unknown-assignee"))?;
            if !member || !user.role.takes_assignments() {
                return Err(ServiceError::invalid("refusal-assignee-team"));
            }
        }
        if based_on.is_some_and(|seen| seen != ticket.version) {
            return Err(ServiceError::Stale(Box::new(ticket)));
        }
        if ticket.merged_into.is_some() {
            return Err(crate::merged());
        }
        self.require_fields_to_solve(&ticket, update.status).await?;
        let update = TicketUpdate {
            status: update.status.filter(|s| *s != ticket.status),
            assignee: update.assignee.filter(|a| *a != ticket.assignee),
            team: update.team.filter(|t| *t != ticket.team),
            priority: update.priority.filter(|p| *p != ticket.priority),
            ticket_type: update.ticket_type.filter(|t| *t != ticket.ticket_type),
        };
        self.store
            .update_ticket(&mut tx, &proofs, &ticket.id, &update)
            .await?;
        let updated = self.store.get_ticket_for_update(&mut tx, &ticket.id).await?;
        let detail = json!({
            "status": update.status.map(|s| s.as_str()),
            "assignee": update.assignee.as_ref().map(|a| a.as_ref().map(|u| u.to_string())),
            "team": update.team.as_ref().map(|t| t.to_string()),
            "priority": update.priority.map(|p| p.as_str()),
            "type": update.ticket_type.map(|t| t.map(|t| t.as_str())),
            "version": updated.version,
            "channel": actor.channel.as_str(),
        });
        let audit = AuditEvent::new(
            AuditAction::TicketUpdated,
            ticket.id.to_string(),
            Outcome::Success,
        )
        .with_detail(detail);
        self.store.append_audit(&mut tx, &actor.audit, &audit).await?;
        for (kind, changed, detail) in [
            (
                "ticket.status_changed",
                update.status.is_some_and(|s| s != ticket.status),
                json!({ "from": ticket.status.as_str(), "to": updated.status.as_str() }),
            ),
            (
                "ticket.assigned",
                update.assignee.is_some() && updated.assignee != ticket.assignee,
                json!({ "from": ticket.assignee.as_ref().map(|u| u.to_string()),
                        "to": updated.assignee.as_ref().map(|u| u.to_string()) }),
            ),
            (
                "ticket.team_changed",
                updated.team != ticket.team,
                json!({ "from": ticket.team.to_string(), "to": updated.team.to_string() }),
            ),
            (
                "ticket.classified",
                updated.priority != ticket.priority || updated.ticket_type != ticket.ticket_type,
                json!({ "priority": updated.priority.as_str(),
                        "type": updated.ticket_type.map(|t| t.as_str()) }),
            ),
        ] {
            if changed {
                self.happened(&mut tx, actor, &updated, kind, detail).await?;
            }
        }
        tx.commit().await?;
        Ok(updated)
    }

    pub async fn set_tags(
        &self,
        actor: &Actor,
        raw_id: &str,
        tags: Vec<TagName>,
    ) -> Result<TicketRecord, ServiceError> {
        if tags.len() > 50 {
            return Err(ServiceError::Invalid(
                Refusal::new("refusal-tags-at-most").with("max", 50_i64),
            ));
        }
        let tx = self.store.begin().await?;
        let (mut tx, ticket, proof) = self.ticket_in(tx, actor, raw_id, Action::TicketTag).await?;
        self.store.set_tags(&mut tx, &proof, &ticket.id, &tags).await?;
        let updated = self.store.get_ticket_for_update(&mut tx, &ticket.id).await?;
        let names: Vec<&str> = tags.iter().map(|t| t.as_str()).collect();
        let detail = json!({ "tags": names, "channel": actor.channel.as_str() });
        let audit = AuditEvent::new(AuditAction::TagsChanged, ticket.id.to_string(), Outcome::Success)
            .with_detail(detail.clone());
        let happened = Happened {
            kind: "ticket.tags_changed",
            actor,
            ticket: &updated,
            message: None,
            detail,
        };
        self.record(&mut tx, audit, happened).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Adds (`present`) or removes a customer as collaborator. Only staff with the
    /// right may do either; mail never adds collaborators.
    pub async fn set_collaborator(
        &self,
        actor: &Actor,
        raw_id: &str,
        user: &UserId,
        present: bool,
    ) -> Result<TicketRecord, ServiceError> {
        let is_customer = matches!(self.store.get_user(user).await, Ok(u) if u.role == Role::Customer);
        let tx = self.store.begin().await?;
        let (mut tx, ticket, proof) = self
            .ticket_in(tx, actor, raw_id, Action::TicketManageCollaborators)
            .await?;
        if present && !is_customer {
            return Err(ServiceError::invalid("refusal-collaborators-customers"));
        }
        if present && !ticket.requester_confirmed {
            // Nobody has proved to be the requester: no customer is let in yet.
            return Err(ServiceError::conflict("refusal-requester-unconfirmed"));
        }
        let (action, kind) = if present {
            self.store
                .add_collaborator(&mut tx, &proof, &ticket.id, user)
                .await?;
            (AuditAction::CollaboratorAdded, "ticket.collaborator_added")
        } else {
            self.store
                .remove_collaborator(&mut tx, &proof, &ticket.id, user)
                .await?;
            // Their reply address dies with their seat on the ticket.
            self.store
                .revoke_reply_capabilities(&mut tx, &ticket.id, user)
                .await?;
            (AuditAction::CollaboratorRemoved, "ticket.collaborator_removed")
        };
        let updated = self.store.get_ticket_for_update(&mut tx, &ticket.id).await?;
        let detail = json!({ "user": user.to_string(), "channel": actor.channel.as_str() });
        let audit =
            AuditEvent::new(action, ticket.id.to_string(), Outcome::Success).with_detail(detail.clone());
        let happened = Happened {
            kind,
            actor,
            ticket: &updated,
            message: None,
            detail,
        };
        self.record(&mut tx, audit, happened).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Records a further event of a change whose audit entry is already written.
    pub(crate) async fn happened(
        &self,
        tx: &mut palisade_store::Tx,
        actor: &Actor,
        ticket: &TicketRecord,
        kind: &'static str,
        detail: serde_json::Value,
    ) -> Result<(), ServiceError> {
        let happened = Happened {
            kind,
            actor,
            ticket,
            message: None,
            detail,
        };
        self.publish(tx, &happened).await
    }
}

/// Kinds and counts only: the audit trail never receives what was removed.
fn redaction_json(found: &[(&'static str, usize)]) -> serde_json::Value {
    found
        .iter()
        .map(|(kind, count)| ((*kind).to_owned(), json!(count)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
