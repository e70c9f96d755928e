//! The backups `serve` takes on its own: one node at a time across a cluster (a lease
//! whose position is when the last good backup was made), each written to the
//! operator's recipients and to this server's verification identity, decrypted into a
//! scratch database and checked before it counts; then retention prunes the old ones.
//! A backup that fails anywhere raises a security alert and is retried within the
//! hour; a failed archive is renamed `.failed`, never counted or pruned as good.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use palisade_backup::{Identity, Recipient};
use palisade_core::UnixMillis;
use palisade_crypto::Keyring;
use palisade_service::{BackupRecord, Desk};
use palisade_store::Store;

use crate::config::{BackupSchedule, Settings};
use crate::error::CliError;

const LEASE: &str = palisade_service::SCHEDULED_BACKUP_LEASE;
/// Longer than any backup runs, so no second node starts one beside it; a node that
/// dies mid-backup hands over once it lapses.
const LEASE_MS: i64 = 6 * 3_600_000;
const TICK: Duration = Duration::from_secs(60);
const RETRY_AFTER: Duration = Duration::from_secs(3600);
const VERIFY_IDENTITY_FILE: &str = "backup-verify.age";

pub struct ScheduledBackups {
    store: Store,
    desk: Desk,
    keys: Arc<Keyring>,
    database_url: String,
    tools: palisade_backup::PgTools,
    schedule: BackupSchedule,
    recipients: Vec<Recipient>,
    verify_with: Identity,
    node: String,
    /// The data directory: where unencrypted copies are made and checked.
    work: PathBuf,
}

impl ScheduledBackups {
    /// The schedule `[backup]` sets, if any; fails at start (not at the first backup)
    /// when the verification identity cannot be read or made. The directory is made
    /// by each backup, so one unmounted later raises an alert instead of passing.
    pub fn from_settings(
        settings: &Settings,
        store: &Store,
        desk: Desk,
        keys: Arc<Keyring>,
        node: &str,
    ) -> Result<Option<Self>, CliError> {
        let Some(schedule) = settings.backup.schedule.clone() else {
            return Ok(None);
        };
        let post_quantum = settings.backup.recipients.iter().all(Recipient::is_post_quantum);
        if !post_quantum && settings.backup.recipients.iter().any(Recipient::is_post_quantum) {
            return Err(CliError::Config(
                "[backup] recipients mix post-quantum (age1pq1…) and X25519 (age1…) keys; age refuses to"
                    .into(),
            ));
        }
        let identity_path = schedule
            .verify_identity
            .clone()
            .unwrap_or_else(|| settings.data_dir.join(VERIFY_IDENTITY_FILE));
        let verify_with = verification_identity(&identity_path, post_quantum)?;
        let mut recipients = settings.backup.recipients.clone();
        recipients.push(verify_with.to_public());
        Ok(Some(Self {
            store: store.clone(),
            desk,
            keys,
            database_url: settings.database_url.clone(),
            tools: settings.backup.tools.clone(),
            schedule,
            recipients,
            verify_with,
            node: node.to_owned(),
            work: settings.data_dir.clone(),
        }))
    }

    pub async fn run(self, mut stopping: tokio::sync::watch::Receiver<bool>) {
        let mut next_try = tokio::time::Instant::now();
        loop {
            if *stopping.borrow() {
                return;
            }
            if tokio::time::Instant::now() >= next_try {
                match self.round().await {
                    Ok(_) => {}
                    Err(failure) => {
                        tracing::error!(error = %failure, "scheduled backup failed");
                        self.alert(&failure).await;
                        next_try = tokio::time::Instant::now() + RETRY_AFTER.min(self.schedule.every);
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                _ = stopping.changed() => return,
            }
        }
    }

    /// One look at the schedule: a backup if one is due and this node holds the lease.
    async fn round(&self) -> Result<Option<BackupRecord>, CliError> {
        let Some(last) = self
            .store
            .lease_subscription(LEASE, &self.node, LEASE_MS, 0)
            .await?
        else {
            return Ok(None);
        };
        let every_ms = i64::try_from(self.schedule.every.as_millis()).unwrap_or(i64::MAX);
        let done = if UnixMillis::now().0.saturating_sub(last) >= every_ms {
            self.back_up().await.map(Some)
        } else {
            Ok(None)
        };
        let handed = if done.is_err() {
            // Kept until this node's retry, so the rest of a cluster does not run a
            // full dump each a minute later for the same failure.
            let retry_ms =
                i64::try_from(RETRY_AFTER.min(self.schedule.every).as_millis()).unwrap_or(LEASE_MS);
            self.store
                .lease_subscription(LEASE, &self.node, retry_ms, 0)
                .await
                .map(|_| ())
        } else {
            self.store.release_lease(LEASE, &self.node).await
        };
        if let Err(e) = handed {
            tracing::warn!(error = %e, "handing on the scheduled backup's lease");
        }
        done
    }

    async fn back_up(&self) -> Result<BackupRecord, CliError> {
        let dir = &self.schedule.directory;
        // With several PostgreSQL servers, the dump and the scratch copy go to whichever
        // is the primary now.
        let database_url = palisade_store::primary_url(&self.database_url).await?;
        let created = palisade_backup::create(
            &self.store,
            &database_url,
            &self.keys,
            &self.recipients,
            dir,
            &self.work,
            &self.tools,
        )
        .await?;
        let scratch = palisade_backup::Scratch {
            dir: self.work.clone(),
            postgres_url: Some(self.schedule.scratch_url.clone().unwrap_or(database_url)),
        };
        let checked = palisade_backup::verify(
            &created.path,
            &self.verify_with,
            self.keys.clone(),
            &scratch,
            &self.tools,
        )
        .await;
        let checked = match checked {
            Ok(checked) => checked,
            Err(e) => {
                set_aside(&created.path);
                return Err(e.into());
            }
        };
        let made_at = created.manifest.created_at;
        if !self
            .store
            .advance_lease(LEASE, &self.node, made_at, LEASE_MS)
            .await?
        {
            // The lease lapsed mid-backup and another node may be taking one: this
            // archive is good, but the schedule is that node's now.
            tracing::warn!("the scheduled backup outlived its lease");
        }
        let (dir_owned, work, keep, keep_for) = (
            dir.clone(),
            self.work.clone(),
            self.schedule.keep,
            self.schedule.keep_for,
        );
        let pruned = tokio::task::spawn_blocking(move || {
            palisade_backup::remove_abandoned(&work)?;
            palisade_backup::prune(&dir_owned, keep, keep_for, UnixMillis::now().0)
        })
        .await
        .map_err(|e| CliError::Invalid(format!("retention stopped: {e}")))??;
        let record = BackupRecord {
            file: file_name(&created.path),
            bytes: std::fs::metadata(&created.path).map_or(0, |m| m.len()),
            tickets: checked.manifest.facts.rows.get("tickets").copied().unwrap_or(0),
            audit_entries: checked.audit.entries,
            pruned: pruned.backups.len(),
        };
        self.desk
            .record_backup(&record)
            .await
            .map_err(CliError::Service)?;
        tracing::info!(
            file = %record.file,
            tickets = record.tickets,
            pruned = record.pruned,
            "scheduled backup written and verified"
        );
        Ok(record)
    }

    async fn alert(&self, failure: &CliError) {
        // One alert a day for a schedule that keeps failing, not one an hour.
        let day = UnixMillis::now().0 / 86_400_000;
        let detail = format!(
            "A scheduled backup into {} failed and is retried within the hour: {failure}",
            self.schedule.directory.display()
        );
        if let Err(e) = self
            .desk
            .raise_operations_alert("backup_failed", &detail, &format!("backup_failed:{day}"))
            .await
        {
            tracing::error!(error = %e, "raising the backup failure alert failed");
        }
    }
}

/// This server's own identity for checking what it wrote: read if present, otherwise
/// made (owner-only) of the same kind as the operator's recipients.
fn verification_identity(path: &Path, post_quantum: bool) -> Result<Identity, CliError> {
    if !path.exists() {
        let identity = if post_quantum {
            Identity::generate()
        } else {
            Identity::generate_x25519()
        };
        palisade_backup::write_identity(path, &identity)?;
        tracing::info!(path = %path.display(), "made this server's backup verification identity");
        return Ok(identity);
    }
    let identity = super::backup::read_identity(path)?;
    if identity.to_public().is_post_quantum() != post_quantum {
        return Err(CliError::Config(format!(
            "{} is not of the same kind (post-quantum or X25519) as [backup] recipients; age refuses to mix them",
            path.display()
        )));
    }
    Ok(identity)
}

/// Keeps a failed archive for inspection under a name retention never counts.
fn set_aside(path: &Path) {
    let failed = PathBuf::from(format!("{}.failed", path.display()));
    if let Err(e) = std::fs::rename(path, &failed) {
        tracing::error!(error = %e, path = %path.display(), "setting a failed backup aside");
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
