use crate::app;
use crate::config::Settings;
use crate::error::CliError;

/// Walks the whole trail; exits non-zero (through the error) naming the first bad entry.
pub async fn verify(settings: &Settings, public_key: Option<&str>) -> Result<(), CliError> {
    let opened = app::open(settings, false).await?;
    let key = match public_key {
        Some(hex_key) => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hex_key.trim(), &mut bytes)
                .map_err(|_| CliError::Invalid("public key must be 64 hex characters".into()))?;
            ed25519_key(&bytes)?
        }
        None => opened.keyring.audit_verifying_key(),
    };
    let report = match opened.store.verify_audit_trail(key).await {
        Err(palisade_store::StoreError::AuditTrail(e)) => return Err(CliError::AuditInvalid(e)),
        other => other?,
    };
    println!(
        "audit trail intact: {} entries, {} signed checkpoints, head {}",
        report.entries, report.checkpoints, report.head_hash
    );
    opened.store.close().await;
    Ok(())
}

fn ed25519_key(bytes: &[u8; 32]) -> Result<palisade_audit::VerifyingKey, CliError> {
    palisade_audit::VerifyingKey::from_bytes(bytes)
        .map_err(|_| CliError::Invalid("not an Ed25519 public key".into()))
}

pub async fn checkpoint(settings: &Settings) -> Result<(), CliError> {
    let opened = app::open(settings, false).await?;
    match opened.store.checkpoint_audit_head().await? {
        Some(seq) => println!("signed a checkpoint at entry {seq}"),
        None => println!("the chain head is already checkpointed"),
    }
    opened.store.close().await;
    Ok(())
}
