use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;

use crate::{AuditEntry, AuditError, Checkpoint, GENESIS_HASH};

/// Walks a trail in sequence order, entry by entry, so a trail of any length is checked
/// in constant memory (checkpoints aside).
pub struct Verifier {
    key: VerifyingKey,
    checkpoints: BTreeMap<i64, Checkpoint>,
    expected_seq: i64,
    prev_hash: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: i64,
    pub checkpoints: usize,
    pub head_hash: String,
}

impl Verifier {
    pub fn new(key: VerifyingKey, checkpoints: Vec<Checkpoint>) -> Result<Self, AuditError> {
        for c in &checkpoints {
            if !c.signature_valid(&key) {
                return Err(AuditError::CheckpointSignature { seq: c.seq });
            }
        }
        Ok(Self {
            key,
            checkpoints: checkpoints.into_iter().map(|c| (c.seq, c)).collect(),
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        })
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
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
        if let Some(c) = self.checkpoints.get(&entry.seq)
            && c.hash != entry.hash
        {
            return Err(AuditError::CheckpointMismatch { seq: entry.seq });
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
        Ok(VerifyReport {
            entries: last,
            checkpoints: self.checkpoints.len(),
            head_hash: self.prev_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::sign_checkpoint;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let e = AuditEntry {
                    seq,
                    at: 1_700_000_000_000 + seq,
                    actor: format!("usr_{seq}"),
                    action: "ticket.created".into(),
                    object: format!("tkt_{seq}"),
                    outcome: "success".into(),
                    ip: "127.0.0.1".into(),
                    user_agent: "test".into(),
                    session: String::new(),
                    detail: "{}".into(),
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
        let mut v = Verifier::new(key().verifying_key(), checkpoints)?;
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
        let forged = sign_checkpoint(&SigningKey::from_bytes(&[9u8; 32]), 3, &entries[2].hash, 1);
        assert_eq!(
            verify(&entries, vec![forged]),
            Err(AuditError::CheckpointSignature { seq: 3 })
        );
    }
}
