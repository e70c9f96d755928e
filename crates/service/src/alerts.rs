//! Security alerts and what the anomaly detector does about a finding: an alert is
//! recorded once (per its key), audited and mailed to every active administrator —
//! but one address raises at most one alert of a kind an hour, and no more than
//! [`ALERT_MAILS_PER_HOUR`] alert mails go out an hour, counted inside the transaction
//! so concurrent alerts cannot all read the same count.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{OutgoingMail, Role, SessionId, UserId};
use palisade_store::{Tx, UserKind};
use serde_json::json;

use crate::{Desk, ServiceError};

/// Alert mails an hour, across all alerts.
pub const ALERT_MAILS_PER_HOUR: i64 = 10;
const HOUR_MS: i64 = 3_600_000;

impl Desk {
    /// Records the alert `kind` about `source`, raised from the address `from_ip`;
    /// returns whether it was new (not a duplicate of `dedupe_key`, not over the
    /// address's hourly allowance).
    pub async fn raise_alert(
        &self,
        audit: &AuditContext,
        from_ip: &str,
        kind: &str,
        source: &str,
        detail: &str,
        dedupe_key: &str,
    ) -> Result<bool, ServiceError> {
        let mut tx = self.store.begin().await?;
        // One alert of a kind per address and hour, whatever the requests name
        // (conversations, ids): one address cannot raise a stream of them.
        let from_address = format!("alerts-from:{kind}:{}", palisade_core::source_network(from_ip));
        if self
            .store
            .hit_rate_window_in(&mut tx, &from_address, HOUR_MS)
            .await?
            > 1
        {
            tx.commit().await?;
            return Ok(false);
        }
        if !self
            .alert_in(&mut tx, audit, kind, source, detail, dedupe_key)
            .await?
        {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records an alert inside `tx` (once per `dedupe_key`), audits it and mails the
    /// administrators within the hourly mail budget; for alerts the desk raises itself
    /// (a scanner's finding), which no outside address can repeat at will.
    pub(crate) async fn alert_in(
        &self,
        tx: &mut Tx,
        audit: &AuditContext,
        kind: &str,
        source: &str,
        detail: &str,
        dedupe_key: &str,
    ) -> Result<bool, ServiceError> {
        if !self
            .store
            .raise_alert(tx, kind, source, detail, dedupe_key)
            .await?
        {
            return Ok(false);
        }
        let event = AuditEvent::new(AuditAction::SecurityAlert, source, Outcome::Denied)
            .with_detail(json!({ "kind": kind, "detail": detail }));
        self.store.append_audit(tx, audit, &event).await?;
        let mailed = self.store.hit_rate_window_in(tx, "alert-mails", HOUR_MS).await?;
        let staff = if mailed <= ALERT_MAILS_PER_HOUR {
            self.store.list_users(UserKind::Staff, None, 1000).await?.items
        } else {
            Vec::new()
        };
        for admin in staff.iter().filter(|u| u.role == Role::Admin && !u.disabled) {
            let mail = OutgoingMail {
                to: admin.email.as_str().to_owned(),
                subject: format!("Palisade security alert: {kind}"),
                text: format!(
                    "Palisade raised a security alert.\n\nKind: {kind}\nSource: {source}\nWhat: {detail}\n\n\
                     See Security alerts in the administration pages \
                     for the full list. This message contains no links on purpose.\n"
                ),
                ..OutgoingMail::default()
            };
            self.store.enqueue_mail(tx, "security_alert", &mail).await?;
        }
        Ok(true)
    }

    /// Ends the session that carried a burst the anomaly detector flagged, audited.
    pub async fn end_flagged_session(
        &self,
        audit: &AuditContext,
        session: &SessionId,
        user: &UserId,
    ) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        self.store.revoke_session(&mut tx, session).await?;
        let event = AuditEvent::new(AuditAction::SessionEnded, user.as_str(), Outcome::Denied)
            .with_detail(json!({ "reason": "anomaly" }));
        self.store.append_audit(&mut tx, audit, &event).await?;
        tx.commit().await?;
        Ok(())
    }
}
