//! The one doorway to [`palisade_policy::PolicyEngine::authorize`] for use cases: every
//! decision is taken here and every denial audited here, the same way whatever the
//! channel. Objects the actor may not read come back as `NotFound`, exactly like
//! objects that do not exist, and both cost an audit write so the two cannot be told
//! apart by timing either.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{Principal, Role, TicketId};
use palisade_policy::{Action, Authorized, Resource};
use palisade_store::{Including, TicketRecord, TicketScope, Tx};
use serde_json::json;

use crate::{Actor, Desk, ServiceError};

impl Desk {
    /// Decides `action` on `resource`; a denial is audited and returned as `Forbidden`.
    pub async fn authorize(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource,
    ) -> Result<Authorized, ServiceError> {
        match self.policy.authorize(&actor.principal, action, resource) {
            Ok(proof) => Ok(proof),
            Err(_) => {
                self.audit_denial(&actor.audit, action, &resource.audit_ref(), "denied")
                    .await?;
                Err(ServiceError::Forbidden)
            }
        }
    }

    /// Admits the actor to the staff workspace's pages; for anyone else they do not
    /// exist (`NotFound`, audited).
    pub async fn enter_workspace(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.authorize(actor, Action::EnterWorkspace, &Resource::Directory)
            .await
            .map(drop)
            .map_err(|e| match e {
                ServiceError::Forbidden => ServiceError::NotFound,
                other => other,
            })
    }

    /// Whether `action` is allowed, without auditing: for deciding what to show, never
    /// for guarding a change.
    pub fn permits(&self, principal: &Principal, action: Action, resource: &Resource) -> bool {
        self.policy.authorize(principal, action, resource).is_ok()
    }

    /// Audits a refusal decided outside [`Desk::authorize`] (a missing object).
    pub async fn audit_denial(
        &self,
        audit: &AuditContext,
        action: Action,
        object: &str,
        reason: &str,
    ) -> Result<(), ServiceError> {
        self.store.audit(audit, &denial(action, object, reason)).await?;
        Ok(())
    }

    /// Loads a ticket the actor may read. Missing and forbidden are the same `NotFound`.
    pub async fn readable_ticket(
        &self,
        actor: &Actor,
        raw_id: &str,
    ) -> Result<(TicketRecord, Authorized), ServiceError> {
        let Ok(id) = TicketId::parse(raw_id) else {
            return Err(ServiceError::NotFound);
        };
        let ticket = match self.store.get_ticket(&id).await {
            Ok(t) => t,
            Err(palisade_store::StoreError::NotFound) => {
                self.audit_denial(&actor.audit, Action::TicketRead, id.as_str(), "not_found")
                    .await?;
                return Err(ServiceError::NotFound);
            }
            Err(e) => return Err(e.into()),
        };
        match self.policy.authorize(
            &actor.principal,
            Action::TicketRead,
            &Resource::Ticket(ticket.facts()),
        ) {
            Ok(proof) => Ok((ticket, proof)),
            Err(_) => {
                self.audit_denial(&actor.audit, Action::TicketRead, id.as_str(), "denied")
                    .await?;
                Err(ServiceError::NotFound)
            }
        }
    }

    /// The ticket holding an object (a file, a message), if the actor may read it: an
    /// object that does not exist is audited under its own id, exactly like a missing
    /// ticket, and nothing else about it is read before the ticket is decided.
    pub(crate) async fn readable_ticket_holding(
        &self,
        actor: &Actor,
        object: &str,
        holder: Result<TicketId, palisade_store::StoreError>,
    ) -> Result<(TicketRecord, Authorized), ServiceError> {
        match holder {
            Ok(ticket) => self.readable_ticket(actor, ticket.as_str()).await,
            Err(palisade_store::StoreError::NotFound) => {
                self.audit_denial(&actor.audit, Action::TicketRead, object, "not_found")
                    .await?;
                Err(ServiceError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Inside a write transaction: loads the ticket with its row locked and decides
    /// `action` on what was loaded, so a reassignment or a collaborator removal
    /// committed a moment earlier is seen and one committed later waits. A ticket the
    /// actor cannot read is `NotFound`, one they can read but not act on `Forbidden`;
    /// either refusal is audited and committed in `tx`, which then holds nothing else.
    pub(crate) async fn ticket_in(
        &self,
        mut tx: Tx,
        actor: &Actor,
        raw_id: &str,
        action: Action,
    ) -> Result<(Tx, TicketRecord, Authorized), ServiceError> {
        let Ok(id) = TicketId::parse(raw_id) else {
            return Err(ServiceError::NotFound);
        };
        let ticket = match self.store.get_ticket_for_update(&mut tx, &id).await {
            Ok(t) => t,
            Err(palisade_store::StoreError::NotFound) => {
                return Err(self
                    .refuse_in(tx, actor, Action::TicketRead, &id, "not_found")
                    .await);
            }
            Err(e) => return Err(e.into()),
        };
        let resource = Resource::Ticket(ticket.facts());
        if !self.permits(&actor.principal, Action::TicketRead, &resource) {
            return Err(self.refuse_in(tx, actor, Action::TicketRead, &id, "denied").await);
        }
        match self.policy.authorize(&actor.principal, action, &resource) {
            // A merged duplicate's conversation continues on its survivor: it takes no
            // more writes of any kind (reading it, and what points to the survivor, stay).
            Ok(_) if ticket.merged_into.is_some() && !action.is_read() => Err(crate::merged()),
            Ok(proof) => Ok((tx, ticket, proof)),
            Err(_) => {
                let refused = self.refuse_in(tx, actor, action, &id, "denied").await;
                Err(match refused {
                    ServiceError::NotFound => ServiceError::Forbidden,
                    other => other,
                })
            }
        }
    }

    /// Commits `tx` with nothing but the audited refusal; the error to answer with.
    async fn refuse_in(
        &self,
        mut tx: Tx,
        actor: &Actor,
        action: Action,
        id: &TicketId,
        reason: &str,
    ) -> ServiceError {
        let event = denial(action, id.as_str(), reason);
        let written = match self.store.append_audit(&mut tx, &actor.audit, &event).await {
            Ok(_) => tx.commit().await.map_err(ServiceError::from),
            Err(e) => Err(e.into()),
        };
        match written {
            Ok(()) => ServiceError::NotFound,
            Err(e) => e,
        }
    }

    /// The SQL pre-filter for ticket lists. It mirrors the policies; lists still
    /// authorise each ticket, so a mismatch can only hide tickets, never show extra ones.
    pub async fn ticket_scope(&self, principal: &Principal) -> Result<TicketScope, ServiceError> {
        let p = principal;
        Ok(match p.role {
            Role::Admin | Role::Supervisor => TicketScope::All,
            Role::Agent => TicketScope::Teams {
                teams: p.teams.clone(),
                assignee: Some(p.user_id.clone()),
            },
            Role::LightAgent => TicketScope::Teams {
                teams: p.teams.clone(),
                assignee: None,
            },
            // Auditors read the audit trail only; an empty team list matches nothing.
            Role::Auditor => TicketScope::Teams {
                teams: vec![],
                assignee: None,
            },
            Role::Customer => {
                let shared_company = match &p.company {
                    Some(c) => {
                        let company = self.store.get_company(c).await?;
                        company.share_tickets.then_some(company.id)
                    }
                    None => None,
                };
                TicketScope::Customer {
                    user: p.user_id.clone(),
                    shared_company,
                }
            }
        })
    }

    /// Keeps only tickets the principal may read: the final word over any SQL filter.
    pub fn only_readable(&self, principal: &Principal, tickets: Vec<TicketRecord>) -> Vec<TicketRecord> {
        tickets
            .into_iter()
            .filter(|t| self.permits(principal, Action::TicketRead, &Resource::Ticket(t.facts())))
            .collect()
    }

    /// The proof that lets a read include internal notes and files, if the principal
    /// may read them on this ticket.
    pub(crate) fn internal_proof(&self, principal: &Principal, ticket: &TicketRecord) -> Option<Authorized> {
        self.policy
            .authorize(
                principal,
                Action::TicketReadInternal,
                &Resource::Ticket(ticket.facts()),
            )
            .ok()
    }

    pub fn can_read_internal(&self, principal: &Principal, ticket: &TicketRecord) -> bool {
        self.permits(
            principal,
            Action::TicketReadInternal,
            &Resource::Ticket(ticket.facts()),
        )
    }
}

/// What a read may include, given the proof of reading internal items (if any).
pub(crate) fn including(internal: Option<&Authorized>) -> Including<'_> {
    match internal {
        Some(proof) => Including::Internal(proof),
        None => Including::Public,
    }
}

fn denial(action: Action, object: &str, reason: &str) -> AuditEvent {
    AuditEvent::new(AuditAction::AccessDenied, object, Outcome::Denied)
        .with_detail(json!({ "action": action.cedar_id(), "reason": reason }))
}
