use palisade_store::HeadCheckpoint;

use crate::app;
use crate::config::Settings;
use crate::error::CliError;

/// Walks the whole trail; exits non-zero (through the error) naming the first bad entry.
/// `public_keys` given by hand replace the configured ones: the first is the current
/// key, the others earlier ones.
pub async fn verify(settings: &Settings, public_keys: &[String]) -> Result<(), CliError> {
    let given = public_keys
        .iter()
        .map(|text| {
            palisade_crypto::parse_audit_public_key(text).map_err(|e| CliError::Invalid(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opened = app::open(settings, false).await?;
    let keys = match given.split_first() {
        Some((current, earlier)) => palisade_audit::TrustedKeys {
            current: *current,
            retired: earlier.to_vec(),
            unlabelled: None,
        },
        None => opened.store.audit_trusted_keys(),
    };
    let report = match opened.store.verify_audit_trail(keys).await {
        Err(palisade_store::StoreError::AuditTrail(e)) => return Err(CliError::AuditInvalid(e)),
        other => other?,
    };
    println!(
        "audit trail intact: {} entries, {} signed checkpoints, {} signing-key handovers, head {}",
        report.entries, report.checkpoints, report.key_handovers, report.head_hash
    );
    if let Some(seq) = report.newest_checkpoint {
        // Entries after it can still be removed unnoticed; a copy of the newest
        // checkpoint kept elsewhere shows whether any before it were.
        println!(
            "newest signed checkpoint at entry {seq}; {} entries after it are not signed yet",
            report.entries - seq
        );
    }
    opened.store.close().await;
    Ok(())
}

pub async fn checkpoint(settings: &Settings) -> Result<(), CliError> {
    let opened = app::open(settings, false).await?;
    if let Some(seq) = opened.store.hand_over_audit_signing().await? {
        println!("checkpoint signing handed over to the configured key at entry {seq}");
    }
    let outcome = opened.store.checkpoint_audit_head().await;
    opened.store.close().await;
    match outcome? {
        HeadCheckpoint::Signed(seq) => println!("signed a checkpoint at entry {seq}"),
        HeadCheckpoint::AlreadySigned => println!("the chain head is already checkpointed"),
        HeadCheckpoint::NotThisNodesTurn => {
            return Err(CliError::Invalid(
                "this key is not the one signing the trail's checkpoints (see the log above)".into(),
            ));
        }
    }
    Ok(())
}
