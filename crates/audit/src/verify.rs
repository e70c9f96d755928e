use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;

use crate::trust::{Handover, TrustedKeys, parse_key};
use crate::{AuditEntry, AuditError, Checkpoint, GENESIS_HASH};

/// Walks a trail in sequence order, entry by entry, so a trail of any length is checked
/// in constant memory (checkpoints and key handovers aside).
pub struct Verifier {
    keys: TrustedKeys,
    /// Each checkpoint with the key whose signature it carries.
    checkpoints: BTreeMap<i64, (Checkpoint, VerifyingKey)>,
    handovers: Vec<Handover>,
    /// A copy (a backup) may end before the handover to the current key.
    may_end_before_current: bool,
    /// Entries' hashes recorded elsewhere (an earlier run's head): the trail must hold
    /// each, which catches a tail cut back together with the checkpoints covering it.
    expected: BTreeMap<i64, String>,
    expected_seq: i64,
    prev_hash: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: i64,
    pub checkpoints: usize,
    pub head_hash: String,
    /// How many times checkpoint signing moved to a new key.
    pub key_handovers: usize,
    /// The newest signed checkpoint: entries after it are not signed yet, and a copy of
    /// it kept off this machine shows whether anything before it was removed.
    pub newest_checkpoint: Option<i64>,
    /// The key that signs the newest stretch (hex): in a copy, possibly an earlier one.
    pub newest_signer: Option<String>,
}

impl Verifier {
    /// Verifies a live trail: its newest checkpoints must be signed with `keys.current`.
    pub fn new(keys: TrustedKeys, checkpoints: Vec<Checkpoint>) -> Result<Self, AuditError> {
        let mut signed = BTreeMap::new();
        for c in checkpoints {
            if c.seq < 1 {
                return Err(AuditError::CheckpointMismatch { seq: c.seq });
            }
            let signer = signer_of(&keys, &c)?;
            signed.insert(c.seq, (c, signer));
        }
        Ok(Self {
            keys,
            checkpoints: signed,
            handovers: Vec::new(),
            may_end_before_current: false,
            expected: BTreeMap::new(),
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        })
    }

    /// For a copy taken before signing moved to the current key: its newest stretch may
    /// be signed by any trusted key (a backup's own signature pins its head).
    pub fn for_a_copy(mut self) -> Self {
        self.may_end_before_current = true;
        self
    }

    /// Requires entry `seq` to have `hash`, as recorded elsewhere.
    pub fn expecting(mut self, seq: i64, hash: &str) -> Self {
        self.expected.insert(seq, hash.to_ascii_lowercase());
        self
    }

    pub fn push(&mut self, entry: &AuditEntry) -> Result<(), AuditError> {
        if entry.seq != self.expected_seq {
            return Err(AuditError::Sequence {
                seq: entry.seq,
                expected: self.expected_seq,
            });
        }
        if entry.prev_hash != self.prev_hash {
            return Err(AuditError::Link { seq: entry.seq });
        }
        if entry.compute_hash() != entry.hash {
            return Err(AuditError::Content { seq: entry.seq });
        }
        if !entry.address_intact() {
            return Err(AuditError::Address { seq: entry.seq });
        }
        if let Some((c, _)) = self.checkpoints.get(&entry.seq)
            && c.hash != entry.hash
        {
            return Err(AuditError::CheckpointMismatch { seq: entry.seq });
        }
        if self
            .expected
            .get(&entry.seq)
            .is_some_and(|hash| *hash != entry.hash)
        {
            return Err(AuditError::NotAsRecorded { seq: entry.seq });
        }
        if let Some(handover) = Handover::read(entry)? {
            // Each handover is from the key the one before handed to, and never back to
            // a key that signed an earlier stretch.
            if self.handovers.last().is_some_and(|last| last.to != handover.from)
                || self.handovers.iter().any(|h| h.from == handover.to)
            {
                return Err(AuditError::Handover { seq: entry.seq });
            }
            self.handovers.push(handover);
        }
        self.prev_hash.clone_from(&entry.hash);
        self.expected_seq += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<VerifyReport, AuditError> {
        let last = self.expected_seq - 1;
        if let Some((&seq, _)) = self.checkpoints.iter().next_back()
            && seq > last
        {
            return Err(AuditError::Truncated { seq, last });
        }
        if let Some((&seq, _)) = self.expected.iter().next_back()
            && seq > last
        {
            return Err(AuditError::NotAsRecorded { seq });
        }
        // Entry CHECKPOINT_EVERY is always signed when no checkpoint exists yet.
        if self.checkpoints.is_empty() && last >= crate::CHECKPOINT_EVERY {
            return Err(AuditError::Unsigned { entries: last });
        }
        for h in &self.handovers {
            match self.checkpoints.get(&h.seq) {
                Some((_, signer)) if *signer == h.to => {}
                _ => return Err(AuditError::HandoverUnconfirmed { seq: h.seq }),
            }
        }
        // Before any handover, the key the first one is from; with none, whichever key
        // signed the first checkpoint (every one must be its).
        let first_signer = match self.handovers.first() {
            Some(h) => Some(h.from),
            None => self.checkpoints.values().next().map(|(_, signer)| *signer),
        };
        for (&seq, (_, signer)) in &self.checkpoints {
            let expected = self
                .handovers
                .iter()
                .rev()
                .find(|h| h.seq <= seq)
                .map_or(first_signer, |h| Some(h.to));
            if expected == Some(*signer) {
                continue;
            }
            if let Some(h) = self.handovers.iter().find(|h| h.from == *signer && h.seq <= seq) {
                return Err(AuditError::RetiredKey {
                    seq,
                    retired_at: h.seq,
                });
            }
            return Err(AuditError::OutOfTurn { seq });
        }
        let newest = self.handovers.last().map_or(first_signer, |h| Some(h.to));
        if !self.may_end_before_current && newest.is_some_and(|k| k != self.keys.current) {
            return Err(AuditError::NotCurrent);
        }
        let newest_checkpoint = self.checkpoints.last_key_value().map(|(&seq, _)| seq);
        Ok(VerifyReport {
            entries: last,
            checkpoints: self.checkpoints.len(),
            head_hash: self.prev_hash,
            key_handovers: self.handovers.len(),
            newest_checkpoint,
            newest_signer: newest.map(|k| hex::encode(k.to_bytes())),
        })
    }
}

/// The trusted key whose signature `c` carries.
fn signer_of(keys: &TrustedKeys, c: &Checkpoint) -> Result<VerifyingKey, AuditError> {
    let candidates: Vec<VerifyingKey> = match (&c.key, keys.unlabelled) {
        (Some(named), _) => {
            let key = parse_key(named)
                .filter(|k| keys.trusts(k))
                .ok_or(AuditError::UntrustedKey { seq: c.seq })?;
            vec![key]
        }
        (None, Some(root)) => vec![root],
        (None, None) => keys.all().copied().collect(),
    };
    candidates
        .into_iter()
        .find(|k| c.signature_valid(k))
        .ok_or(AuditError::CheckpointSignature { seq: c.seq })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::{AuditAction, sign_checkpoint};

    fn chain(n: i64) -> Vec<AuditEntry> {
        chain_with(n, |_| None)
    }

    /// `n` entries; `special(seq)` gives an entry's action and detail instead of a
    /// ticket being created.
    fn chain_with(n: i64, special: impl Fn(i64) -> Option<(String, String)>) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let (action, detail) = special(seq).unwrap_or_else(|| ("ticket.created".into(), "{}".into()));
                let actor = if action == AuditAction::SigningKeyRotated.as_str() {
                    "system".to_owned()
                } else {
                    format!("usr_{seq}")
                };
                let e = AuditEntry {
                    seq,
                    at: 1_700_000_000_000 + seq,
                    actor,
                    action,
                    object: format!("tkt_{seq}"),
                    outcome: "success".into(),
                    ip: "127.0.0.1".into(),
                    ip_salt: String::new(),
                    ip_commit: String::new(),
                    user_agent: "test".into(),
                    session: String::new(),
                    detail,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                // Even entries keep their address apart from the chain, as entries
                // written since that release do; odd ones are of the first format.
                let e = if seq % 2 == 0 {
                    e.with_address_salt(format!("{seq:032x}"))
                } else {
                    e
                }
                .seal();
                prev.clone_from(&e.hash);
                e
            })
            .collect()
    }

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn verify(entries: &[AuditEntry], checkpoints: Vec<Checkpoint>) -> Result<VerifyReport, AuditError> {
        verify_with(TrustedKeys::only(key().verifying_key()), entries, checkpoints)
    }

    #[test]
    fn intact_chain_verifies() {
        let entries = chain(10);
        let cp = sign_checkpoint(&key(), 5, &entries[4].hash, 1);
        let report = verify(&entries, vec![cp]).unwrap();
        assert_eq!(report.entries, 10);
        assert_eq!(report.head_hash, entries[9].hash);
    }

    #[test]
    fn edited_entry_is_named() {
        let mut entries = chain(5);
        entries[2].outcome = "denied".into();
        assert_eq!(verify(&entries, vec![]), Err(AuditError::Content { seq: 3 }));
    }

    #[test]
    fn a_shortened_address_still_verifies() {
        let mut entries = chain(4);
        entries[1].ip = palisade_core::truncate_ip(&entries[1].ip);
        entries[1].ip_salt.clear();
        assert_eq!(verify(&entries, vec![]).map(|r| r.entries), Ok(4));
    }

    #[test]
    fn a_changed_address_is_named() {
        // Kept apart, with its salt: the commitment catches another host.
        let mut entries = chain(4);
        entries[1].ip = "127.0.0.2".into();
        assert_eq!(verify(&entries, vec![]), Err(AuditError::Address { seq: 2 }));
        // The salt deleted without shortening the address: the proof is gone.
        let mut entries = chain(4);
        entries[1].ip_salt.clear();
        assert_eq!(verify(&entries, vec![]), Err(AuditError::Address { seq: 2 }));
        // Shortened, then moved to another network: the chain covers the network.
        let mut entries = chain(4);
        entries[1].ip = "10.9.9.0/24".into();
        entries[1].ip_salt.clear();
        assert_eq!(verify(&entries, vec![]), Err(AuditError::Content { seq: 2 }));
        // An entry of the first format cannot be shortened, nor given a salt.
        let mut entries = chain(4);
        entries[0].ip = palisade_core::truncate_ip(&entries[0].ip);
        assert_eq!(verify(&entries, vec![]), Err(AuditError::Content { seq: 1 }));
        let mut entries = chain(4);
        entries[0].ip_salt = "00".into();
        assert_eq!(verify(&entries, vec![]), Err(AuditError::Address { seq: 1 }));
    }

    #[test]
    fn edited_entry_with_recomputed_hash_breaks_the_next_link() {
        let mut entries = chain(5);
        entries[2].actor = "usr_innocent".into();
        entries[2] = entries[2].clone().seal();
        assert_eq!(verify(&entries, vec![]), Err(AuditError::Link { seq: 4 }));
    }

    #[test]
    fn removed_entry_is_found() {
        let mut entries = chain(5);
        entries.remove(1);
        assert_eq!(
            verify(&entries, vec![]),
            Err(AuditError::Sequence { seq: 3, expected: 2 })
        );
    }

    #[test]
    fn reordered_entries_are_found() {
        let mut entries = chain(5);
        let (a, b) = (entries[1].seq, entries[2].seq);
        entries.swap(1, 2);
        entries[1].seq = a;
        entries[2].seq = b;
        assert!(matches!(
            verify(&entries, vec![]),
            Err(AuditError::Link { seq: 2 } | AuditError::Content { seq: 2 })
        ));
    }

    #[test]
    fn truncated_tail_after_a_checkpoint_is_found() {
        let entries = chain(6);
        let cp = sign_checkpoint(&key(), 6, &entries[5].hash, 1);
        assert_eq!(
            verify(&entries[..4], vec![cp]),
            Err(AuditError::Truncated { seq: 6, last: 4 })
        );
    }

    #[test]
    fn forged_checkpoint_is_refused() {
        let entries = chain(3);
        let mut forged = sign_checkpoint(&SigningKey::from_bytes(&[9u8; 32]), 3, &entries[2].hash, 1);
        assert_eq!(
            verify(&entries, vec![forged.clone()]),
            Err(AuditError::UntrustedKey { seq: 3 })
        );
        forged.key = Some(hex::encode(key().verifying_key().to_bytes()));
        assert_eq!(
            verify(&entries, vec![forged]),
            Err(AuditError::CheckpointSignature { seq: 3 })
        );
    }

    fn new_key() -> SigningKey {
        SigningKey::from_bytes(&[8u8; 32])
    }

    /// Ten entries; the sixth hands signing from `key()` to `new_key()`.
    fn handed_over_chain() -> Vec<AuditEntry> {
        chain_with(10, |seq| (seq == 6).then(|| handover(&key(), &new_key())))
    }

    fn after_handover() -> TrustedKeys {
        TrustedKeys {
            current: new_key().verifying_key(),
            retired: vec![key().verifying_key()],
            unlabelled: Some(key().verifying_key()),
        }
    }

    fn verify_with(
        keys: TrustedKeys,
        entries: &[AuditEntry],
        checkpoints: Vec<Checkpoint>,
    ) -> Result<VerifyReport, AuditError> {
        walk(Verifier::new(keys, checkpoints)?, entries)
    }

    fn walk(mut v: Verifier, entries: &[AuditEntry]) -> Result<VerifyReport, AuditError> {
        for e in entries {
            v.push(e)?;
        }
        v.finish()
    }

    fn handover(from: &SigningKey, to: &SigningKey) -> (String, String) {
        let detail = crate::handover_detail(&from.verifying_key(), &to.verifying_key());
        (AuditAction::SigningKeyRotated.as_str().into(), detail.to_string())
    }

    #[test]
    fn checkpoints_of_a_retired_key_verify_up_to_its_handover() {
        let entries = handed_over_chain();
        let checkpoints = vec![
            sign_checkpoint(&key(), 3, &entries[2].hash, 1),
            sign_checkpoint(&new_key(), 6, &entries[5].hash, 2),
            sign_checkpoint(&new_key(), 10, &entries[9].hash, 3),
        ];
        let report = verify_with(after_handover(), &entries, checkpoints).unwrap();
        assert_eq!(
            (report.entries, report.checkpoints, report.key_handovers),
            (10, 3, 1)
        );
    }

    #[test]
    fn checkpoints_that_name_no_key_are_the_roots() {
        let entries = handed_over_chain();
        let mut old = sign_checkpoint(&key(), 3, &entries[2].hash, 1);
        old.key = None;
        let checkpoints = vec![old.clone(), sign_checkpoint(&new_key(), 6, &entries[5].hash, 2)];
        verify_with(after_handover(), &entries, checkpoints).unwrap();

        // Made before checkpoints named their signer, verified offline with keys given
        // by hand: any trusted key whose signature fits.
        let by_hand = TrustedKeys {
            unlabelled: None,
            ..after_handover()
        };
        let confirmed = sign_checkpoint(&new_key(), 6, &entries[5].hash, 2);
        verify_with(by_hand, &entries, vec![old.clone(), confirmed]).unwrap();
        let mut forged = sign_checkpoint(&SigningKey::from_bytes(&[9u8; 32]), 3, &entries[2].hash, 1);
        forged.key = None;
        assert_eq!(
            verify_with(after_handover(), &entries, vec![forged]),
            Err(AuditError::CheckpointSignature { seq: 3 })
        );
    }

    #[test]
    fn a_retired_key_signing_after_its_handover_is_refused() {
        // Someone holding the old (leaked) key signs the head after the handover.
        let entries = handed_over_chain();
        let checkpoints = vec![
            sign_checkpoint(&new_key(), 6, &entries[5].hash, 2),
            sign_checkpoint(&key(), 9, &entries[8].hash, 3),
        ];
        assert_eq!(
            verify_with(after_handover(), &entries, checkpoints),
            Err(AuditError::RetiredKey {
                seq: 9,
                retired_at: 6
            })
        );
    }

    #[test]
    fn a_trail_rewritten_with_an_old_key_and_no_handover_is_refused_but_a_copy_from_before_is_not() {
        // The trail from entry 6 on rewritten without the handover (the new key's
        // checkpoints dropped because they no longer match) and signed again with the
        // old key: every link and hash is right, but the newest stretch is not the
        // current key's.
        let rewritten = chain(10);
        let checkpoints = vec![sign_checkpoint(&key(), 10, &rewritten[9].hash, 3)];
        assert_eq!(
            verify_with(after_handover(), &rewritten, checkpoints.clone()),
            Err(AuditError::NotCurrent)
        );
        // A backup taken before the handover looks the same, and its own signature pins
        // its head: as a copy it verifies.
        let copy = Verifier::new(after_handover(), checkpoints).unwrap().for_a_copy();
        assert_eq!(walk(copy, &rewritten).unwrap().entries, 10);
    }

    #[test]
    fn a_trail_rewritten_before_the_handover_and_signed_with_the_old_key_is_refused() {
        // Entry 2 edited and everything after it chained again, the handover kept as it
        // was; the old key signs the rewritten stretch.
        let rewritten = chain_with(10, |seq| match seq {
            2 => Some(("ticket.deleted".into(), "{}".into())),
            6 => Some(handover(&key(), &new_key())),
            _ => None,
        });
        let genuine = handed_over_chain();
        let old = sign_checkpoint(&key(), 3, &rewritten[2].hash, 1);
        // The new key's checkpoint at the handover no longer matches…
        let kept = sign_checkpoint(&new_key(), 6, &genuine[5].hash, 2);
        assert_eq!(
            verify_with(after_handover(), &rewritten, vec![old.clone(), kept]),
            Err(AuditError::CheckpointMismatch { seq: 6 })
        );
        // …and without it the handover is unconfirmed.
        assert_eq!(
            verify_with(after_handover(), &rewritten, vec![old]),
            Err(AuditError::HandoverUnconfirmed { seq: 6 })
        );
    }

    #[test]
    fn a_forged_handover_is_refused() {
        // Someone with the old key appends a handover to the current key at the head
        // and signs what comes before with the old key: the current key never confirms.
        let entries = chain_with(10, |seq| (seq == 10).then(|| handover(&key(), &new_key())));
        let checkpoints = vec![sign_checkpoint(&key(), 9, &entries[8].hash, 1)];
        assert_eq!(
            verify_with(after_handover(), &entries, checkpoints),
            Err(AuditError::HandoverUnconfirmed { seq: 10 })
        );
        // A handover from a key that was not signing.
        let third = SigningKey::from_bytes(&[5u8; 32]);
        let entries = chain_with(10, |seq| match seq {
            4 => Some(handover(&key(), &new_key())),
            8 => Some(handover(&third, &key())),
            _ => None,
        });
        assert_eq!(
            verify_with(after_handover(), &entries, vec![]),
            Err(AuditError::Handover { seq: 8 })
        );
    }

    #[test]
    fn a_head_recorded_elsewhere_catches_a_cut_or_rewritten_trail() {
        let entries = chain(6);
        let head = entries[5].hash.clone();
        let expecting = |upto: usize, hash: &str| {
            walk(
                Verifier::new(TrustedKeys::only(key().verifying_key()), vec![])
                    .unwrap()
                    .expecting(6, hash),
                &entries[..upto],
            )
        };
        assert_eq!(expecting(6, &head.to_uppercase()).unwrap().entries, 6);
        // Cut back to entry 4 (with any checkpoint after it): intact on its own.
        assert_eq!(verify(&entries[..4], vec![]).unwrap().entries, 4);
        assert_eq!(expecting(4, &head), Err(AuditError::NotAsRecorded { seq: 6 }));
        assert_eq!(
            expecting(6, &entries[4].hash),
            Err(AuditError::NotAsRecorded { seq: 6 })
        );
    }

    #[test]
    fn a_long_trail_without_any_checkpoint_is_refused() {
        // Every checkpoint deleted so that a rewritten trail has nothing to match.
        let entries = chain(crate::CHECKPOINT_EVERY);
        assert_eq!(
            verify(&entries, vec![]),
            Err(AuditError::Unsigned {
                entries: crate::CHECKPOINT_EVERY
            })
        );
        assert_eq!(verify(&entries[..255], vec![]).unwrap().newest_checkpoint, None);
        let signed = sign_checkpoint(&key(), 256, &entries[255].hash, 1);
        assert_eq!(
            verify(&entries, vec![signed]).unwrap().newest_checkpoint,
            Some(256)
        );
    }

    #[test]
    fn a_handover_back_to_a_retired_key_is_refused() {
        // The old key's holder hands signing back to it and confirms with it.
        let entries = chain_with(10, |seq| match seq {
            4 => Some(handover(&key(), &new_key())),
            8 => Some(handover(&new_key(), &key())),
            _ => None,
        });
        assert_eq!(
            verify_with(after_handover(), &entries, vec![]),
            Err(AuditError::Handover { seq: 8 })
        );
    }

    #[test]
    fn a_new_key_signing_before_its_handover_is_out_of_turn() {
        let entries = handed_over_chain();
        let checkpoints = vec![
            sign_checkpoint(&new_key(), 3, &entries[2].hash, 1),
            sign_checkpoint(&new_key(), 6, &entries[5].hash, 2),
        ];
        assert_eq!(
            verify_with(after_handover(), &entries, checkpoints),
            Err(AuditError::OutOfTurn { seq: 3 })
        );
    }

    #[test]
    fn a_checkpoint_naming_an_untrusted_key_is_refused() {
        let entries = chain(3);
        let stranger = sign_checkpoint(&SigningKey::from_bytes(&[9u8; 32]), 3, &entries[2].hash, 1);
        assert_eq!(
            verify_with(after_handover(), &entries, vec![stranger]),
            Err(AuditError::UntrustedKey { seq: 3 })
        );
        // Naming a trusted key does not help a signature made with another.
        let mut claimed = sign_checkpoint(&SigningKey::from_bytes(&[9u8; 32]), 3, &entries[2].hash, 1);
        claimed.key = Some(hex::encode(new_key().verifying_key().to_bytes()));
        assert_eq!(
            verify_with(after_handover(), &entries, vec![claimed]),
            Err(AuditError::CheckpointSignature { seq: 3 })
        );
    }

    #[test]
    fn an_unreadable_handover_is_named() {
        let entries = chain_with(4, |seq| {
            (seq == 2).then(|| {
                (
                    AuditAction::SigningKeyRotated.as_str().into(),
                    r#"{"from":"zz"}"#.into(),
                )
            })
        });
        assert_eq!(
            verify_with(after_handover(), &entries, vec![]),
            Err(AuditError::Handover { seq: 2 })
        );
        // A well-formed handover recorded by someone other than the system.
        let mut by_a_user = handed_over_chain();
        by_a_user[5].actor = "usr_mallory".into();
        by_a_user[5] = by_a_user[5].clone().seal();
        assert_eq!(
            verify_with(after_handover(), &by_a_user[..6], vec![]),
            Err(AuditError::Handover { seq: 6 })
        );
    }
}
