//! Handing checkpoint signing over to a new key. The first node started with a new
//! `[audit] signing_key_file` appends the handover entry (from the key that signed the
//! latest checkpoint to its own), signs it with the new key and lists the old key as
//! retired; nodes still holding the old key then stop signing, and are refused at
//! their next start.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome, TrustedKeys, VerifyingKey};
use sqlx::Row;

use crate::{Dialect, Store, StoreError, Tx};

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
    /// itself handed over from, and a latest signer this node does not trust.
    pub async fn hand_over_audit_signing(&self) -> Result<Option<i64>, StoreError> {
        let current = self.keys.audit_verifying_key();
        let mut tx = self.begin().await?;
        // Two nodes starting with the new key at once: the second waits here and then
        // finds the latest checkpoint already signed with it.
        if tx.dialect == Dialect::Postgres {
            sqlx::query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
                .fetch_one(tx.conn())
                .await?;
        }
        if let Some(retired_seq) = self.audit_key_retired_at(&mut tx).await? {
            return Err(StoreError::RetiredAuditKey { retired_seq });
        }
        let latest = sqlx::query("SELECT public_key FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(tx.conn())
            .await?;
        let Some(latest) = latest else {
            return Ok(None);
        };
        let signer = match latest.try_get::<Option<String>, _>("public_key")? {
            None => self.keys.audit_derived_verifying_key(),
            Some(named) => parse_key(&named).ok_or(StoreError::UnknownAuditSigner { key: named })?,
        };
        if signer == current {
            return Ok(None);
        }
        let signer_hex = hex::encode(signer.to_bytes());
        if !self.keys.audit_retired_verifying_keys().contains(&signer) {
            return Err(StoreError::UnknownAuditSigner { key: signer_hex });
        }
        let event = AuditEvent::new(AuditAction::SigningKeyRotated, "audit", Outcome::Success)
            .with_detail(palisade_audit::handover_detail(&signer, &current));
        let seq = self
            .append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        sqlx::query(
            "INSERT INTO audit_retired_keys (public_key, retired_seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&signer_hex)
        .bind(seq)
        .execute(tx.conn())
        .await?;
        let hash: String = sqlx::query("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq)
            .fetch_one(tx.conn())
            .await?
            .try_get(0)?;
        self.insert_checkpoint(&mut tx, seq, &hash).await?;
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
    /// handover, oldest first (for display: verification reads the trail instead).
    pub async fn audit_key_handovers(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT public_key, retired_seq FROM audit_retired_keys ORDER BY retired_seq")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("public_key")?, r.try_get("retired_seq")?)))
            .collect()
    }

    /// The entry at which this node's signing key was handed over from, if it was.
    pub(crate) async fn audit_key_retired_at(&self, tx: &mut Tx) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT retired_seq FROM audit_retired_keys WHERE public_key = $1")
            .bind(hex::encode(self.keys.audit_verifying_key().to_bytes()))
            .fetch_optional(tx.conn())
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}

fn parse_key(text: &str) -> Option<VerifyingKey> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}
