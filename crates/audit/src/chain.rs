use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use palisade_core::{is_truncated, truncate_ip};

use crate::address::commit_ip;

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry as stored. `hash` covers every other field, including `prev_hash`, so
/// editing, removing, inserting or reordering entries breaks the chain, with one
/// exception: the network address (see [`crate::address`]), whose network and salted
/// commitment the hash covers instead, so retention can shorten it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    /// The full address, or only its network once retention shortened it.
    pub ip: String,
    /// The commitment's salt; empty once the address was shortened.
    pub ip_salt: String,
    /// The commitment to the full address; empty on entries written before addresses
    /// were kept apart, whose hash covers the address itself (they cannot be shortened).
    pub ip_commit: String,
    pub user_agent: String,
    pub session: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// Computes the hash over a length-prefixed encoding, so no two different entries
    /// can encode to the same bytes by shifting text between fields.
    pub fn compute_hash(&self) -> String {
        let kept_apart = !self.ip_commit.is_empty();
        let mut h = Sha256::new();
        h.update(if kept_apart {
            b"palisade-audit-entry-v2"
        } else {
            b"palisade-audit-entry-v1"
        });
        h.update(self.seq.to_be_bytes());
        h.update(self.at.to_be_bytes());
        let network = truncate_ip(&self.ip);
        let address: Vec<&str> = if kept_apart {
            vec![&network, &self.ip_commit]
        } else {
            vec![&self.ip]
        };
        let before = [&self.actor, &self.action, &self.object, &self.outcome].map(String::as_str);
        let after = [&self.user_agent, &self.session, &self.detail, &self.prev_hash].map(String::as_str);
        for field in before.into_iter().chain(address).chain(after) {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// Whether the address is the one committed to: the full address while the salt is
    /// kept, only its network once the salt is gone. Entries of the first format carry
    /// their address inside the hash and always pass here.
    pub fn address_intact(&self) -> bool {
        if self.ip_commit.is_empty() {
            return self.ip_salt.is_empty();
        }
        if self.ip_salt.is_empty() {
            return is_truncated(&self.ip);
        }
        commit_ip(&self.ip_salt, &self.ip) == self.ip_commit
    }

    /// Keeps the address apart from the chain under a fresh `salt`
    /// ([`crate::new_salt`]); call before [`Self::seal`].
    pub fn with_address_salt(mut self, salt: String) -> Self {
        self.ip_commit = commit_ip(&salt, &self.ip);
        self.ip_salt = salt;
        self
    }

    /// Fills in `hash` after the other fields are set.
    pub fn seal(mut self) -> Self {
        self.hash = self.compute_hash();
        self
    }
}

/// A signed statement "the chain had this head at this time".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: i64,
    pub signature: String,
    /// The signer's public key (hex); `None` on checkpoints made before they named it,
    /// which the master key's root signed.
    pub key: Option<String>,
}

fn checkpoint_message(seq: i64, hash: &str, at: i64) -> Vec<u8> {
    let mut m = b"palisade-audit-checkpoint-v1".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&at.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m
}

pub fn sign_checkpoint(key: &SigningKey, seq: i64, hash: &str, at: i64) -> Checkpoint {
    let signature = key.sign(&checkpoint_message(seq, hash, at));
    Checkpoint {
        seq,
        hash: hash.to_owned(),
        at,
        signature: hex::encode(signature.to_bytes()),
        key: Some(hex::encode(key.verifying_key().to_bytes())),
    }
}

impl Checkpoint {
    pub fn signature_valid(&self, key: &VerifyingKey) -> bool {
        let mut bytes = [0u8; 64];
        if hex::decode_to_slice(&self.signature, &mut bytes).is_err() {
            return false;
        }
        let signature = Signature::from_bytes(&bytes);
        key.verify(&checkpoint_message(self.seq, &self.hash, self.at), &signature)
            .is_ok()
    }
}
