//! The erasure ledger at start: the file beside the master key and the database are
//! reconciled before anything is served (`palisade_backup::erasure_ledger`).

use palisade_backup::erasure_ledger::ErasureLedger;

use crate::app::Opened;
use crate::config::Settings;
use crate::error::CliError;

/// Refuses to start on a damaged or foreign ledger.
pub async fn reconcile(settings: &Settings, opened: &Opened) -> Result<(), CliError> {
    let ledger = ErasureLedger::at(&settings.privacy.erasure_ledger);
    let done = palisade_backup::erasure_ledger::reconcile(&opened.store, &ledger, &opened.keyring).await?;
    if done.written > 0 {
        tracing::info!(written = done.written, ledger = %ledger.path().display(), "erasures written to the ledger");
    }
    if !done.reapplied.is_empty() {
        tracing::warn!(
            people = done.reapplied.len(),
            "people erased after the database's backup was made were erased again"
        );
    }
    Ok(())
}
