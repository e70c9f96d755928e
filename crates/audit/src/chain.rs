use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry as stored. `hash` covers every other field, including `prev_hash`, so
/// editing, removing, inserting or reordering entries breaks the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub outcome: String,
    pub ip: String,
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
        let mut h = Sha256::new();
        h.update(b"palisade-audit-entry-v1");
        h.update(self.seq.to_be_bytes());
        h.update(self.at.to_be_bytes());
        for field in [
            &self.actor,
            &self.action,
            &self.object,
            &self.outcome,
            &self.ip,
            &self.user_agent,
            &self.session,
            &self.detail,
            &self.prev_hash,
        ] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
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
