use palisade_store::HeadCheckpoint;

use crate::app;
use crate::config::Settings;
use crate::error::CliError;

/// Walks the whole trail; exits non-zero (through the error) naming the first bad entry.
/// `public_keys` given by hand replace the configured ones: the first is the current
/// key, the others earlier ones.
pub async fn verify(settings: &Settings, public_keys: &[String], expect: &[String]) -> Result<(), CliError> {
    let expected = expect
        .iter()
        .map(|e| parse_expectation(e))
        .collect::<Result<Vec<_>, _>>()?;
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
    let report = match opened.store.verify_audit_trail_expecting(keys, &expected).await {
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
    // Kept off this machine, this line lets a later run show that nothing up to here
    // was removed or rewritten, signed or not.
    if report.entries > 0 {
        println!(
            "to check later that this trail was kept: palisade audit verify --expect {}:{}",
            report.entries, report.head_hash
        );
    }
    opened.store.close().await;
    Ok(())
}

/// `SEQ:HASH`, as `audit verify` prints it.
fn parse_expectation(text: &str) -> Result<(i64, String), CliError> {
    let invalid = || {
        CliError::Invalid(format!(
            "--expect {text:?}: expected SEQ:HASH, as audit verify prints it"
        ))
    };
    let (seq, hash) = text.trim().split_once(':').ok_or_else(invalid)?;
    let seq: i64 = seq.parse().map_err(|_| invalid())?;
    if seq < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid());
    }
    Ok((seq, hash.to_ascii_lowercase()))
}

pub async fn checkpoint(settings: &Settings) -> Result<(), CliError> {
    let opened = app::open(settings, false).await?;
    let outcome = async {
        if let Some(seq) = opened.store.hand_over_audit_signing().await? {
            println!("checkpoint signing handed over to the configured key at entry {seq}");
        }
        opened.store.checkpoint_audit_head().await
    }
    .await;
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
