//! Which keys a verification trusts to have signed checkpoints, and the handover entry
//! that moves signing from one key to the next. The handovers cut the trail into
//! stretches, each signed by one key: the first by the key the first handover is
//! from, each later one by the key the handover before it is to. A handover counts
//! only when the key it hands to signed a checkpoint at the handover entry itself, and
//! that checkpoint pins every entry before it. So someone holding an old (perhaps
//! leaked) key can neither sign after its handover, nor rewrite the trail before it and
//! sign that again (the new key's checkpoint no longer matches), nor forge a handover
//! (the new key must confirm it).

use ed25519_dalek::VerifyingKey;

use crate::{AuditAction, AuditEntry, AuditError};

pub struct TrustedKeys {
    /// The key that signs checkpoints now: the trail's newest stretch must be its.
    pub current: VerifyingKey,
    /// Earlier keys, trusted for the stretches they signed before their handover.
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

/// A public key as checkpoints and handovers name it (64 hex characters).
pub(crate) fn parse_key(text: &str) -> Option<VerifyingKey> {
    palisade_crypto::parse_audit_public_key(text).ok()
}

/// A handover recorded in the trail.
pub(crate) struct Handover {
    pub seq: i64,
    pub from: VerifyingKey,
    pub to: VerifyingKey,
}

impl Handover {
    /// The handover `entry` records, if it is one. Only the system records handovers.
    pub(crate) fn read(entry: &AuditEntry) -> Result<Option<Self>, AuditError> {
        if entry.action != AuditAction::SigningKeyRotated.as_str() {
            return Ok(None);
        }
        let unreadable = || AuditError::Handover { seq: entry.seq };
        if entry.actor != "system" {
            return Err(unreadable());
        }
        let detail: serde_json::Value = serde_json::from_str(&entry.detail).map_err(|_| unreadable())?;
        let key = |name: &str| {
            detail
                .get(name)
                .and_then(serde_json::Value::as_str)
                .and_then(parse_key)
                .ok_or_else(unreadable)
        };
        let (from, to) = (key("from")?, key("to")?);
        if from == to {
            return Err(unreadable());
        }
        Ok(Some(Self {
            seq: entry.seq,
            from,
            to,
        }))
    }
}
