//! What is left of a root after `palisade keys rotate-root` replaced it. Everything the
//! desk can recompute is rewritten under the new root (lookups by address, search
//! terms, personal field values). What it cannot recompute stays matchable under the
//! retired root's blind-index key: keyed hashes of values the desk never stores
//! (recovery codes, identity-provider subjects, received `Message-ID`s, bounced
//! addresses, used token ids). Reply addresses already in customers' mailboxes stay
//! valid under its reply-token key for a grace period the operator chooses. Only those
//! two keys are kept, never the root: they live in the database as data keys, wrapped
//! like any other. The old file still derives both itself; what the rotation takes
//! from it is everything else (the lookups, search terms and signatures the desk
//! relies on); its reply addresses stop being accepted when the grace period ends.

use zeroize::Zeroizing;

use crate::index::BlindIndex;
use crate::keys::{DataKey, Keyring};
use crate::{CAPABILITY_ID_LEN, CapabilityKeys, CapabilityPurpose, CryptoError};

pub(crate) struct RetiredRoot {
    root_id: String,
    index: BlindIndex,
    /// Absent once the grace period is over (or when there was none).
    capabilities: Option<CapabilityKeys>,
    /// Unix milliseconds until which reply and bounce tokens minted under it verify.
    replies_until: i64,
}

impl Keyring {
    /// A name for this ring's root, from which nothing about it can be learned: a root
    /// rotation records the old and new names, and a node holding a retired root is
    /// refused by it.
    pub fn root_id(&self) -> &str {
        &self.root_id
    }

    /// The keys of this ring's root that a rotation away from it keeps: its blind-index
    /// key and its reply-token key, as data keys to wrap and store.
    pub fn keys_kept_after_root_rotation(&self) -> (DataKey, DataKey) {
        (
            DataKey(*self.blind_index_secret()),
            DataKey(*self.capabilities().secret()),
        )
    }

    /// Holds what a rotation kept of the retired root `root_id`; a no-op when held.
    pub fn hold_retired_root(
        &self,
        root_id: &str,
        index: &DataKey,
        capabilities: Option<&DataKey>,
        replies_until: i64,
    ) -> Result<(), CryptoError> {
        let mut held = self.retired_roots.write().map_err(|_| CryptoError::Format)?;
        if root_id == self.root_id || held.iter().any(|r| r.root_id == root_id) {
            return Ok(());
        }
        held.push(RetiredRoot {
            root_id: root_id.to_owned(),
            index: BlindIndex::new(&index.0),
            capabilities: capabilities.map(|key| CapabilityKeys::new(Zeroizing::new(key.0))),
            replies_until,
        });
        Ok(())
    }

    /// The blind index of `value` under the current root first, then under every
    /// retired root held: for matching values the desk cannot recompute. New rows
    /// always take the first.
    pub fn blind_indexes(&self, domain: &str, value: &str) -> Vec<String> {
        let mut all = vec![self.blind_index().compute(domain, value)];
        if let Ok(held) = self.retired_roots.read() {
            all.extend(held.iter().map(|r| r.index.compute(domain, value)));
        }
        all
    }

    /// Whether any retired root is held (lookups then match more than one index).
    pub fn holds_retired_roots(&self) -> bool {
        self.retired_roots.read().is_ok_and(|held| !held.is_empty())
    }

    /// The capability id of a genuine token for `purpose` under an `accepted` key
    /// version: minted under the current root, or under a retired root while its grace
    /// period (`replies_until`, compared with `now_ms`) lasts.
    pub fn verify_capability(
        &self,
        purpose: CapabilityPurpose,
        token: &str,
        accepted: &[u8],
        now_ms: i64,
    ) -> Option<(u8, [u8; CAPABILITY_ID_LEN])> {
        if let Some(found) = self.capabilities().verify(purpose, token, accepted) {
            return Some(found);
        }
        let held = self.retired_roots.read().ok()?;
        held.iter()
            .filter(|r| now_ms < r.replies_until)
            .find_map(|r| r.capabilities.as_ref()?.verify(purpose, token, accepted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;

    #[test]
    fn a_new_root_recomputes_nothing_alike_and_keeps_only_what_it_must() {
        let old_key = MasterKey::generate().unwrap();
        let new_key = old_key.rerooted().unwrap();
        assert!(new_key.same_wrapping(&old_key) && !new_key.same_root(&old_key));
        let (old, new) = (Keyring::new(&old_key), Keyring::new(&new_key));
        assert_ne!(old.root_id(), new.root_id());
        assert_eq!(old.kek_id(), new.kek_id(), "the data keys stay as they are");
        let old_index = old.blind_index().compute("recovery", "code");
        assert_ne!(new.blind_index().compute("recovery", "code"), old_index);
        assert_ne!(
            old.search_index().compute("t", "word"),
            new.search_index().compute("t", "word")
        );
        assert_ne!(old.backup_verifying_key(), new.backup_verifying_key());

        let id = [7u8; CAPABILITY_ID_LEN];
        let old_token = old.capabilities().mint(CapabilityPurpose::Reply, 1, &id);
        assert!(
            new.verify_capability(CapabilityPurpose::Reply, &old_token, &[1], 0)
                .is_none()
        );
        assert_eq!(new.blind_indexes("recovery", "code").len(), 1);

        let (index, capabilities) = old.keys_kept_after_root_rotation();
        new.hold_retired_root(old.root_id(), &index, Some(&capabilities), 1_000)
            .unwrap();
        new.hold_retired_root(old.root_id(), &index, Some(&capabilities), 1_000)
            .unwrap();
        let both = new.blind_indexes("recovery", "code");
        assert_eq!(both.len(), 2, "held once");
        assert_eq!(both[1], old_index, "the old hash still matches");
        assert_eq!(
            both[0],
            new.blind_index().compute("recovery", "code"),
            "new rows first"
        );
        assert_eq!(
            new.verify_capability(CapabilityPurpose::Reply, &old_token, &[1], 999),
            Some((1, id)),
            "within the grace period"
        );
        assert!(
            new.verify_capability(CapabilityPurpose::Reply, &old_token, &[1], 1_000)
                .is_none(),
            "after it"
        );
        assert!(
            new.verify_capability(CapabilityPurpose::Bounce, &old_token, &[1], 0)
                .is_none(),
            "another purpose"
        );
        assert!(
            new.verify_capability(CapabilityPurpose::Reply, &old_token, &[2], 0)
                .is_none(),
            "a version not accepted"
        );
        // A forged token: the tag under neither root.
        let stranger = Keyring::new(&MasterKey::generate().unwrap());
        let forged = stranger.capabilities().mint(CapabilityPurpose::Reply, 1, &id);
        assert!(
            new.verify_capability(CapabilityPurpose::Reply, &forged, &[1], 0)
                .is_none()
        );
    }
}
