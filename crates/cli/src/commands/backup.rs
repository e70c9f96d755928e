//! `backup create`, `backup verify` and `restore`: the adapters over `palisade_backup`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_crypto::Keyring;
use zeroize::Zeroizing;

use crate::app;
use crate::config::{Settings, parse_recipients};
use crate::error::CliError;

/// Writes a new identity to `out` (owner-only, never over an existing file) and prints
/// its recipient.
pub fn keygen(out: &Path, x25519: bool) -> Result<(), CliError> {
    let identity = if x25519 {
        palisade_backup::Identity::generate_x25519()
    } else {
        palisade_backup::Identity::generate()
    };
    let recipient = identity.to_public();
    palisade_backup::write_identity(out, &identity)?;
    println!("identity written to {}; keep it off the server.", out.display());
    println!(
        "Add its recipient to the configuration:

[backup]
recipients = [\"{recipient}\"]"
    );
    Ok(())
}

pub async fn create(settings: &Settings, to: &Path, recipients: &[String]) -> Result<(), CliError> {
    let recipients = if recipients.is_empty() {
        settings.backup.recipients.clone()
    } else {
        parse_recipients(recipients, "--recipient")?
    };
    let opened = app::open(settings, false).await?;
    let database_url = palisade_store::primary_url(&settings.database_url).await?;
    let created = palisade_backup::create(
        &opened.store,
        &database_url,
        &opened.keyring,
        &recipients,
        to,
        &work_dir(settings),
        &settings.backup.tools,
    )
    .await;
    opened.store.close().await;
    let created = created?;
    let facts = &created.manifest.facts;
    println!(
        "backup written: {} ({} tickets, {} messages, audit trail to entry {}, schema {})",
        created.path.display(),
        facts.rows.get("tickets").copied().unwrap_or(0),
        facts.rows.get("messages").copied().unwrap_or(0),
        facts.audit_head.as_ref().map_or(0, |(seq, _)| *seq),
        facts.schema_version
    );
    Ok(())
}

pub async fn verify(
    settings: &Settings,
    file: &Path,
    identity: &Path,
    scratch: Option<PathBuf>,
    scratch_url: Option<String>,
) -> Result<(), CliError> {
    let identity = read_identity(identity)?;
    let keys = keyring(settings)?;
    let postgres_url = match scratch_url {
        Some(url) => Some(url),
        None if settings.database_url.starts_with("sqlite:") => None,
        None => Some(palisade_store::primary_url(&settings.database_url).await?),
    };
    let scratch = palisade_backup::Scratch {
        dir: scratch.unwrap_or_else(std::env::temp_dir),
        postgres_url,
    };
    let checked = palisade_backup::verify(file, &identity, keys, &scratch, &settings.backup.tools).await?;
    report("backup verified", &checked);
    Ok(())
}

pub async fn restore(settings: &Settings, file: &Path, identity: &Path) -> Result<(), CliError> {
    let identity = read_identity(identity)?;
    let keys = keyring(settings)?;
    if settings.database_url.starts_with("sqlite:") {
        app::ensure_private_dir(&settings.data_dir)?;
    }
    let database_url = palisade_store::primary_url(&settings.database_url).await?;
    let ledger = palisade_backup::erasure_ledger::ErasureLedger::at(&settings.privacy.erasure_ledger);
    let checked = palisade_backup::restore(
        file,
        &identity,
        keys,
        &database_url,
        &settings.backup.tools,
        &ledger,
    )
    .await?;
    report("backup restored and verified", &checked);
    let again = &checked.erasures.reapplied;
    if !again.is_empty() {
        println!(
            "{} people erased after this backup was made were erased again (the erasure ledger {})",
            again.len(),
            ledger.path().display()
        );
    }
    Ok(())
}

fn report(what: &str, checked: &palisade_backup::Checked) {
    let facts = &checked.manifest.facts;
    println!(
        "{what}: {} tables, {} tickets, {} messages; audit trail intact: {} entries, {} signed checkpoints; \
         {} data keys, {} subjects and {} messages opened with the master key",
        facts.rows.len(),
        facts.rows.get("tickets").copied().unwrap_or(0),
        facts.rows.get("messages").copied().unwrap_or(0),
        checked.audit.entries,
        checked.audit.checkpoints,
        checked.sealed.data_keys,
        checked.sealed.subjects,
        checked.sealed.messages
    );
    if let Some(signer) = &checked.audit.newest_signer {
        println!("its newest audit checkpoints are signed with key {signer}");
    }
}

/// Where the unencrypted copy is made: the data directory (private, beside the
/// database) when it exists, else the system's temporary directory; never the
/// backup directory.
pub(crate) fn work_dir(settings: &Settings) -> PathBuf {
    if settings.data_dir.is_dir() {
        settings.data_dir.clone()
    } else {
        std::env::temp_dir()
    }
}

/// The master key alone: checking or restoring a backup opens no configured database.
fn keyring(settings: &Settings) -> Result<Arc<Keyring>, CliError> {
    let key = app::master_key(settings, false)?;
    app::keyring_for(settings, &key)
}

/// An age identity file (`age-keygen`'s format: comments, then `AGE-SECRET-KEY-1…`),
/// readable by its owner only.
pub(crate) fn read_identity(path: &Path) -> Result<palisade_backup::Identity, CliError> {
    app::refuse_if_shared(path)?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| CliError::Io(path.display().to_string(), e))?,
    );
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| CliError::Invalid(format!("{} holds no age identity", path.display())))?;
    line.parse().map_err(|_| {
        CliError::Invalid(format!(
            "{} is not an age X25519 identity (AGE-SECRET-KEY-1…)",
            path.display()
        ))
    })
}
