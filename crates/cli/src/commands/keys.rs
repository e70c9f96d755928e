//! `palisade keys rotate-master`: a new wrapping key for the data keys, while the desk
//! keeps serving: a new master key file's (written first, so a crash never leaves the
//! database waiting for a key nobody has) or the `[hsm]` token's. The rotation runs in
//! the service layer; running the command again resumes it.
//! `palisade keys rotate-root`: a new root for every derived key, the wrapping key kept;
//! the desk stops while every derived value is rewritten.
//! `palisade keys hsm-generate`: the wrapping key, made inside the token.
//! `palisade keys audit-generate`: a checkpoint signing key of its own; the first node
//! started with it records the handover in the trail.

use std::path::Path;
use std::time::Duration;

use palisade_crypto::MasterKey;
use palisade_service::RotationTarget;

use crate::app;
use crate::config::Settings;
use crate::error::CliError;

pub async fn rotate_master(
    settings: &Settings,
    new_key_file: Option<&Path>,
    to_hsm: bool,
    settle_seconds: u64,
) -> Result<(), CliError> {
    let settle = Duration::from_secs(settle_seconds);
    if settle < palisade_service::min_settle() {
        return Err(CliError::Invalid(format!(
            "--settle-seconds must be at least {}: running nodes look for a rotation that often",
            palisade_service::min_settle().as_secs()
        )));
    }
    let next = match (new_key_file, to_hsm) {
        // The data keys would leave the token and its key be retired, and every node
        // configured with [hsm] would then be refused.
        (Some(_), false) if settings.hsm.is_some() => {
            return Err(CliError::Invalid(
                "with [hsm], the wrapping key is the token's: rotating to a key file is not supported".into(),
            ));
        }
        (Some(path), false) => Some(next_key(settings, path)?),
        (None, true) if settings.hsm.is_some() => None,
        (None, true) => return Err(CliError::Invalid("--to-hsm needs an [hsm] section".into())),
        _ => return Err(CliError::Invalid("give --new-key-file or --to-hsm".into())),
    };
    let opened = app::open(settings, false).await?;
    let target = next
        .as_ref()
        .map_or(RotationTarget::Token, RotationTarget::NewKey);
    let rotated = palisade_service::rotate_master_key(&opened.store, target, settle, |moved, left| {
        println!("re-wrapped {moved} data keys, {left} left")
    })
    .await;
    opened.store.close().await;
    let rotation = rotated.map_err(CliError::Service)?;
    println!(
        "Rotation finished: {} data keys re-wrapped under key {}; key {} is retired.",
        rotation.rewrapped, rotation.new_kek_id, rotation.old_kek_id
    );
    match new_key_file {
        Some(path) => println!(
            "Now install {} as {} on every node and restart them one at a time: a node that \
             starts with the old file is refused. Keep the old file offline only as long as \
             you keep backups made before now; they open with it alone.",
            path.display(),
            settings.master_key_file.display()
        ),
        None => println!(
            "Every node needs [hsm] from now on: one that starts without it is refused. Backups \
             made from now on open only with the token."
        ),
    }
    Ok(())
}

/// The new key: written to `path` when it does not exist, or read from it to resume.
fn next_key(settings: &Settings, path: &Path) -> Result<MasterKey, CliError> {
    let current = app::master_key(settings, false)?;
    if !path.exists() {
        let next = current.rotated()?;
        next.write_file(path)?;
        println!("New master key written to {} (mode 0600).", path.display());
        return Ok(next);
    }
    app::refuse_if_shared(path)?;
    let next = MasterKey::load(path)?;
    if !next.same_root(&current) {
        return Err(CliError::Invalid(format!(
            "{} is not a rotation of the current master key (its root differs)",
            path.display()
        )));
    }
    println!("Resuming the rotation to {}.", path.display());
    Ok(next)
}

/// What `keys rotate-root` was asked besides the key file.
pub struct RootRotationOptions {
    pub settle_seconds: u64,
    pub old_reply_addresses_days: u64,
    pub revoke_recovery_codes: bool,
}

/// `palisade keys rotate-root`: a new root, the wrapping key kept. Serving nodes stop
/// while it runs (the store refuses them until it finishes).
pub async fn rotate_root(
    settings: &Settings,
    new_key_file: &Path,
    options: &RootRotationOptions,
) -> Result<(), CliError> {
    let settle = Duration::from_secs(options.settle_seconds);
    if settle < palisade_service::min_root_settle() {
        return Err(CliError::Invalid(format!(
            "--settle-seconds must be at least {}: serving nodes look for a rotation every few seconds, \
             and a write queued before they stopped gives up after 10",
            palisade_service::min_root_settle().as_secs()
        )));
    }
    if options.old_reply_addresses_days > 365 {
        return Err(CliError::Invalid(
            "--old-reply-addresses-days is at most 365".into(),
        ));
    }
    let current = app::master_key(settings, false)?;
    let next = if new_key_file.exists() {
        app::refuse_if_shared(new_key_file)?;
        let next = MasterKey::load(new_key_file)?;
        if !next.same_wrapping(&current) || next.same_root(&current) {
            return Err(CliError::Invalid(format!(
                "{} is not a new root for the current master key (a root rotation keeps the wrapping key)",
                new_key_file.display()
            )));
        }
        println!("Resuming the root rotation to {}.", new_key_file.display());
        next
    } else {
        let next = current.rerooted()?;
        next.write_file(new_key_file)?;
        println!(
            "New master key written to {} (mode 0600).",
            new_key_file.display()
        );
        next
    };
    let old_ring = app::keyring_for(settings, &current)?;
    let new_ring = app::keyring_for(settings, &next)?;
    drop((current, next));
    let store =
        palisade_store::Store::connect_rotating_root(&app::existing_database_url(settings), new_ring.clone())
            .await?;
    println!(
        "Serving nodes with the current key stop within seconds and are refused at start until the rotation \
         finishes; the rewrite begins in {} s.",
        options.settle_seconds
    );
    let grace = Duration::from_secs(options.old_reply_addresses_days * 86_400);
    let result =
        palisade_service::rotate_root(&store, &old_ring, settle, grace, options.revoke_recovery_codes).await;
    store.close().await;
    let (rotation, done) = result.map_err(CliError::Service)?;
    // The erasure ledger reads with either root from now on, and the new root signs
    // what follows.
    palisade_backup::erasure_ledger::ErasureLedger::at(&settings.privacy.erasure_ledger)
        .change_root(old_ring.erasure_ledger_key(), new_ring.erasure_ledger_key())?;
    println!(
        "Root rotation finished: root {} replaced {}. Rewritten: {} account lookups, {} known domains, {} \
         personal field values, the search terms of {} tickets; {} earlier checkpoints now name the key that \
         signed them; {} unused recovery codes revoked.",
        rotation.new_root_id,
        rotation.old_root_id,
        done.accounts,
        done.known_domains,
        done.field_values,
        done.tickets,
        done.checkpoints_named,
        done.recovery_codes_revoked
    );
    println!(
        "Now install {} as {} on every node and start them: one that starts with the old file is refused. \
         Then run `palisade keys rotate-master`: until it finishes, the old file still opens every data key, \
         because a root rotation keeps the wrapping key. Reply addresses sent before now keep working for {} \
         days. Backups made before now restore only with the old file.",
        new_key_file.display(),
        settings.master_key_file.display(),
        options.old_reply_addresses_days
    );
    Ok(())
}

/// `palisade keys rotate-root --abort`, run with the current (old) key file.
pub async fn abort_root_rotation(settings: &Settings) -> Result<(), CliError> {
    let current = app::master_key(settings, false)?;
    let ring = app::keyring_for(settings, &current)?;
    drop(current);
    let store =
        palisade_store::Store::connect_rotating_root(&app::existing_database_url(settings), ring).await?;
    let aborted = palisade_service::abort_root_rotation(&store).await;
    store.close().await;
    match aborted.map_err(CliError::Service)? {
        Some(rotation) => println!(
            "Root rotation to {} abandoned; nothing was rewritten. Nodes with the current key file may start again.",
            rotation.new_root_id
        ),
        None => println!("No root rotation is under way."),
    }
    Ok(())
}

pub fn hsm_generate(settings: &Settings) -> Result<(), CliError> {
    let Some(hsm) = &settings.hsm else {
        return Err(CliError::Invalid("configure [hsm] first".into()));
    };
    let id = palisade_hsm::generate(hsm)?;
    println!(
        "Wrapping key {id} generated in token {:?} as {:?}. Configure [hsm] on every node, restart \
         them, then run `palisade keys rotate-master --to-hsm`.",
        hsm.token_label, hsm.key_label
    );
    Ok(())
}

pub fn audit_generate(settings: &Settings, out: &Path) -> Result<(), CliError> {
    let out_text = out
        .to_str()
        .filter(|text| !text.chars().any(char::is_control))
        .ok_or_else(|| CliError::Invalid("--out must be a UTF-8 path without control characters".into()))?;
    let current = match &settings.audit_signing {
        Some(audit) => audit.key.verifying_key(),
        None => palisade_crypto::Keyring::new(&app::master_key(settings, false)?).audit_verifying_key(),
    };
    let new_key = palisade_crypto::create_audit_signing_key_file(out)?;
    let retired: Vec<String> = settings
        .audit_signing
        .iter()
        .flat_map(|audit| audit.retired.iter())
        .chain([&current])
        .map(|key| format!("\"{}\"", hex::encode(key.to_bytes())))
        .collect();
    // Without control characters, a JSON string is a valid TOML basic string: quotes
    // and backslashes in the path come out escaped.
    let quoted_path = serde_json::to_string(out_text).map_err(|e| CliError::Invalid(e.to_string()))?;
    println!(
        "Audit signing key written to {out_text} (mode 0600); its public key is {}.\n\
         Install it on every node with these settings and restart them one at a time; the first to start \
         records the handover in the trail, and checkpoints signed before it still verify:\n\n\
         [audit]\nsigning_key_file = {quoted_path}\nretired_public_keys = [{}]\n\n\
         A node still configured with the old key stops signing checkpoints, and every command refuses it \
         from its next start.",
        hex::encode(new_key.to_bytes()),
        retired.join(", ")
    );
    Ok(())
}
