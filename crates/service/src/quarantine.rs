//! Reviewing quarantined mail: the held items of the teams a reviewer may review
//! (filtered in SQL, each still decided by Cedar), one item (missing and not
//! reviewable look alike), and discarding one. Releasing is in `mail.rs`.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_core::Role;
use palisade_policy::{Action, Resource};
use palisade_store::QuarantinedMail;

use crate::{Actor, Desk, ServiceError};

/// The most held items a review list shows.
const MAX_REVIEW_LIST: u32 = 500;

impl Desk {
    /// Held items the actor may review, oldest first.
    pub async fn review_list(&self, actor: &Actor) -> Result<Vec<QuarantinedMail>, ServiceError> {
        let p = &actor.principal;
        // Mirrors the policies (supervisors and admins every team's, agents their own);
        // each item is still decided one by one, so a mismatch can only hide items.
        let teams = match p.role {
            Role::Admin | Role::Supervisor => None,
            Role::Agent => Some(p.teams.as_slice()),
            _ => Some(&[][..]),
        };
        let held = self.store.held_mail(teams, MAX_REVIEW_LIST).await?;
        Ok(held
            .into_iter()
            .filter(|i| self.permits(p, Action::MailReview, &Resource::Team(i.team.clone())))
            .collect())
    }

    /// The held item, if the actor may review its team's mail; `NotFound` otherwise
    /// (and for unknown ids), the same either way, audited.
    pub async fn reviewable(&self, actor: &Actor, id: &str) -> Result<QuarantinedMail, ServiceError> {
        let Some(item) = self.store.quarantined(id).await? else {
            self.audit_denial(&actor.audit, Action::MailReview, id, "not_found")
                .await?;
            return Err(ServiceError::NotFound);
        };
        self.authorize(actor, Action::MailReview, &Resource::Team(item.team.clone()))
            .await
            .map_err(|e| match e {
                ServiceError::Forbidden => ServiceError::NotFound,
                other => other,
            })?;
        Ok(item)
    }

    /// Discards a held item; the decision is final (`Conflict` the second time).
    pub async fn discard_quarantined(&self, actor: &Actor, id: &str) -> Result<(), ServiceError> {
        let item = self.reviewable(actor, id).await?;
        let mut tx = self.store.begin().await?;
        if !self
            .store
            .decide_quarantined(
                &mut tx,
                &item.id,
                palisade_store::QuarantineStatus::Discarded,
                &actor.principal.user_id,
            )
            .await?
        {
            return Err(ServiceError::conflict("refusal-already-decided"));
        }
        let event = AuditEvent::new(
            AuditAction::QuarantineDiscarded,
            item.id.clone(),
            Outcome::Success,
        );
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}
