//! The manifest: what a backup holds (the schema version, rows per table, the audit
//! chain's head and latest signed checkpoint, the database file's digest), signed with
//! a key derived from the master key. The archive is encrypted to the operator's
//! recipient, which anyone may hold the public half of; the signature shows that a
//! node of this installation made it, and that nobody changed what it says.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use palisade_store::SnapshotFacts;
use serde::{Deserialize, Serialize};

use crate::BackupError;

/// The archive format this build writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub palisade_version: String,
    /// `sqlite` or `postgres`: which database the copy is for.
    pub backend: String,
    /// The database file's name inside the archive.
    pub database_file: String,
    pub database_bytes: u64,
    /// SHA-256 of the database file, hex.
    pub database_sha256: String,
    pub facts: SnapshotFacts,
}

/// Signs the manifest's exact bytes.
pub fn sign(key: &SigningKey, manifest: &[u8]) -> String {
    hex::encode(key.sign(&signed_message(manifest)).to_bytes())
}

/// Checks the signature over the manifest's exact bytes, then parses them.
pub fn open(key: &VerifyingKey, manifest: &[u8], signature: &str) -> Result<Manifest, BackupError> {
    let mut bytes = [0u8; 64];
    hex::decode_to_slice(signature.trim(), &mut bytes).map_err(|_| BackupError::Signature)?;
    key.verify(&signed_message(manifest), &Signature::from_bytes(&bytes))
        .map_err(|_| BackupError::Signature)?;
    let parsed: Manifest =
        serde_json::from_slice(manifest).map_err(|e| BackupError::Format(format!("manifest: {e}")))?;
    if parsed.format != FORMAT {
        return Err(BackupError::Format(format!(
            "archive format {} (this build reads {FORMAT})",
            parsed.format
        )));
    }
    Ok(parsed)
}

/// Bound to its purpose, so no other signature made with the key can pass as one.
fn signed_message(manifest: &[u8]) -> Vec<u8> {
    let mut message = b"palisade-backup-manifest-v1\n".to_vec();
    message.extend_from_slice(manifest);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT,
            created_at: 1,
            palisade_version: "0".into(),
            backend: "sqlite".into(),
            database_file: "database.sqlite".into(),
            database_bytes: 3,
            database_sha256: "00".into(),
            facts: SnapshotFacts {
                schema_version: 47,
                rows: [("tickets".to_owned(), 2)].into(),
                audit_head: Some((5, "ab".into())),
                audit_checkpoint: None,
            },
        }
    }

    #[test]
    fn a_signed_manifest_opens_and_a_changed_one_does_not() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let bytes = serde_json::to_vec(&manifest()).unwrap();
        let signature = sign(&key, &bytes);
        assert_eq!(
            open(&key.verifying_key(), &bytes, &signature).unwrap(),
            manifest()
        );

        // Attack: a row count lowered after signing (rows removed from the copy).
        let changed = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("\"tickets\":2", "\"tickets\":1");
        assert!(matches!(
            open(&key.verifying_key(), changed.as_bytes(), &signature),
            Err(BackupError::Signature)
        ));
        // Attack: a manifest signed by another installation's key.
        let other = SigningKey::from_bytes(&[4; 32]);
        assert!(matches!(
            open(&key.verifying_key(), &bytes, &sign(&other, &bytes)),
            Err(BackupError::Signature)
        ));
        assert!(matches!(
            open(&key.verifying_key(), &bytes, "not hex"),
            Err(BackupError::Signature)
        ));
    }
}
