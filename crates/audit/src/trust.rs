//! Which keys a verification trusts to have signed checkpoints, and the handover entry
//! that moves signing from one key to the next. A retired key stays trusted for the
//! checkpoints before its handover and for none after it, and a checkpoint signed with
//! an earlier key needs a handover after it: someone holding an old (perhaps leaked)
//! key cannot rewrite the trail from some point on and sign it again, because either
//! the handover is gone or the new key's checkpoints no longer match.

use ed25519_dalek::VerifyingKey;

use crate::{AuditAction, AuditEntry, AuditError};

pub struct TrustedKeys {
    /// The key that signs checkpoints now.
    pub current: VerifyingKey,
    /// Earlier keys, trusted for checkpoints signed before their handover.
    pub retired: Vec<VerifyingKey>,
    /// What signed the checkpoints that name no key (the root's own key); `None`: any
    /// of the keys above whose signature fits.
    pub unlabelled: Option<VerifyingKey>,
}

impl TrustedKeys {
    /// Only `key`, for every checkpoint.
    pub fn only(key: VerifyingKey) -> Self {
        Self {
            current: key,
            retired: Vec::new(),
            unlabelled: Some(key),
        }
    }

    pub(crate) fn trusts(&self, key: &VerifyingKey) -> bool {
        self.current == *key || self.retired.contains(key) || self.unlabelled.as_ref() == Some(key)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &VerifyingKey> {
        std::iter::once(&self.current).chain(&self.retired)
    }
}

/// The `detail` of the entry that hands checkpoint signing from `from` to `to`.
pub fn handover_detail(from: &VerifyingKey, to: &VerifyingKey) -> serde_json::Value {
    serde_json::json!({
        "from": hex::encode(from.to_bytes()),
        "to": hex::encode(to.to_bytes()),
    })
}

/// A handover recorded in the trail.
pub(crate) struct Handover {
    pub seq: i64,
    pub from: VerifyingKey,
}

impl Handover {
    /// The handover `entry` records, if it is one.
    pub(crate) fn read(entry: &AuditEntry) -> Result<Option<Self>, AuditError> {
        if entry.action != AuditAction::SigningKeyRotated.as_str() {
            return Ok(None);
        }
        let unreadable = || AuditError::Handover { seq: entry.seq };
        let detail: serde_json::Value = serde_json::from_str(&entry.detail).map_err(|_| unreadable())?;
        let key = |name: &str| {
            let text = detail
                .get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(unreadable)?;
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(text, &mut bytes).map_err(|_| unreadable())?;
            VerifyingKey::from_bytes(&bytes).map_err(|_| unreadable())
        };
        key("to")?;
        Ok(Some(Self {
            seq: entry.seq,
            from: key("from")?,
        }))
    }
}
