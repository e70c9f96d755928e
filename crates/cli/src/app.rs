//! Opening what every command needs: the data directory, the master key, the database.

use std::path::Path;
use std::sync::Arc;

use palisade_crypto::{Keyring, MasterKey};
use palisade_store::Store;

use crate::config::Settings;
use crate::error::CliError;

pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::Io(dir.display().to_string(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| CliError::Io(dir.display().to_string(), e))?;
    }
    Ok(())
}

/// Refuses a secret file that other users can read.
pub(crate) fn refuse_if_shared(path: &Path) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| CliError::Io(path.display().to_string(), e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CliError::Config(format!(
                "{} is readable by other users (mode {:o}); run chmod 600 on it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    Ok(())
}

/// Loads the master key; creates it only when `create` is set and the file is absent.
pub fn master_key(settings: &Settings, create: bool) -> Result<MasterKey, CliError> {
    let path = &settings.master_key_file;
    if path.exists() {
        refuse_if_shared(path)?;
        return Ok(MasterKey::load(path)?);
    }
    if !create {
        return Err(CliError::Config(format!(
            "master key file {} does not exist",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_private_dir(parent)?;
    }
    let key = MasterKey::create_file(path)?;
    tracing::warn!(path = %path.display(), "generated a new master key: back it up apart from the database, without it no data can be read");
    Ok(key)
}

/// The keys from the master key file, with the HSM's wrapping key in use when `[hsm]`
/// is configured.
pub fn keyring_for(settings: &Settings, key: &MasterKey) -> Result<Arc<Keyring>, CliError> {
    let ring = match &settings.hsm {
        None => Keyring::new(key),
        Some(hsm) => palisade_hsm::HsmWrappingKey::open_previous(hsm)?
            .into_iter()
            .fold(
                Keyring::with_external(key, Arc::new(palisade_hsm::HsmWrappingKey::open(hsm)?)),
                |ring, previous| ring.with_previous_external(Arc::new(previous)),
            ),
    };
    Ok(Arc::new(match &settings.audit_signing {
        None => ring,
        Some(audit) => ring.with_audit_signing_key(audit.key.clone(), audit.retired.clone()),
    }))
}

pub struct Opened {
    pub store: Store,
    pub keyring: Arc<Keyring>,
}

/// Opens the database (applying migrations) with the master key. `create` allows
/// generating the data directory and key on first start.
pub async fn open(settings: &Settings, create: bool) -> Result<Opened, CliError> {
    if settings.database_url.starts_with("sqlite:") {
        ensure_private_dir(&settings.data_dir)?;
    }
    let key = master_key(settings, create)?;
    // Commands that only read must not create an empty database where one is missing:
    // `audit verify` on a fresh file would report an intact, empty trail.
    let url = if create {
        settings.database_url.clone()
    } else {
        read_only_if_missing(&settings.database_url)
    };
    let keyring = keyring_for(settings, &key)?;
    drop(key);
    let store = Store::connect(&url, keyring.clone()).await?;
    Ok(Opened { store, keyring })
}

/// The configured database, which must exist already (SQLite: no new file made).
pub fn existing_database_url(settings: &Settings) -> String {
    read_only_if_missing(&settings.database_url)
}

/// For SQLite, turns `mode=rwc` into `mode=rw` so that a missing file is an error.
fn read_only_if_missing(url: &str) -> String {
    if !url.starts_with("sqlite:") {
        return url.to_owned();
    }
    if url.contains("mode=rwc") {
        url.replace("mode=rwc", "mode=rw")
    } else if url.contains('?') {
        format!("{url}&mode=rw")
    } else {
        format!("{url}?mode=rw")
    }
}
