//! Wrapping keys: the key-encryption keys that seal data keys, in this process (derived
//! from the master key file's wrapping secret) or outside it (an HSM, through
//! [`ExternalWrappingKey`]). A [`crate::Keyring`] holds one in use and others that open.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::keys::{KEY_LEN, NONCE_LEN, WRAP_VERSION, nonce_at, random_bytes};

pub(crate) fn hkdf_expand(secret: &[u8; KEY_LEN], purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
    let hk = Hkdf::<Sha256>::new(Some(b"palisade/v1"), secret);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand(purpose.as_bytes(), out.as_mut_slice());
    out
}

/// A wrapping key held outside this process, such as in an HSM reached through
/// PKCS#11: it seals and opens data keys itself, and its secret never enters memory.
pub trait ExternalWrappingKey: Send + Sync {
    /// Its public name: 16 hex characters, unique among the wrapping keys in use.
    fn id(&self) -> &str;
    /// Seals `plaintext` with `aad` bound; the result starts with a version byte other
    /// than the software wrapping's.
    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// Opens what [`ExternalWrappingKey::seal`] made; `CryptoError::Decrypt` for
    /// anything else.
    fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>;
}

/// A key-encryption key and its public name (16 hex characters derived from it, so a
/// data key's row can say which key wrapped it without saying anything about the key).
pub(crate) enum Kek {
    Software { id: String, cipher: XChaCha20Poly1305 },
    External(Arc<dyn ExternalWrappingKey>),
}

impl Kek {
    pub(crate) fn from_wrapping_secret(secret: &[u8; KEY_LEN]) -> Self {
        // "data-key-wrapping" is what the single-secret key always derived, so a key
        // that was never rotated wraps exactly as before.
        let key = hkdf_expand(secret, "data-key-wrapping");
        let id = hkdf_expand(secret, "data-key-wrapping-id");
        Self::Software {
            id: hex::encode(&id[..8]),
            cipher: XChaCha20Poly1305::new(&(*key).into()),
        }
    }

    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Software { id, .. } => id,
            Self::External(key) => key.id(),
        }
    }

    pub(crate) fn seal(&self, msg: &[u8], aad: &str) -> Result<Vec<u8>, CryptoError> {
        let cipher = match self {
            Self::Software { cipher, .. } => cipher,
            Self::External(key) => return key.seal(msg, aad.as_bytes()),
        };
        let nonce: [u8; NONCE_LEN] = random_bytes()?;
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(WRAP_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub(crate) fn open(&self, bytes: &[u8], aad: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let cipher = match self {
            Self::Software { cipher, .. } => cipher,
            Self::External(key) => return key.open(bytes, aad.as_bytes()),
        };
        if bytes.len() < 1 + NONCE_LEN {
            return Err(CryptoError::Format);
        }
        if bytes[0] != WRAP_VERSION {
            // Sealed by another kind of wrapping key: not this one's to open.
            return Err(CryptoError::Decrypt);
        }
        Ok(Zeroizing::new(
            cipher
                .decrypt(
                    &nonce_at(bytes)?,
                    Payload {
                        msg: &bytes[1 + NONCE_LEN..],
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| CryptoError::Decrypt)?,
        ))
    }
}
