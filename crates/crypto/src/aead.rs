use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::keys::{NONCE_LEN, nonce_at, random_bytes};
use crate::{CryptoError, DataKey};

const FIELD_VERSION: u8 = 1;

/// Where a value lives. Bound into the ciphertext so a value copied to another row,
/// column or table fails to decrypt instead of being shown in the wrong place.
#[derive(Clone, Copy, Debug)]
pub struct FieldAad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl FieldAad<'_> {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.table.len() + self.column.len() + self.row.len());
        out.extend_from_slice(b"palisade/field/v1\0");
        for part in [self.table, self.column, self.row] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// Seals `plaintext`; output is `version || nonce || ciphertext+tag`.
pub fn seal_field(key: &DataKey, aad: FieldAad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = XChaCha20Poly1305::new(&key.0.into());
    let nonce: [u8; NONCE_LEN] = random_bytes()?;
    let aad = aad.bytes();
    let sealed = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::Decrypt)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(FIELD_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

pub fn open_field(key: &DataKey, aad: FieldAad<'_>, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != FIELD_VERSION {
        return Err(CryptoError::Format);
    }
    let cipher = XChaCha20Poly1305::new(&key.0.into());
    let aad = aad.bytes();
    cipher
        .decrypt(
            &nonce_at(sealed)?,
            Payload {
                msg: &sealed[1 + NONCE_LEN..],
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: FieldAad<'static> = FieldAad {
        table: "messages",
        column: "body",
        row: "msg_1",
    };

    #[test]
    fn sealed_value_round_trips_and_hides_plaintext() {
        let key = DataKey::generate().unwrap();
        let sealed = seal_field(&key, AAD, b"card ending 4242").unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"4242"));
        assert_eq!(open_field(&key, AAD, &sealed).unwrap(), b"card ending 4242");
    }

    #[test]
    fn value_moved_to_another_row_or_column_does_not_open() {
        let key = DataKey::generate().unwrap();
        let sealed = seal_field(&key, AAD, b"hello").unwrap();
        for moved in [
            FieldAad { row: "msg_2", ..AAD },
            FieldAad {
                column: "subject",
                ..AAD
            },
            FieldAad {
                table: "tickets",
                ..AAD
            },
        ] {
            assert!(open_field(&key, moved, &sealed).is_err());
        }
    }

    #[test]
    fn tampered_or_foreign_ciphertext_is_refused() {
        let key = DataKey::generate().unwrap();
        let mut sealed = seal_field(&key, AAD, b"hello").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(open_field(&key, AAD, &sealed).is_err());
        let other = DataKey::generate().unwrap();
        let sealed = seal_field(&key, AAD, b"hello").unwrap();
        assert!(open_field(&other, AAD, &sealed).is_err());
        assert!(open_field(&key, AAD, b"short").is_err());
    }

    #[test]
    fn same_plaintext_seals_differently_each_time() {
        let key = DataKey::generate().unwrap();
        assert_ne!(
            seal_field(&key, AAD, b"x").unwrap(),
            seal_field(&key, AAD, b"x").unwrap()
        );
    }
}
