//! Network addresses in the trail, kept apart from the chain so retention can shorten
//! them without breaking it.
//!
//! An entry's hash covers the address's network (a /24 for IPv4, a /48 for IPv6) and a
//! salted commitment to the full address. While the salt is kept, the full address is
//! checked against the commitment; retention replaces the address with its network and
//! deletes the salt, after which the commitment reveals nothing (the salt was random)
//! and the network is still covered by the chain.

use sha2::{Digest, Sha256};

/// The commitment an entry's hash covers in place of the full address.
pub fn commit_ip(salt: &str, address: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"palisade-audit-address-v1");
    h.update((salt.len() as u64).to_be_bytes());
    h.update(salt.as_bytes());
    h.update((address.len() as u64).to_be_bytes());
    h.update(address.as_bytes());
    hex::encode(h.finalize())
}

/// A fresh random salt for one entry's commitment.
pub fn new_salt() -> Result<String, palisade_crypto::CryptoError> {
    Ok(hex::encode(palisade_crypto::random_bytes::<16>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commitment_needs_its_salt() {
        let Ok(salt) = new_salt() else {
            panic!("no random salt");
        };
        assert_eq!(salt.len(), 32);
        assert_eq!(commit_ip(&salt, "203.0.113.77"), commit_ip(&salt, "203.0.113.77"));
        assert_ne!(commit_ip(&salt, "203.0.113.77"), commit_ip(&salt, "203.0.113.78"));
        assert_ne!(
            commit_ip(&salt, "203.0.113.77"),
            commit_ip(&new_salt().unwrap_or_default(), "203.0.113.77")
        );
    }
}
