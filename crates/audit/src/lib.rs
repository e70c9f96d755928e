//! The tamper-evident audit trail, as pure logic: what an entry says, how it is
//! hash-chained to the one before (SHA-256), how the chain head is signed into
//! checkpoints (Ed25519), and how a whole trail is verified offline. Persistence lives
//! in `palisade-store`, which appends entries in the same transaction as the change
//! they record.

mod address;
mod chain;
mod error;
mod event;
mod trust;
mod verify;

/// A checkpoint is signed into the appending transaction every this many entries (and
/// `serve` signs the head every few minutes).
pub const CHECKPOINT_EVERY: i64 = 256;

pub use address::{commit_ip, new_salt};
pub use chain::{AuditEntry, Checkpoint, GENESIS_HASH, sign_checkpoint};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use error::AuditError;
pub use event::{AuditAction, AuditContext, AuditEvent, Outcome};
pub use trust::{TrustedKeys, handover_detail};
pub use verify::{Verifier, VerifyReport};
