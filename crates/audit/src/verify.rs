use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;

use crate::trust::{Handover, TrustedKeys};
use crate::{AuditEntry, AuditError, Checkpoint, GENESIS_HASH};

/// Walks a trail in sequence order, entry by entry, so a trail of any length is checked
/// in constant memory (checkpoints and key handovers aside).
pub struct Verifier {
    keys: TrustedKeys,
    /// Each checkpoint with the key whose signature it carries.
    checkpoints: BTreeMap<i64, (Checkpoint, VerifyingKey)>,
    handovers: Vec<Handover>,
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
}

impl Verifier {
    pub fn new(keys: TrustedKeys, checkpoints: Vec<Checkpoint>) -> Result<Self, AuditError> {
        let mut signed = BTreeMap::new();
        for c in checkpoints {
            let signer = signer_of(&keys, &c)?;
            signed.insert(c.seq, (c, signer));
        }
        Ok(Self {
            keys,
            checkpoints: signed,
            handovers: Vec::new(),
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        })
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
        if let Some((c, _)) = self.checkpoints.get(&entry.seq)
            && c.hash != entry.hash
        {
            return Err(AuditError::CheckpointMismatch { seq: entry.seq });
        }
        if let Some(handover) = Handover::read(entry)? {
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
        for (&seq, (_, signer)) in &self.checkpoints {
            let mut retirements = self.handovers.iter().filter(|h| h.from == *signer);
            if let Some(h) = retirements.clone().find(|h| h.seq <= seq) {
                return Err(AuditError::RetiredKey {
                    seq,
                    retired_at: h.seq,
                });
            }
            if *signer != self.keys.current && !retirements.any(|h| h.seq > seq) {
                return Err(AuditError::NoHandover { seq });
            }
        }
        Ok(VerifyReport {
            entries: last,
            checkpoints: self.checkpoints.len(),
            head_hash: self.prev_hash,
            key_handovers: self.handovers.len(),
        })
    }
}

/// The trusted key whose signature `c` carries.
fn signer_of(keys: &TrustedKeys, c: &Checkpoint) -> Result<VerifyingKey, AuditError> {
    let candidates: Vec<VerifyingKey> = match (&c.key, keys.unlabelled) {
        (Some(named), _) => {
            let mut bytes = [0u8; 32];
            let key = hex::decode_to_slice(named, &mut bytes)
                .ok()
                .and_then(|()| VerifyingKey::from_bytes(&bytes).ok())
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
                let e = AuditEntry {
                    seq,
                    at: 1_700_000_000_000 + seq,
                    actor: format!("usr_{seq}"),
                    action,
                    object: format!("tkt_{seq}"),
                    outcome: "success".into(),
                    ip: "127.0.0.1".into(),
                    user_agent: "test".into(),
                    session: String::new(),
                    detail,
                    prev_hash: prev.clone(),
                    hash: String::new(),
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
        let mut v = Verifier::new(TrustedKeys::only(key().verifying_key()), checkpoints)?;
        for e in entries {
            v.push(e)?;
        }
        v.finish()
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
        chain_with(10, |seq| {
            (seq == 6).then(|| {
                let detail = crate::handover_detail(&key().verifying_key(), &new_key().verifying_key());
                (AuditAction::SigningKeyRotated.as_str().into(), detail.to_string())
            })
        })
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
        let mut v = Verifier::new(keys, checkpoints)?;
        for e in entries {
            v.push(e)?;
        }
        v.finish()
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
        verify_with(by_hand, &entries, vec![old.clone()]).unwrap();
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
    fn a_trail_rewritten_with_an_old_key_and_no_handover_is_refused() {
        // The trail from entry 6 on rewritten without the handover (the new key's
        // checkpoints dropped because they no longer match) and signed again with the
        // old key: every link and hash is right, but the old key was never handed over.
        let rewritten = chain(10);
        let checkpoints = vec![sign_checkpoint(&key(), 10, &rewritten[9].hash, 3)];
        assert_eq!(
            verify_with(after_handover(), &rewritten, checkpoints),
            Err(AuditError::NoHandover { seq: 10 })
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
    }
}
