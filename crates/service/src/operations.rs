//! What the server's own housekeeping records: a scheduled backup written and
//! verified is audited; one that failed raises a security alert, because an operator
//! who believes a backup exists when none does learns it on the day of the restore.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use serde_json::json;

use crate::{Desk, ServiceError};

/// A scheduled backup that was written and passed its check.
#[derive(Clone, Debug)]
pub struct BackupRecord {
    /// The archive's file name (not its directory: that is configuration).
    pub file: String,
    pub bytes: u64,
    pub tickets: i64,
    pub audit_entries: i64,
    /// Older archives removed by retention.
    pub pruned: usize,
}

impl Desk {
    /// Audits a scheduled backup that was written and verified.
    pub async fn record_backup(&self, backup: &BackupRecord) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        let event =
            AuditEvent::new(AuditAction::BackupCreated, &backup.file, Outcome::Success).with_detail(json!({
                "bytes": backup.bytes,
                "tickets": backup.tickets,
                "audit_entries": backup.audit_entries,
                "pruned": backup.pruned,
                "verified": true,
            }));
        self.store
            .append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Raises an alert about the server's own work (`kind` such as `backup_failed`),
    /// once per `dedupe_key`; `detail` is for administrators and names no secret.
    pub async fn raise_operations_alert(
        &self,
        kind: &str,
        detail: &str,
        dedupe_key: &str,
    ) -> Result<bool, ServiceError> {
        let mut tx = self.store.begin().await?;
        let raised = self
            .alert_in(
                &mut tx,
                &AuditContext::system(),
                kind,
                "operations",
                detail,
                dedupe_key,
            )
            .await?;
        tx.commit().await?;
        Ok(raised)
    }
}
