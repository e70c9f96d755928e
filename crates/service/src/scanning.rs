//! Malware scanning of ticket files. Every file (mail, portal, API) is stored
//! `pending` and judged by clamd after its transaction commits: at once when the
//! scanner answers, otherwise by the background sweep ([`Desk::scan_waiting`]) once it
//! is back. While scanning is on, only a `clean` file is served: a pending one waits
//! (fail closed) and an infected one stays sealed and blocked, audited and alerted.
//! An operator may turn scanning off; files are then served unscanned, and say so.

use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_scan::{ScanError, Scanner, Verdict};
use palisade_store::{AttachmentRecord, ScanState};
use serde_json::json;

use crate::{Desk, ServiceError};

/// Files judged per round of the sweep; a round right after a store takes the new
/// files (a message carries at most a few dozen).
const SCAN_BATCH: u32 = 50;

/// Whether a file may be downloaded now, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Availability {
    /// Scanned and clean.
    Ready,
    /// Scanning is off here: served, marked as not scanned.
    Unscanned,
    /// Waiting for the scanner (just stored, or the scanner is unreachable).
    AwaitingScan,
    /// The scanner found this signature; never served.
    Blocked(String),
}

impl Availability {
    pub fn as_str(&self) -> &'static str {
        match self {
            Availability::Ready => "clean",
            Availability::Unscanned => "unscanned",
            Availability::AwaitingScan => "pending",
            Availability::Blocked(_) => "infected",
        }
    }
}

/// What one round of scanning did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScanRound {
    pub clean: usize,
    pub infected: usize,
}

impl Desk {
    /// Scans every file with `scanner` (clamd) before it may be downloaded.
    pub fn with_scanner(mut self, scanner: Scanner) -> Self {
        self.scanner = Some(scanner);
        self
    }

    /// Whether files are scanned here.
    pub fn scanning(&self) -> bool {
        self.scanner.is_some()
    }

    /// The one rule for serving a file.
    pub fn availability(&self, file: &AttachmentRecord) -> Availability {
        match (&file.scan, self.scanning()) {
            (ScanState::Infected(signature), _) => Availability::Blocked(signature.clone()),
            (ScanState::Clean, _) => Availability::Ready,
            (ScanState::Pending, true) => Availability::AwaitingScan,
            (ScanState::Pending, false) => Availability::Unscanned,
        }
    }

    /// Whether the scanner answers (for readiness); `Ok` when scanning is off.
    pub async fn scanner_ready(&self) -> Result<(), ServiceError> {
        match &self.scanner {
            Some(scanner) => scanner.ping().await.map_err(scanner_down),
            None => Ok(()),
        }
    }

    /// Judges the files waiting for the scanner, oldest first, up to a batch. Stops
    /// at the first scanner failure (the rest wait for the next round, still blocked).
    pub async fn scan_waiting(&self) -> Result<ScanRound, ServiceError> {
        let Some(scanner) = &self.scanner else {
            return Ok(ScanRound::default());
        };
        let mut round = ScanRound::default();
        for id in self.store.attachments_awaiting_scan(SCAN_BATCH).await? {
            let Some(work) = self.store.attachment_for_scan(&id).await? else {
                continue;
            };
            let verdict = scanner.scan(&work.content).await.map_err(scanner_down)?;
            drop(work.content);
            let state = match verdict {
                Verdict::Clean => ScanState::Clean,
                Verdict::Infected(signature) => ScanState::Infected(signature),
            };
            let mut tx = self.store.begin().await?;
            if !self.store.record_scan(&mut tx, &id, &state).await? {
                continue;
            }
            let outcome = if state == ScanState::Clean {
                Outcome::Success
            } else {
                Outcome::Denied
            };
            let mut detail = json!({ "attachment": id.to_string(), "verdict": state.as_str() });
            if let ScanState::Infected(signature) = &state {
                detail["signature"] = json!(signature);
            }
            let audit = AuditContext::system();
            let event = AuditEvent::new(AuditAction::AttachmentScanned, work.ticket.to_string(), outcome)
                .with_detail(detail);
            self.store.append_audit(&mut tx, &audit, &event).await?;
            if let ScanState::Infected(signature) = &state {
                let what = format!(
                    "a file on ticket {} matched the malware signature {signature}; it is blocked",
                    work.ticket
                );
                self.alert_in(
                    &mut tx,
                    &audit,
                    "malware",
                    work.ticket.as_str(),
                    &what,
                    id.as_str(),
                )
                .await?;
                round.infected += 1;
            } else {
                round.clean += 1;
            }
            tx.commit().await?;
        }
        Ok(round)
    }

    /// Right after files were stored: judge them now if the scanner answers. A
    /// failure is only logged — the files stay pending and the sweep retries them.
    pub(crate) async fn scan_soon(&self) {
        if !self.scanning() {
            return;
        }
        if let Err(e) = self.scan_waiting().await {
            tracing::warn!(error = %e, "malware scan deferred; files wait for the scanner");
        }
    }
}

fn scanner_down(e: ScanError) -> ServiceError {
    ServiceError::ScannerDown(e.to_string())
}
