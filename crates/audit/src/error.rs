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
    #[error("checkpoint at entry {seq}: signed with a key this verification does not trust")]
    UntrustedKey { seq: i64 },
    #[error("checkpoint at entry {seq}: signed with a key the trail retired at entry {retired_at}")]
    RetiredKey { seq: i64, retired_at: i64 },
    #[error(
        "checkpoint at entry {seq}: signed with an earlier key that the trail never hands over from \
         (entries after it were rewritten, or the handover removed)"
    )]
    NoHandover { seq: i64 },
    #[error("entry {seq}: a signing-key handover that cannot be read")]
    Handover { seq: i64 },
    #[error("checkpoint at entry {seq}: the trail ends at entry {last} (entries after it were removed)")]
    Truncated { seq: i64, last: i64 },
}
