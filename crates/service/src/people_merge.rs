//! Merging a duplicate customer account into the one that stays: the customer who
//! wrote from a second address, or was created twice. Decided by `user.merge` on both
//! accounts; the store moves and re-seals what the duplicate asked.

use palisade_audit::{AuditAction, AuditEvent, Outcome};
use palisade_policy::Action;
use palisade_store::{PeopleMerged, UserRecord};
use serde_json::json;

use crate::{Actor, Desk, ServiceError};

impl Desk {
    /// Merges the customer `duplicate_id` into `survivor_id`. Either account the actor
    /// may not read is not found; merging an account into itself, into a closed
    /// account, or one merged already is a conflict.
    pub async fn merge_customers(
        &self,
        actor: &Actor,
        duplicate_id: &str,
        survivor_id: &str,
    ) -> Result<(UserRecord, PeopleMerged), ServiceError> {
        let duplicate = self.customer_for(actor, duplicate_id, Action::UserRead).await?;
        let survivor = self.customer_for(actor, survivor_id, Action::UserRead).await?;
        if duplicate.id == survivor.id {
            return Err(ServiceError::conflict("refusal-people-merge-self"));
        }
        if duplicate.erased || survivor.erased {
            return Err(ServiceError::conflict("refusal-person-erased"));
        }
        let mut proofs = Vec::new();
        for account in [&duplicate, &survivor] {
            let resource = self.user_resource(&account.id).await?;
            proofs.push(self.authorize(actor, Action::UserMerge, &resource).await?);
        }
        let mut tx = self.store.begin().await?;
        let [(_, duplicate_merged), (survivor_disabled, survivor_merged)] = self
            .store
            .lock_for_merge(&mut tx, [&duplicate.id, &survivor.id])
            .await?;
        if duplicate_merged || survivor_merged {
            return Err(ServiceError::conflict("refusal-people-merged-already"));
        }
        if survivor_disabled {
            return Err(ServiceError::conflict("refusal-people-merge-disabled"));
        }
        let merged = self
            .store
            .merge_customers(&mut tx, &proofs, &duplicate, &survivor)
            .await?;
        let event = AuditEvent::new(
            AuditAction::CustomersMerged,
            duplicate.id.to_string(),
            Outcome::Success,
        )
        .with_detail(json!({
            "into": survivor.id.to_string(),
            "tickets": merged.tickets,
            "participations": merged.participations,
        }));
        self.store.append_audit(&mut tx, &actor.audit, &event).await?;
        tx.commit().await?;
        Ok((self.store.get_user(&survivor.id).await?, merged))
    }
}
