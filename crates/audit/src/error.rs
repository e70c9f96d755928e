use thiserror::Error;

/// Why verification stopped: the first bad entry, named by its sequence number.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuditError {
    #[error("entry {seq}: expected sequence number {expected} (an entry was removed, inserted or reordered)")]
    Sequence { seq: i64, expected: i64 },
    #[error("entry {seq}: does not link to the previous entry (an entry was removed, inserted or reordered)")]
    Link { seq: i64 },
    #[error("entry {seq}: content does not match its hash (the entry was changed)")]
    Content { seq: i64 },
    #[error("entry {seq}: its network address is not the one recorded (the address was changed)")]
    Address { seq: i64 },
    #[error("checkpoint at entry {seq}: signature is invalid")]
    CheckpointSignature { seq: i64 },
    #[error("checkpoint at entry {seq}: does not match the entry's hash")]
    CheckpointMismatch { seq: i64 },
    #[error("checkpoint at entry {seq}: signed with a key this verification does not trust")]
    UntrustedKey { seq: i64 },
    #[error("checkpoint at entry {seq}: signed with a key the trail retired at entry {retired_at}")]
    RetiredKey { seq: i64, retired_at: i64 },
    #[error(
        "checkpoint at entry {seq}: signed with a key other than the one signing at that point of the trail \
         (entries were rewritten, or a handover removed)"
    )]
    OutOfTurn { seq: i64 },
    #[error("entry {seq}: a signing-key handover that cannot be read, or not from the key signing before it")]
    Handover { seq: i64 },
    #[error("entry {seq}: a signing-key handover that no checkpoint of the new key confirms")]
    HandoverUnconfirmed { seq: i64 },
    #[error(
        "the newest checkpoints are not signed with the configured audit key: start `serve` or run \
         `palisade audit checkpoint` with the new [audit] settings to record the handover (or, with \
         --public-key, give the signing key first)"
    )]
    NotCurrent,
    #[error(
        "entry {seq}: missing, or not the entry recorded elsewhere (the trail was cut or rewritten there)"
    )]
    NotAsRecorded { seq: i64 },
    #[error("the trail has {entries} entries and not one signed checkpoint (they were removed)")]
    Unsigned { entries: i64 },
    #[error("checkpoint at entry {seq}: the trail ends at entry {last} (entries after it were removed)")]
    Truncated { seq: i64, last: i64 },
}
