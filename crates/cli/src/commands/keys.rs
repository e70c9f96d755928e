//! `palisade keys rotate-master`: a new master key for the data keys, while the desk
//! keeps serving. The new key file is written first (so a crash never leaves the
//! database waiting for a key nobody has), then the rotation runs in the service
//! layer; running it again with the same file resumes it.

use std::path::Path;
use std::time::Duration;

use palisade_crypto::MasterKey;

use crate::app;
use crate::config::Settings;
use crate::error::CliError;

pub async fn rotate_master(
    settings: &Settings,
    new_key_file: &Path,
    settle_seconds: u64,
) -> Result<(), CliError> {
    if settle_seconds < 6 {
        return Err(CliError::Invalid(
            "--settle-seconds must be at least 6: running nodes look for a rotation every 2.5 seconds".into(),
        ));
    }
    let current = app::master_key(settings, false)?;
    let next = if new_key_file.exists() {
        app::refuse_if_shared(new_key_file)?;
        let next = MasterKey::load(new_key_file)?;
        if !next.same_root(&current) {
            return Err(CliError::Invalid(format!(
                "{} is not a rotation of the current master key (its root differs)",
                new_key_file.display()
            )));
        }
        println!("Resuming the rotation to {}.", new_key_file.display());
        next
    } else {
        let next = current.rotated()?;
        next.write_file(new_key_file)?;
        println!(
            "New master key written to {} (mode 0600).",
            new_key_file.display()
        );
        next
    };
    drop(current);
    let opened = app::open(settings, false).await?;
    let rotated = palisade_service::rotate_master_key(
        &opened.store,
        &next,
        Duration::from_secs(settle_seconds),
        |moved, left| println!("re-wrapped {moved} data keys, {left} left"),
    )
    .await;
    opened.store.close().await;
    let rotation = rotated.map_err(CliError::Service)?;
    println!(
        "Rotation finished: {} data keys re-wrapped under key {}; key {} is retired.",
        rotation.rewrapped, rotation.new_kek_id, rotation.old_kek_id
    );
    println!(
        "Now install {} as {} on every node and restart them one at a time: a node that \
         starts with the old file is refused. Keep the old file offline only as long as \
         you keep backups made before now; they open with it alone.",
        new_key_file.display(),
        settings.master_key_file.display()
    );
    Ok(())
}
