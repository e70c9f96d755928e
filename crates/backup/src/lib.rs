//! Backups that restore. `create` takes a consistent snapshot while `serve` runs
//! (SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump` inside a snapshot Palisade holds and
//! counts), writes it with a signed manifest into one archive encrypted with age to the
//! operator's recipients, and never includes the master key. `verify` decrypts an
//! archive into a scratch database and checks it against the manifest: the signature,
//! the file's digest, every table's row count, the audit chain and its signed
//! checkpoints, and sealed values opened with the master key. `restore` does the same
//! into an empty database and refuses any other.

mod archive;
pub mod erasure_ledger;
mod error;
mod keys;
mod manifest;
mod postgres;
mod retention;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_audit::VerifyReport;
use palisade_core::UnixMillis;
use palisade_crypto::Keyring;
use palisade_store::{SealedSample, SnapshotFacts, Store};

pub use error::BackupError;
pub use keys::{Identity, Recipient, write_identity};
pub use manifest::Manifest;
pub use postgres::PgTools;
pub use retention::{Pruned, prune, remove_abandoned};

use error::io;

/// How many ticket subjects and message bodies a check opens.
const SEALED_SAMPLE: i64 = 20;
const SQLITE_FILE: &str = "database.sqlite";
const PGDUMP_FILE: &str = "database.pgdump";

/// A backup written.
#[derive(Debug)]
pub struct Created {
    pub path: PathBuf,
    pub manifest: Manifest,
}

/// What a check of a copy found.
#[derive(Debug)]
pub struct Checked {
    pub manifest: Manifest,
    pub audit: VerifyReport,
    pub sealed: SealedSample,
    /// What a restore's reconciliation with the erasure ledger did (nothing for a
    /// check alone).
    pub erasures: erasure_ledger::Reconciled,
}

/// Writes one backup of the database behind `store` (at `url`) into `dir`. The
/// unencrypted copy is made under `work` (a private directory beside the database,
/// never the backup directory: that is often a mount on the backup host, which must
/// only ever hold ciphertext).
pub async fn create(
    store: &Store,
    url: &str,
    keys: &Keyring,
    recipients: &[Recipient],
    dir: &Path,
    work: &Path,
    tools: &PgTools,
) -> Result<Created, BackupError> {
    if recipients.is_empty() {
        return Err(BackupError::Refused(
            "no backup recipient: set [backup] recipients or pass --recipient".into(),
        ));
    }
    // While a master-key rotation runs, the database holds the new wrapping key sealed
    // under the old one: a copy taken then would hand the new key to anyone with the
    // old file, undoing the rotation.
    if let Some(rotation) = store.rotation_under_way().await? {
        return Err(BackupError::Refused(format!(
            "a master-key rotation to key {} is under way: back up once it has finished",
            rotation.new_kek_id
        )));
    }
    std::fs::create_dir_all(dir).map_err(io(dir.display()))?;
    let stamp = stamp();
    let work = PrivateDir::create(&work.join(format!(".palisade-backup-{stamp}")))?;
    let postgres = !url.starts_with("sqlite:");
    let (name, facts) = if postgres {
        let copy = work.path.join(PGDUMP_FILE);
        let held = store.hold_snapshot(url).await?;
        let dumped = tools.dump(url, held.id(), &copy).await;
        let facts = held.facts().clone();
        held.release().await?;
        dumped?;
        (PGDUMP_FILE, facts)
    } else {
        let copy = work.path.join(SQLITE_FILE);
        store.copy_sqlite_into(&copy).await?;
        let facts = palisade_store::facts_at(&sqlite_url(&copy, "ro")?).await?;
        (SQLITE_FILE, facts)
    };
    let copy = work.path.join(name);
    let (database_bytes, database_sha256) = blocking({
        let copy = copy.clone();
        move || archive::digest(&copy)
    })
    .await?;
    let manifest = Manifest {
        format: manifest::FORMAT,
        created_at: UnixMillis::now().0,
        palisade_version: env!("CARGO_PKG_VERSION").into(),
        backend: if postgres { "postgres" } else { "sqlite" }.into(),
        database_file: name.into(),
        database_bytes,
        database_sha256,
        facts,
    };
    let manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Format(e.to_string()))?;
    let signature = manifest::sign(keys.backup_signing_key(), &manifest_bytes);
    let path = dir.join(format!("palisade-{stamp}.backup.age"));
    let partial = dir.join(format!(".palisade-{stamp}.backup.age.partial"));
    let written = blocking({
        let (partial, recipients, copy) = (partial.clone(), recipients.to_vec(), copy.clone());
        move || archive::write(&partial, &recipients, &manifest_bytes, &signature, name, &copy)
    })
    .await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &path).map_err(io(path.display()))?;
    sync_dir(dir)?;
    Ok(Created { path, manifest })
}

/// Where `verify` may build its scratch copy.
#[derive(Clone, Debug)]
pub struct Scratch {
    /// For a SQLite backup: a directory for the decrypted file (removed afterwards).
    pub dir: PathBuf,
    /// For a PostgreSQL backup: a server (any database on it) where a scratch database
    /// may be created and is dropped afterwards.
    pub postgres_url: Option<String>,
}

/// Decrypts `archive` into a scratch database and checks it against its manifest.
pub async fn verify(
    archive_path: &Path,
    identity: &Identity,
    keys: Arc<Keyring>,
    scratch: &Scratch,
    tools: &PgTools,
) -> Result<Checked, BackupError> {
    let work = PrivateDir::create(&scratch.dir.join(format!(".palisade-verify-{}", stamp())))?;
    let (opened, manifest) = open_archive(archive_path, identity, &keys, &work.path).await?;
    if manifest.backend == "sqlite" {
        return check(&sqlite_url(&opened.database, "rw")?, manifest, keys).await;
    }
    let server = scratch.postgres_url.as_deref().ok_or_else(|| {
        BackupError::Refused(
            "a PostgreSQL backup is checked in a scratch database: give --scratch-url".into(),
        )
    })?;
    let name = format!(
        "palisade_verify_{}",
        hex::encode(palisade_crypto::random_bytes::<6>()?)
    );
    palisade_store::create_database(server, &name).await?;
    let scratch_url = postgres::with_database(server, &name)?;
    let checked = match tools.restore(&scratch_url, &opened.database).await {
        Ok(()) => check(&scratch_url, manifest, keys).await,
        Err(e) => Err(e),
    };
    if let Err(e) = palisade_store::drop_database(server, &name).await {
        tracing::error!(error = %e, database = %name, "dropping the scratch database failed");
    }
    checked
}

/// Restores `archive` into the empty database at `target` and checks it there; a
/// restore that fails its check is removed again (SQLite) or reported for dropping.
/// Then everyone `ledger` says was erased is erased again, and the restore recorded.
pub async fn restore(
    archive_path: &Path,
    identity: &Identity,
    keys: Arc<Keyring>,
    target: &str,
    tools: &PgTools,
    ledger: &erasure_ledger::ErasureLedger,
) -> Result<Checked, BackupError> {
    // A damaged or foreign ledger stops the restore before anything is written: a
    // restored copy it could not erase again must not be left behind.
    ledger.read(&keys.erasure_ledger_key().verifying_key())?;
    if target.starts_with("sqlite:") {
        let file = sqlite_path(target)?;
        if std::fs::metadata(&file).is_ok_and(|m| m.len() > 0) {
            return Err(BackupError::Refused(format!(
                "{} already holds a database; restore only into an empty place",
                file.display()
            )));
        }
        let parent = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io(parent.display()))?;
        // Beside the target, so the copy is moved into place, never copied again.
        let work = PrivateDir::create(&parent.join(format!(".palisade-restore-{}", stamp())))?;
        let (opened, manifest) = open_archive(archive_path, identity, &keys, &work.path).await?;
        if manifest.backend != "sqlite" {
            return Err(BackupError::Refused(
                "this is a PostgreSQL backup; restore it into a PostgreSQL database".into(),
            ));
        }
        let _ = std::fs::remove_file(&file);
        std::fs::rename(&opened.database, &file).map_err(io(file.display()))?;
        let checked = check(target, manifest, keys.clone()).await;
        if checked.is_err() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
        let mut checked = checked?;
        checked.erasures = record_restore(target, keys, archive_path, &checked, ledger).await?;
        return Ok(checked);
    }
    if !palisade_store::is_empty_database(target).await? {
        return Err(BackupError::Refused(
            "the target database already has tables; restore only into an empty database".into(),
        ));
    }
    let work = PrivateDir::create(&std::env::temp_dir().join(format!(".palisade-restore-{}", stamp())))?;
    let (opened, manifest) = open_archive(archive_path, identity, &keys, &work.path).await?;
    if manifest.backend != "postgres" {
        return Err(BackupError::Refused(
            "this is a SQLite backup; restore it into a SQLite database".into(),
        ));
    }
    tools.restore(target, &opened.database).await?;
    let mut checked = check(target, manifest, keys.clone()).await.map_err(|e| {
        BackupError::Refused(format!(
            "the restored database failed its check ({e}); drop its tables before trying again"
        ))
    })?;
    checked.erasures = record_restore(target, keys, archive_path, &checked, ledger).await?;
    Ok(checked)
}

/// The restored trail's next entry says so: which archive, made when, up to which
/// entry. Entries after it are the restored desk's own, and an auditor sees where the
/// history was taken up again. Erasures made since the backup are done again here,
/// before anything can serve the restored copy.
async fn record_restore(
    target: &str,
    keys: Arc<Keyring>,
    archive_path: &Path,
    checked: &Checked,
    ledger: &erasure_ledger::ErasureLedger,
) -> Result<erasure_ledger::Reconciled, BackupError> {
    use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
    let archive = archive_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let event = AuditEvent::new(AuditAction::BackupRestored, archive, Outcome::Success).with_detail(
        serde_json::json!({
            "backup_made_at": checked.manifest.created_at,
            "audit_entries": checked.audit.entries,
            "palisade_version": checked.manifest.palisade_version,
        }),
    );
    let store = Store::connect(target, keys.clone()).await?;
    let recorded = async {
        // A backup from before an audit-key handover, restored with the new settings:
        // hand over first, as `serve` would, so the restore's own entry is signed.
        store.hand_over_audit_signing().await?;
        store.audit(&AuditContext::system(), &event).await?;
        let reconciled = erasure_ledger::reconcile(&store, ledger, &keys).await?;
        store.checkpoint_audit_head().await?;
        Ok::<_, BackupError>(reconciled)
    }
    .await;
    store.close().await;
    recorded
}

/// Decrypts (off the async threads: it reads and hashes the whole database), checks
/// the signature and the database file's digest.
async fn open_archive(
    archive_path: &Path,
    identity: &Identity,
    keys: &Keyring,
    dir: &Path,
) -> Result<(archive::Opened, Manifest), BackupError> {
    let opened = blocking({
        let (archive_path, identity, dir) = (archive_path.to_owned(), identity.clone(), dir.to_owned());
        move || archive::read(&archive_path, &identity, &dir)
    })
    .await?;
    let manifest = manifest::open(&keys.backup_verifying_key(), &opened.manifest, &opened.signature)?;
    let expected_name = match manifest.backend.as_str() {
        "sqlite" => SQLITE_FILE,
        "postgres" => PGDUMP_FILE,
        other => return Err(BackupError::Format(format!("backend {other:?}"))),
    };
    if opened.database_name != expected_name || manifest.database_file != expected_name {
        return Err(BackupError::Mismatch(
            "the database file is not the one the manifest names".into(),
        ));
    }
    if opened.database_bytes != manifest.database_bytes || opened.database_sha256 != manifest.database_sha256
    {
        return Err(BackupError::Mismatch("the database file's digest".into()));
    }
    Ok((opened, manifest))
}

/// The checks every copy passes: the facts read from it equal the manifest's, its
/// schema is one this build knows, its audit chain verifies (with its signed
/// checkpoints) and its sealed values open with the master key.
async fn check(url: &str, manifest: Manifest, keys: Arc<Keyring>) -> Result<Checked, BackupError> {
    let found = palisade_store::facts_at(url).await?;
    compare(&manifest.facts, &found)?;
    if found.schema_version > palisade_store::schema_version() {
        return Err(BackupError::Refused(format!(
            "the backup's schema ({}) is newer than this build's ({}); use the release that made it",
            found.schema_version,
            palisade_store::schema_version()
        )));
    }
    let store = Store::connect(url, keys.clone()).await?;
    let checked = async {
        let audit = store
            .verify_audit_trail_of_copy(store.audit_trusted_keys())
            .await?;
        if let Some((seq, hash)) = &manifest.facts.audit_head
            && (audit.entries != *seq || &audit.head_hash != hash)
        {
            return Err(BackupError::Mismatch("the audit chain's head".into()));
        }
        let sealed = store.open_sealed_sample(SEALED_SAMPLE).await?;
        Ok((audit, sealed))
    }
    .await;
    store.close().await;
    let (audit, sealed) = checked?;
    Ok(Checked {
        manifest,
        audit,
        sealed,
        erasures: erasure_ledger::Reconciled::default(),
    })
}

fn compare(expected: &SnapshotFacts, found: &SnapshotFacts) -> Result<(), BackupError> {
    if expected.schema_version != found.schema_version {
        return Err(BackupError::Mismatch(format!(
            "schema version {} where the manifest says {}",
            found.schema_version, expected.schema_version
        )));
    }
    for (table, rows) in &expected.rows {
        let got = found.rows.get(table);
        if got != Some(rows) {
            return Err(BackupError::Mismatch(format!(
                "table {table}: {} rows where the manifest says {rows}",
                got.map_or_else(|| "no table, no".to_owned(), i64::to_string)
            )));
        }
    }
    if let Some(extra) = found.rows.keys().find(|t| !expected.rows.contains_key(*t)) {
        return Err(BackupError::Mismatch(format!(
            "table {extra} is not in the manifest"
        )));
    }
    if expected.audit_head != found.audit_head || expected.audit_checkpoint != found.audit_checkpoint {
        return Err(BackupError::Mismatch(
            "the audit chain's head or latest checkpoint".into(),
        ));
    }
    Ok(())
}

/// Runs file work that reads or writes a whole database on tokio's blocking threads,
/// so a server taking a backup keeps answering.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackupError> + Send + 'static,
) -> Result<T, BackupError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BackupError::Format(format!("a backup task stopped: {e}")))?
}

/// `yyyymmddThhmmss.mmmZ`, UTC: names sort by time.
fn stamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

fn sqlite_url(path: &Path, mode: &str) -> Result<String, BackupError> {
    let path = path
        .to_str()
        .ok_or_else(|| BackupError::Refused(format!("{} is not a UTF-8 path", path.display())))?;
    Ok(format!("sqlite:{path}?mode={mode}"))
}

/// The file a `sqlite:` URL names.
fn sqlite_path(url: &str) -> Result<PathBuf, BackupError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(BackupError::Refused("restore needs a database file".into()));
    }
    Ok(PathBuf::from(path))
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir.display()))
}

/// A working directory only its owner can enter, removed with what it holds (the
/// decrypted copy) however the work ends.
struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    fn create(path: &Path) -> Result<Self, BackupError> {
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(path).map_err(io(path.display()))?;
        Ok(Self {
            path: path.to_owned(),
        })
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::error!(error = %e, path = %self.path.display(), "removing a backup working directory failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_sort_by_time() {
        let stamp = stamp();
        assert_eq!(stamp.len(), "20261207T081500.123Z".len(), "{stamp}");
        assert!(stamp.ends_with('Z') && stamp.as_bytes()[8] == b'T', "{stamp}");
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite:/var/lib/p/db.sqlite?mode=rwc").unwrap(),
            PathBuf::from("/var/lib/p/db.sqlite")
        );
        assert_eq!(
            sqlite_path("sqlite://data/p.db").unwrap(),
            PathBuf::from("data/p.db")
        );
        assert!(sqlite_path("sqlite::memory:").is_err());
    }

    #[test]
    fn a_missing_or_changed_table_is_named() {
        let expected = SnapshotFacts {
            schema_version: 47,
            rows: [("tickets".to_owned(), 3), ("messages".to_owned(), 5)].into(),
            audit_head: Some((9, "h".into())),
            audit_checkpoint: None,
        };
        assert!(compare(&expected, &expected.clone()).is_ok());
        let mut fewer = expected.clone();
        fewer.rows.insert("messages".into(), 4);
        let err = compare(&expected, &fewer).unwrap_err().to_string();
        assert!(
            err.contains("messages: 4 rows where the manifest says 5"),
            "{err}"
        );
        let mut other_head = expected.clone();
        other_head.audit_head = Some((9, "x".into()));
        assert!(compare(&expected, &other_head).is_err());
        let mut extra = expected.clone();
        extra.rows.insert("smuggled".into(), 0);
        assert!(
            compare(&expected, &extra)
                .unwrap_err()
                .to_string()
                .contains("smuggled")
        );
    }
}
