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
    #[error("checkpoint at entry {seq}: signature is invalid")]
    CheckpointSignature { seq: i64 },
    #[error("checkpoint at entry {seq}: does not match the entry's hash")]
    CheckpointMismatch { seq: i64 },
    #[error("checkpoint at entry {seq}: the trail ends at entry {last} (entries after it were removed)")]
    Truncated { seq: i64, last: i64 },
}
