//! The key that signs audit checkpoints. It is derived from the master key's root
//! unless a file of its own is configured (`[audit] signing_key_file`), so it can be
//! replaced without touching the root; the keys it replaced stay trusted for the
//! checkpoints they signed before the trail recorded the handover.

use std::path::Path;

use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::keys::KEY_LEN;
use crate::{CryptoError, random_bytes, write_secret_file};

/// Writes a new signing key (the Ed25519 seed as 64 hex characters) to a new file
/// readable by its owner only, and returns its public key.
pub fn create_audit_signing_key_file(path: &Path) -> Result<VerifyingKey, CryptoError> {
    let seed = Zeroizing::new(random_bytes::<KEY_LEN>()?);
    let text = Zeroizing::new(format!("{}\n", hex::encode(seed.as_slice())));
    write_secret_file(path, text.as_bytes())?;
    Ok(SigningKey::from_bytes(&seed).verifying_key())
}

/// Reads a file written by [`create_audit_signing_key_file`].
pub fn load_audit_signing_key(path: &Path) -> Result<SigningKey, CryptoError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| CryptoError::KeyFile(format!("{}: {e}", path.display())))?,
    );
    let mut seed = Zeroizing::new([0u8; KEY_LEN]);
    hex::decode_to_slice(text.trim(), seed.as_mut_slice()).map_err(|_| {
        CryptoError::KeyFile(format!(
            "{}: expected an audit signing key (64 hexadecimal characters)",
            path.display()
        ))
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Parses a public key as configured or printed (64 hex characters).
pub fn parse_audit_public_key(text: &str) -> Result<VerifyingKey, CryptoError> {
    let mut bytes = [0u8; KEY_LEN];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .map_err(|_| CryptoError::KeyFile("an audit public key is 64 hexadecimal characters".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| CryptoError::KeyFile("not an Ed25519 public key".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_round_trips_and_is_private() {
        let dir = std::env::temp_dir().join(format!("palisade-audit-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.key");
        let _ = std::fs::remove_file(&path);
        let public = create_audit_signing_key_file(&path).unwrap();
        assert_eq!(load_audit_signing_key(&path).unwrap().verifying_key(), public);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(
            create_audit_signing_key_file(&path).is_err(),
            "an existing file is never replaced"
        );
        let printed = hex::encode(public.to_bytes());
        assert_eq!(parse_audit_public_key(&printed).unwrap(), public);
        assert!(parse_audit_public_key("zz").is_err());
        std::fs::write(&path, "not a key").unwrap();
        assert!(load_audit_signing_key(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
