use std::fmt;
use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;
use crate::index::BlindIndex;

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const NONCE_LEN: usize = 24;
const WRAP_VERSION: u8 = 1;

/// The nonce that follows the one-byte version prefix of a sealed value.
pub(crate) fn nonce_at(sealed: &[u8]) -> Result<XNonce, CryptoError> {
    let nonce: [u8; NONCE_LEN] = sealed
        .get(1..1 + NONCE_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(CryptoError::Format)?;
    Ok(XNonce::from(nonce))
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// Writes secret material (keys) to a new file readable by its owner only, and syncs
/// it; refuses to replace an existing file.
pub fn write_secret_file(path: &Path, contents: &[u8]) -> Result<(), CryptoError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let fail = |e: std::io::Error| CryptoError::KeyFile(format!("{}: {e}", path.display()));
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents)
        .and_then(|_| file.sync_all())
        .map_err(fail)
}

/// The root secret. Lives in a file (mode 0600) or the environment, never in the database.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_LEN]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes()?))
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The file holds the key as 64 hex characters (a trailing newline is allowed).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(text.trim(), bytes.as_mut_slice())
            .map_err(|_| CryptoError::KeyFile("expected 64 hexadecimal characters".into()))?;
        Ok(Self(*bytes))
    }

    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| CryptoError::KeyFile(format!("{}: {e}", path.display())))?,
        );
        Self::from_hex(&text)
    }

    /// Creates the key file readable by its owner only; refuses to overwrite one.
    pub fn create_file(path: &Path) -> Result<Self, CryptoError> {
        let key = Self::generate()?;
        let mut text = Zeroizing::new(hex::encode(key.0));
        text.push('\n');
        write_secret_file(path, text.as_bytes())?;
        Ok(key)
    }

    fn derive(&self, purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
        let hk = Hkdf::<Sha256>::new(Some(b"palisade/v1"), &self.0);
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        let _ = hk.expand(purpose.as_bytes(), out.as_mut_slice());
        out
    }
}

/// A per-customer (or organisation-wide, for staff) data key. Deleting its wrapped form
/// makes every value sealed under it unreadable.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey(pub(crate) [u8; KEY_LEN]);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes()?))
    }
}

/// A data key sealed by the key-encryption key, safe to store in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedDataKey(pub Vec<u8>);

/// Every key derived from the master key, held for the life of the process.
pub struct Keyring {
    kek: XChaCha20Poly1305,
    blind_index: BlindIndex,
    search: BlindIndex,
    audit_signing: SigningKey,
    backup_signing: SigningKey,
    capabilities: crate::CapabilityKeys,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyring(<redacted>)")
    }
}

impl Keyring {
    pub fn new(master: &MasterKey) -> Self {
        let kek = master.derive("data-key-wrapping");
        let blind = master.derive("blind-index");
        let search = master.derive("search-terms");
        let audit = master.derive("audit-checkpoint-signing");
        let backup = master.derive("backup-manifest-signing");
        let capabilities = crate::CapabilityKeys::new(master.derive("mail-capability-tokens"));
        Self {
            capabilities,
            kek: XChaCha20Poly1305::new(&(*kek).into()),
            blind_index: BlindIndex::new(&blind),
            search: BlindIndex::new(&search),
            audit_signing: SigningKey::from_bytes(&audit),
            backup_signing: SigningKey::from_bytes(&backup),
        }
    }

    /// Wraps a data key; `key_id` is bound as associated data so wrapped keys cannot be swapped.
    pub fn wrap(&self, key: &DataKey, key_id: &str) -> Result<WrappedDataKey, CryptoError> {
        let nonce: [u8; NONCE_LEN] = random_bytes()?;
        let aad = format!("palisade/data-key/v1/{key_id}");
        let sealed = self
            .kek
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &key.0,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(WRAP_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(WrappedDataKey(out))
    }

    pub fn unwrap(&self, wrapped: &WrappedDataKey, key_id: &str) -> Result<DataKey, CryptoError> {
        let bytes = &wrapped.0;
        if bytes.len() < 1 + NONCE_LEN || bytes[0] != WRAP_VERSION {
            return Err(CryptoError::Format);
        }
        let aad = format!("palisade/data-key/v1/{key_id}");
        let plain = Zeroizing::new(
            self.kek
                .decrypt(
                    &nonce_at(bytes)?,
                    Payload {
                        msg: &bytes[1 + NONCE_LEN..],
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| CryptoError::Decrypt)?,
        );
        let key: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| CryptoError::Format)?;
        Ok(DataKey(key))
    }

    /// Keyed index for equality lookups on encrypted values (e.g. email addresses).
    pub fn blind_index(&self) -> &BlindIndex {
        &self.blind_index
    }

    /// Keyed word tokens for searching encrypted text.
    pub fn search_index(&self) -> &BlindIndex {
        &self.search
    }

    /// Keys for the capability tokens in reply and bounce addresses.
    pub fn capabilities(&self) -> &crate::CapabilityKeys {
        &self.capabilities
    }

    pub fn audit_signing_key(&self) -> &SigningKey {
        &self.audit_signing
    }

    /// Signs backup manifests: a backup shows it came from a holder of this master key.
    pub fn backup_signing_key(&self) -> &SigningKey {
        &self.backup_signing
    }

    pub fn backup_verifying_key(&self) -> VerifyingKey {
        self.backup_signing.verifying_key()
    }

    pub fn audit_verifying_key(&self) -> VerifyingKey {
        self.audit_signing.verifying_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_key_opens_only_under_its_id_and_master() {
        let ring = Keyring::new(&MasterKey::generate().unwrap());
        let dk = DataKey::generate().unwrap();
        let wrapped = ring.wrap(&dk, "dk_1").unwrap();
        assert_eq!(ring.unwrap(&wrapped, "dk_1").unwrap().0, dk.0);
        assert!(
            ring.unwrap(&wrapped, "dk_2").is_err(),
            "key swapped between rows must not open"
        );
        let other = Keyring::new(&MasterKey::generate().unwrap());
        assert!(
            other.unwrap(&wrapped, "dk_1").is_err(),
            "another master key must not open"
        );
    }

    #[test]
    fn master_key_file_is_private_and_round_trips() {
        let dir = std::env::temp_dir().join(format!(
            "palisade-key-test-{}",
            hex::encode(random_bytes::<8>().unwrap())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let created = MasterKey::create_file(&path).unwrap();
        let loaded = MasterKey::load(&path).unwrap();
        assert_eq!(created.0, loaded.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(
            MasterKey::create_file(&path).is_err(),
            "must not overwrite an existing key"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_key_text_is_refused() {
        assert!(MasterKey::from_hex("abc").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
