//! Handing checkpoint signing over to a new key. The first node started with a new
//! `[audit] signing_key_file` appends the handover entry (from the key that signed the
//! latest checkpoint to its own) and confirms it with a checkpoint signed by the new
//! key; from then on only the new key signs (`Store::insert_checkpoint`). The old key
//! is listed as retired so that a node configured with it is refused at start.

use palisade_audit::{AuditAction, AuditContext, AuditError, AuditEvent, Checkpoint, Outcome, TrustedKeys};
use sqlx::Row;

use crate::audit::{checkpoint_from_row, lock_head};
use crate::{Store, StoreError, Tx};

impl Store {
    /// The keys this node trusts to have signed checkpoints: its own, the earlier ones
    /// configured, and the root's (which signed the checkpoints that name no key).
    pub fn audit_trusted_keys(&self) -> TrustedKeys {
        TrustedKeys {
            current: self.keys.audit_verifying_key(),
            retired: self.keys.audit_retired_verifying_keys(),
            unlabelled: Some(self.keys.audit_derived_verifying_key()),
        }
    }

    /// Records the handover to this node's key if the latest checkpoint was signed with
    /// another trusted key; returns the handover entry's seq. Refuses a key that was
    /// itself handed over from, a latest checkpoint that does not verify, and a latest
    /// signer this node does not trust.
    pub async fn hand_over_audit_signing(&self) -> Result<Option<i64>, StoreError> {
        let current = self.keys.audit_verifying_key();
        let mut tx = self.begin().await?;
        // Two nodes starting with the new key at once: the second waits here and then
        // finds the latest checkpoint already signed with it.
        lock_head(&mut tx).await?;
        if let Some(retired_seq) = self.audit_key_retired_at(&mut tx).await? {
            return Err(StoreError::RetiredAuditKey { retired_seq });
        }
        let Some(latest) = latest_checkpoint(&mut tx).await? else {
            return Ok(None);
        };
        // The signer is taken from a checkpoint that verifies and matches its entry,
        // never from the column alone.
        let trusted = self.audit_trusted_keys();
        let named = latest.key.clone();
        let signer = match &named {
            None => Some(self.keys.audit_derived_verifying_key()),
            Some(text) => palisade_crypto::parse_audit_public_key(text).ok(),
        }
        .filter(|k| *k == trusted.current || trusted.retired.contains(k))
        .ok_or_else(|| StoreError::UnknownAuditSigner {
            key: named.unwrap_or_else(|| "(the root's)".into()),
        })?;
        let entry_hash: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(latest.seq)
            .fetch_optional(tx.conn())
            .await?;
        if !latest.signature_valid(&signer) || entry_hash.as_deref() != Some(latest.hash.as_str()) {
            return Err(StoreError::AuditTrail(AuditError::CheckpointSignature {
                seq: latest.seq,
            }));
        }
        if signer == current {
            return Ok(None);
        }
        // Signed with a key already handed over from: tampering, or a node of an earlier
        // release. Handing over again would hide it.
        let signer_retired_at: Option<i64> = sqlx::query_scalar(RETIRED_SQL)
            .bind(hex::encode(signer.to_bytes()))
            .fetch_optional(tx.conn())
            .await?;
        if let Some(retired_at) = signer_retired_at {
            return Err(StoreError::AuditTrail(AuditError::RetiredKey {
                seq: latest.seq,
                retired_at,
            }));
        }
        let event = AuditEvent::new(AuditAction::SigningKeyRotated, "audit", Outcome::Success)
            .with_detail(palisade_audit::handover_detail(&signer, &current));
        // The new key is not the latest signer yet, so the entry is checkpointed here,
        // not by the append (which would decline).
        let seq = self
            .append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        let signer_hex = hex::encode(signer.to_bytes());
        sqlx::query(
            "INSERT INTO audit_retired_keys (public_key, retired_seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&signer_hex)
        .bind(seq)
        .execute(tx.conn())
        .await?;
        let hash: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_one(tx.conn())
            .await?;
        self.write_checkpoint(&mut tx, seq, &hash).await?;
        tx.commit().await?;
        tracing::info!(
            from = %signer_hex,
            to = %hex::encode(current.to_bytes()),
            entry = seq,
            "audit checkpoints are signed with a new key from here on"
        );
        Ok(Some(seq))
    }

    /// Keys checkpoint signing was handed over from, with the audit entry of each
    /// handover, oldest first, as nodes recorded them (for display: `audit verify`
    /// reads the handovers from the trail itself).
    pub async fn audit_key_handovers(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT public_key, retired_seq FROM audit_retired_keys ORDER BY retired_seq")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("public_key")?, r.try_get("retired_seq")?)))
            .collect()
    }

    /// Refuses to open a database whose trail handed signing over from this node's key.
    pub(crate) async fn refuse_retired_audit_key(&self) -> Result<(), StoreError> {
        let retired: Option<i64> = sqlx::query_scalar(RETIRED_SQL)
            .bind(hex::encode(self.keys.audit_verifying_key().to_bytes()))
            .fetch_optional(&self.read)
            .await?;
        match retired {
            Some(retired_seq) => Err(StoreError::RetiredAuditKey { retired_seq }),
            None => Ok(()),
        }
    }

    /// The entry at which this node's signing key was handed over from, if it was.
    async fn audit_key_retired_at(&self, tx: &mut Tx) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(RETIRED_SQL)
            .bind(hex::encode(self.keys.audit_verifying_key().to_bytes()))
            .fetch_optional(tx.conn())
            .await?)
    }
}

const RETIRED_SQL: &str = "SELECT retired_seq FROM audit_retired_keys WHERE public_key = $1";

async fn latest_checkpoint(tx: &mut Tx) -> Result<Option<Checkpoint>, StoreError> {
    let row = sqlx::query(
        "SELECT seq, hash, at, signature, public_key FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(checkpoint_from_row).transpose()
}
