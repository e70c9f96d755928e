//! The web layer's only doorway to [`palisade_policy::PolicyEngine::authorize`]: every
//! decision is made here, and every denial is audited here. Reads of objects the
//! caller may not see come back as `NotFound`, exactly like objects that do not exist,
//! and both cost an audit write so the two cannot be told apart by timing either.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{Role, TicketId};
use palisade_policy::{Action, Authorized, Resource};
use palisade_store::{TicketRecord, TicketScope};
use serde_json::json;

use crate::{AppError, AppState, Caller};

impl AppState {
    /// Decides `action` on `resource` for `caller`; a denial is audited and returned as
    /// `Forbidden`.
    pub async fn authorize(
        &self,
        caller: &Caller,
        action: Action,
        resource: &Resource,
    ) -> Result<Authorized, AppError> {
        match self.policy.authorize(&caller.principal, action, resource) {
            Ok(proof) => Ok(proof),
            Err(_) => {
                self.audit_denial(caller, action, &resource.audit_ref(), "denied")
                    .await?;
                Err(AppError::Forbidden)
            }
        }
    }

    /// Whether `action` is allowed, without auditing: for deciding what to show, never
    /// for guarding a change.
    pub fn permits(&self, caller: &Caller, action: Action, resource: &Resource) -> bool {
        self.policy.authorize(&caller.principal, action, resource).is_ok()
    }

    pub(crate) async fn audit_denial(
        &self,
        caller: &Caller,
        action: Action,
        object: &str,
        reason: &str,
    ) -> Result<(), AppError> {
        let event = AuditEvent::new(AuditAction::AccessDenied, object, Outcome::Denied)
            .with_detail(json!({ "action": action.cedar_id(), "reason": reason }));
        self.store.audit(&caller.audit(), &event).await?;
        Ok(())
    }

    /// Loads a ticket the caller may read. Missing and forbidden are the same `NotFound`.
    pub async fn readable_ticket(
        &self,
        caller: &Caller,
        raw_id: &str,
    ) -> Result<(TicketRecord, Authorized), AppError> {
        let Ok(id) = TicketId::parse(raw_id) else {
            return Err(AppError::NotFound);
        };
        let ticket = match self.store.get_ticket(&id).await {
            Ok(t) => t,
            Err(palisade_store::StoreError::NotFound) => {
                self.audit_denial(caller, Action::TicketRead, id.as_str(), "not_found")
                    .await?;
                return Err(AppError::NotFound);
            }
            Err(e) => return Err(e.into()),
        };
        match self.policy.authorize(
            &caller.principal,
            Action::TicketRead,
            &Resource::Ticket(ticket.facts()),
        ) {
            Ok(proof) => Ok((ticket, proof)),
            Err(_) => {
                self.audit_denial(caller, Action::TicketRead, id.as_str(), "denied")
                    .await?;
                Err(AppError::NotFound)
            }
        }
    }

    /// Loads a readable ticket and authorises a further action on it (403 if the caller
    /// can read but not do this).
    pub async fn ticket_for(
        &self,
        caller: &Caller,
        raw_id: &str,
        action: Action,
    ) -> Result<(TicketRecord, Authorized), AppError> {
        let (ticket, _read) = self.readable_ticket(caller, raw_id).await?;
        let proof = self
            .authorize(caller, action, &Resource::Ticket(ticket.facts()))
            .await?;
        Ok((ticket, proof))
    }

    /// The SQL pre-filter for ticket lists. It mirrors the policies; lists still
    /// authorise each ticket, so a mismatch can only hide tickets, never show extra ones.
    pub async fn ticket_scope(&self, caller: &Caller) -> Result<TicketScope, AppError> {
        let p = &caller.principal;
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

    /// Keeps only tickets the caller may read: the final word over any SQL filter.
    pub fn only_readable(&self, caller: &Caller, tickets: Vec<TicketRecord>) -> Vec<TicketRecord> {
        tickets
            .into_iter()
            .filter(|t| self.permits(caller, Action::TicketRead, &Resource::Ticket(t.facts())))
            .collect()
    }

    pub fn can_read_internal(&self, caller: &Caller, ticket: &TicketRecord) -> bool {
        self.permits(
            caller,
            Action::TicketReadInternal,
            &Resource::Ticket(ticket.facts()),
        )
    }
}
