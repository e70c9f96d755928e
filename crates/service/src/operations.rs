//! What the server's own housekeeping records: a scheduled backup written and
//! verified is audited; one that failed raises a security alert, because an operator
//! who believes a backup exists when none does learns it on the day of the restore. A
//! dependency advisory check is recorded for the administration pages and audited; a
//! vulnerable dependency raises an alert (once per set of advisories).

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use serde_json::json;

use crate::{Desk, ServiceError};

/// The lease scheduled backups are taken under; its position is when the last
/// verified backup was made.
pub const SCHEDULED_BACKUP_LEASE: &str = "scheduled-backup";

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

    /// Records what a check of the compiled-in dependencies found (`checked_by`: `cli`
    /// or `serve`); a vulnerable dependency raises `vulnerable_dependency`.
    pub async fn record_advisory_check(
        &self,
        report: &palisade_supply::advisories::Report,
        checked_by: &str,
    ) -> Result<(), ServiceError> {
        let findings = json!({
            "vulnerable": report.vulnerable,
            "warnings": report.warnings,
            "accepted": report.accepted,
        })
        .to_string();
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let check = palisade_store::AdvisoryCheck {
            checked_at: palisade_core::UnixMillis::now().0,
            checked_by: checked_by.to_owned(),
            palisade_version: palisade_supply::VERSION.to_owned(),
            dependencies: count(report.dependencies),
            advisories_read: count(report.advisories_read),
            vulnerable: count(report.vulnerable.len()),
            warnings: count(report.warnings.len()),
            findings,
        };
        let mut tx = self.store.begin().await?;
        self.store.record_advisory_check(&mut tx, &check).await?;
        let outcome = if report.vulnerable.is_empty() {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        let ids: Vec<&str> = report.vulnerable.iter().map(|f| f.id.as_str()).collect();
        let event = AuditEvent::new(AuditAction::AdvisoriesChecked, checked_by, outcome).with_detail(json!({
            "dependencies": report.dependencies,
            "vulnerable": ids,
            "warnings": report.warnings.len(),
        }));
        self.store
            .append_audit(&mut tx, &AuditContext::system(), &event)
            .await?;
        if !ids.is_empty() {
            let named: Vec<String> = report
                .vulnerable
                .iter()
                .map(|f| format!("{} {} ({})", f.package, f.version, f.id))
                .collect();
            let detail = format!(
                "This build of Palisade contains dependencies with known vulnerabilities: {}. \
                 Upgrade to a release that carries the fixes.",
                named.join(", ")
            );
            self.alert_in(
                &mut tx,
                &AuditContext::system(),
                "vulnerable_dependency",
                "operations",
                &detail,
                &format!(
                    "vulnerable_dependency:{}:{}",
                    palisade_supply::VERSION,
                    ids.join(",")
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
