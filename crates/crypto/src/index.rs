use std::collections::BTreeSet;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::KEY_LEN;

type HmacSha256 = Hmac<Sha256>;

/// 128 bits of HMAC-SHA256: collisions are negligible and the index stays compact.
const INDEX_BYTES: usize = 16;

/// A keyed, deterministic fingerprint of a value. Without the key the index reveals
/// only equality between rows, never the value.
pub struct BlindIndex {
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl BlindIndex {
    pub(crate) fn new(key: &[u8; KEY_LEN]) -> Self {
        Self {
            key: Zeroizing::new(*key),
        }
    }

    pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
        &self.key
    }

    /// `domain` separates uses (e.g. "user.email") so equal values in different columns
    /// do not share an index value.
    pub fn compute(&self, domain: &str, value: &str) -> String {
        // HMAC accepts keys of any length, so construction cannot fail.
        let Ok(mut mac) = HmacSha256::new_from_slice(self.key.as_slice()) else {
            unreachable!("HMAC takes any key length")
        };
        mac.update(&(domain.len() as u32).to_be_bytes());
        mac.update(domain.as_bytes());
        mac.update(value.as_bytes());
        let tag = mac.finalize().into_bytes();
        hex::encode(&tag[..INDEX_BYTES])
    }
}

/// Lower-cased words of at least two characters, deduplicated. The same function
/// tokenises stored text and queries so they meet.
pub fn search_terms(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && w.chars().count() <= 64)
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Keyring, MasterKey};

    #[test]
    fn index_is_keyed_deterministic_and_domain_separated() {
        let ring = Keyring::new(&MasterKey::generate().unwrap());
        let bi = ring.blind_index();
        assert_eq!(
            bi.compute("user.email", "a@example.com"),
            bi.compute("user.email", "a@example.com")
        );
        assert_ne!(
            bi.compute("user.email", "a@example.com"),
            bi.compute("user.name", "a@example.com")
        );
        let other = Keyring::new(&MasterKey::generate().unwrap());
        assert_ne!(
            bi.compute("user.email", "a@example.com"),
            other.blind_index().compute("user.email", "a@example.com")
        );
        assert!(!bi.compute("user.email", "a@example.com").contains("example"));
    }

    #[test]
    fn search_terms_are_normalised_words() {
        let terms = search_terms("Refund for ORDER #1234, please! a");
        assert!(terms.contains("refund") && terms.contains("order") && terms.contains("1234"));
        assert!(!terms.contains("a"));
    }
}
