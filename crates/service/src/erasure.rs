//! Erasure under privacy law, and the legal holds that stop it. Asked for by someone
//! with privacy rights (`directory.manage_privacy` and `user.erase` on the customer);
//! when the desk requires four eyes, a second such person approves before anything is
//! destroyed. Every step is audited. The erasure itself is the store's
//! ([`palisade_store::Store::erase_person`]); it is written to the erasure ledger beside
//! the master key before it commits, so no restore can bring the person back.

use std::sync::Arc;

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::{LegalHoldId, PrivacyRequestId, UnixMillis, UserId};
use palisade_policy::{Action, Resource};
use palisade_store::{ErasureLog, HoldTarget, LegalHold, PrivacyRequest, RequestState, StoreError};
use serde_json::json;

use crate::{Actor, Desk, ServiceError};

/// The longest reason a request or hold keeps.
pub const MAX_PRIVACY_REASON_CHARS: usize = 500;
const DAY_MS: i64 = 86_400_000;

/// How this desk answers privacy requests.
#[derive(Clone)]
pub struct PrivacyRules {
    /// A second person with privacy rights approves each erasure.
    pub four_eyes: bool,
    /// Days a request must be answered within (GDPR: a month).
    pub answer_within_days: u32,
    /// Without a ledger nothing is erased: a restored backup would bring it back.
    pub ledger: Option<Arc<dyn ErasureLog>>,
}

impl std::fmt::Debug for PrivacyRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivacyRules")
            .field("four_eyes", &self.four_eyes)
            .field("answer_within_days", &self.answer_within_days)
            .field("ledger", &self.ledger.is_some())
            .finish()
    }
}

impl Default for PrivacyRules {
    fn default() -> Self {
        Self {
            four_eyes: false,
            answer_within_days: 30,
            ledger: None,
        }
    }
}

/// What happened to a request for erasure.
#[derive(Clone, Debug)]
pub struct ErasureOutcome {
    pub request: PrivacyRequest,
    /// `Some` once the person is erased.
    pub erased: Option<palisade_store::Erased>,
}

impl Desk {
    /// Uses `rules` for privacy requests.
    pub fn with_privacy(mut self, rules: PrivacyRules) -> Self {
        self.privacy = rules;
        self
    }

    pub fn privacy_rules(&self) -> &PrivacyRules {
        &self.privacy
    }

    async fn authorize_privacy(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.authorize(actor, Action::ManagePrivacy, &Resource::Directory)
            .await
            .map(|_| ())
    }

    /// Asks for `person` (a customer) to be erased. The request is recorded first (so
    /// its deadline is tracked whatever happens next); without four eyes the erasure
    /// is then done at once, with them it waits for another person's approval.
    pub async fn request_erasure(
        &self,
        actor: &Actor,
        person: &str,
        reason: &str,
    ) -> Result<ErasureOutcome, ServiceError> {
        self.authorize_privacy(actor).await?;
        let reason = privacy_reason(reason)?;
        let customer = self.customer_for(actor, person, Action::UserRead).await?;
        if customer.erased {
            return Err(ServiceError::conflict("refusal-erasure-done-already"));
        }
        let resource = self.user_resource(&customer.id).await?;
        let proof = self.authorize(actor, Action::UserErase, &resource).await?;
        let ledger = self.erasure_ledger()?;
        let due = UnixMillis(self.now() + i64::from(self.privacy.answer_within_days) * DAY_MS);
        let mut tx = self.store.begin().await?;
        let request = self
            .store
            .create_privacy_request(
                &mut tx,
                &palisade_store::NewPrivacyRequest {
                    kind: "erasure",
                    person: &customer.id,
                    reason: &reason,
                    requested_by: &actor.principal.user_id,
                    due_at: due,
                    state: RequestState::AwaitingApproval,
                    withheld: None,
                },
            )
            .await?;
        let event = AuditEvent::new(
            AuditAction::ErasureRequested,
            customer.id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({"request": request.id.to_string(), "four_eyes": self.privacy.four_eyes}));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        if self.privacy.four_eyes {
            return Ok(ErasureOutcome {
                request,
                erased: None,
            });
        }
        self.carry_out(actor, &request, &proof, ledger.as_ref(), None)
            .await
    }

    /// Refused while a legal hold applies: audited with the holds that stopped it.
    async fn refuse_for_holds(
        &self,
        actor: &Actor,
        request: &PrivacyRequest,
        holds: &[LegalHold],
    ) -> ServiceError {
        let ids: Vec<String> = holds.iter().map(|h| h.id.to_string()).collect();
        let event = AuditEvent::new(
            AuditAction::PersonErased,
            request.person.to_string(),
            Outcome::Denied,
        )
        .with_detail(json!({"request": request.id.to_string(), "legal_holds": ids}));
        match self.store.audit(&actor.audit, &event).await {
            Ok(_) => ServiceError::conflict("refusal-erasure-legal-hold"),
            Err(e) => e.into(),
        }
    }

    /// Approves a pending erasure, which is then done. With four eyes, by another
    /// person than the one who asked; without, the one who asked may take it up again
    /// (after a legal hold that stopped it was released).
    pub async fn approve_erasure(&self, actor: &Actor, id: &str) -> Result<ErasureOutcome, ServiceError> {
        self.authorize_privacy(actor).await?;
        let id = PrivacyRequestId::parse(id).map_err(|_| ServiceError::NotFound)?;
        let ledger = self.erasure_ledger()?;
        let request = match self.privacy_request(&id).await {
            Err(ServiceError::Store(StoreError::NotFound)) => return Err(ServiceError::NotFound),
            other => other?,
        };
        if request.kind != "erasure" {
            return Err(ServiceError::NotFound);
        }
        if request.state != RequestState::AwaitingApproval {
            return Err(ServiceError::conflict("refusal-privacy-request-decided"));
        }
        if self.privacy.four_eyes && request.requested_by == actor.principal.user_id {
            // Four eyes means two people: the one who asked never approves.
            self.audit_denial(
                &actor.audit,
                Action::UserErase,
                request.person.as_str(),
                "same_person",
            )
            .await?;
            return Err(ServiceError::conflict("refusal-erasure-same-approver"));
        }
        let resource = self.user_resource(&request.person).await?;
        let proof = self.authorize(actor, Action::UserErase, &resource).await?;
        self.carry_out(
            actor,
            &request,
            &proof,
            ledger.as_ref(),
            Some(&request.requested_by),
        )
        .await
    }

    /// The erasure itself, in one transaction: legal holds first (their table locked,
    /// before anything else, so a hold placed meanwhile either is seen or waits), the
    /// request still pending, the erasure, the ledger written, the audit entries last.
    async fn carry_out(
        &self,
        actor: &Actor,
        request: &PrivacyRequest,
        proof: &palisade_policy::Authorized,
        ledger: &dyn ErasureLog,
        approving_for: Option<&palisade_core::UserId>,
    ) -> Result<ErasureOutcome, ServiceError> {
        let mut tx = self.store.begin().await?;
        let holds = self.store.holds_on_person(&mut tx, &request.person).await?;
        if !holds.is_empty() {
            drop(tx);
            return Err(self.refuse_for_holds(actor, request, &holds).await);
        }
        let current = self.store.privacy_request_in(&mut tx, &request.id).await?;
        if current.state != RequestState::AwaitingApproval {
            return Err(ServiceError::conflict("refusal-privacy-request-decided"));
        }
        let erased = self.store.erase_person(&mut tx, proof, &request.person).await?;
        self.store
            .decide_privacy_request(&mut tx, &request.id, RequestState::Done, &actor.principal.user_id)
            .await?;
        let mut events = Vec::new();
        if let Some(requested_by) = approving_for {
            events.push(
                AuditEvent::new(
                    AuditAction::ErasureApproved,
                    request.person.to_string(),
                    Outcome::Success,
                )
                .with_detail(
                    json!({"request": request.id.to_string(), "requested_by": requested_by.to_string()}),
                ),
            );
        }
        events.push(
            AuditEvent::new(
                AuditAction::PersonErased,
                request.person.to_string(),
                Outcome::Success,
            )
            .with_detail(json!({
                "request": request.id.to_string(),
                "accounts": erased.accounts.len(),
                "tickets_rekeyed": erased.tickets_rekeyed,
                "messages_emptied": erased.messages_emptied,
                "attachments_deleted": erased.attachments_deleted,
                "conversations_deleted": erased.conversations_deleted,
            })),
        );
        // Outside the database first: if the commit then fails, the next
        // reconciliation erases them anyway (the erasure was decided).
        ledger.write(&erased.accounts).map_err(|e| {
            tracing::error!(error = %e, "writing the erasure ledger");
            ServiceError::Unavailable("the erasure ledger cannot be written")
        })?;
        self.store
            .append_audit_many(&mut tx, &actor.audit, &events)
            .await?;
        tx.commit().await?;
        self.store.scrub_after_erasure().await;
        Ok(ErasureOutcome {
            request: self.privacy_request(&request.id).await?,
            erased: Some(erased),
        })
    }

    /// Declines a pending erasure (the one who asked may withdraw it too).
    pub async fn decline_erasure(&self, actor: &Actor, id: &str) -> Result<PrivacyRequest, ServiceError> {
        self.authorize_privacy(actor).await?;
        let id = PrivacyRequestId::parse(id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let request = match self.store.privacy_request_in(&mut tx, &id).await {
            Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
            other => other?,
        };
        if request.kind != "erasure" {
            return Err(ServiceError::NotFound);
        }
        if request.state != RequestState::AwaitingApproval {
            return Err(ServiceError::conflict("refusal-privacy-request-decided"));
        }
        self.store
            .decide_privacy_request(&mut tx, &id, RequestState::Declined, &actor.principal.user_id)
            .await?;
        let event = AuditEvent::new(
            AuditAction::ErasureDeclined,
            request.person.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({"request": id.to_string()}));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        self.privacy_request(&id).await
    }

    fn erasure_ledger(&self) -> Result<Arc<dyn ErasureLog>, ServiceError> {
        self.privacy
            .ledger
            .clone()
            .ok_or(ServiceError::Unavailable("no erasure ledger is configured"))
    }

    async fn privacy_request(&self, id: &PrivacyRequestId) -> Result<PrivacyRequest, ServiceError> {
        Ok(self.store.privacy_request(id).await?)
    }

    /// The privacy requests, open ones first by due date.
    pub async fn privacy_requests(&self, actor: &Actor) -> Result<Vec<PrivacyRequest>, ServiceError> {
        self.authorize_privacy(actor).await?;
        Ok(self.store.privacy_requests(200).await?)
    }

    /// Places a legal hold on a customer, company or ticket, named by its id (whose
    /// prefix says which). One that does not exist, or a staff account, is not found.
    pub async fn place_legal_hold(
        &self,
        actor: &Actor,
        target: &str,
        reason: &str,
    ) -> Result<LegalHold, ServiceError> {
        self.authorize_privacy(actor).await?;
        let reason = privacy_reason(reason)?;
        let target = ["customer", "company", "ticket"]
            .into_iter()
            .find_map(|kind| HoldTarget::parse(kind, target).ok())
            .ok_or(ServiceError::NotFound)?;
        let exists = match &target {
            HoldTarget::Customer(id) => self.store.get_user(id).await.map(|u| !u.role.is_staff()),
            HoldTarget::Company(id) => self.store.get_company(id).await.map(|_| true),
            HoldTarget::Ticket(id) => self.store.get_ticket(id).await.map(|_| true),
        };
        match exists {
            Ok(true) => {}
            Ok(false) | Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
            Err(e) => return Err(e.into()),
        }
        let mut tx = self.store.begin().await?;
        let hold = self
            .store
            .place_legal_hold(&mut tx, &target, &reason, &actor.principal.user_id)
            .await?;
        let event = AuditEvent::new(
            AuditAction::LegalHoldPlaced,
            hold.id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({"kind": target.kind(), "target": target.id()}));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(hold)
    }

    pub async fn release_legal_hold(&self, actor: &Actor, id: &str) -> Result<LegalHold, ServiceError> {
        self.authorize_privacy(actor).await?;
        let id = LegalHoldId::parse(id).map_err(|_| ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let hold = match self.store.legal_hold_in(&mut tx, &id).await {
            Err(StoreError::NotFound) => return Err(ServiceError::NotFound),
            other => other?,
        };
        match self
            .store
            .release_legal_hold(&mut tx, &id, &actor.principal.user_id)
            .await
        {
            Err(StoreError::Conflict) => return Err(ServiceError::conflict("refusal-hold-released")),
            other => other?,
        }
        let event = AuditEvent::new(AuditAction::LegalHoldReleased, id.to_string(), Outcome::Success)
            .with_detail(json!({"kind": hold.target.kind(), "target": hold.target.id()}));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        let hold = self.store.legal_hold_in(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(hold)
    }

    pub async fn legal_holds(&self, actor: &Actor) -> Result<Vec<LegalHold>, ServiceError> {
        self.authorize_privacy(actor).await?;
        Ok(self.store.legal_holds(200).await?)
    }

    /// Names of the people the privacy pages mention, erased ones as such (empty).
    pub async fn privacy_people(
        &self,
        ids: &[UserId],
    ) -> Result<Vec<palisade_store::UserRecord>, ServiceError> {
        Ok(self.store.users_by_ids(ids).await?)
    }
}

pub(crate) fn privacy_reason(reason: &str) -> Result<String, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > MAX_PRIVACY_REASON_CHARS
        || reason.chars().any(char::is_control)
    {
        return Err(ServiceError::invalid("refusal-privacy-reason"));
    }
    Ok(reason.to_owned())
}
