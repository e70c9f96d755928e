//! The record of a held (quarantined) message, one type for everything that writes or
//! reads it: the mail intake and the assistant's anonymous handover hold one, the
//! review reads one, a release turns one back into mail. Sealed by the store as JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;

/// What a reviewer needs to judge a held message, and what a release needs to place it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldMail {
    /// The sending client's address (`assistant` for a handover).
    pub client_ip: String,
    pub helo: String,
    /// The envelope sender; `None` for the null sender.
    pub mail_from: Option<String>,
    /// The one `From` address the strict reading decided.
    pub from: String,
    pub display_name: Option<String>,
    /// Why it was not authenticated.
    pub verdict: Value,
    /// Set when the sender's domain imitates a known one.
    #[serde(default)]
    pub lookalike: Option<Value>,
    /// The whole message.
    pub raw: String,
}

impl HeldMail {
    pub fn to_bytes(&self) -> Result<Vec<u8>, ServiceError> {
        serde_json::to_vec(self)
            .map_err(|e| ServiceError::Store(palisade_store::StoreError::Corrupt(format!("held mail: {e}"))))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ServiceError> {
        serde_json::from_slice(bytes)
            .map_err(|e| ServiceError::Store(palisade_store::StoreError::Corrupt(format!("held mail: {e}"))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written_and_old_records_still_read() {
        let held = HeldMail {
            client_ip: "192.0.2.1".into(),
            helo: "mx.example".into(),
            mail_from: None,
            from: "ann@example.com".into(),
            display_name: Some("Ann".into()),
            verdict: serde_json::json!({ "authenticated": false }),
            lookalike: None,
            raw: "From: ann@example.com\r\n\r\nHi\r\n".into(),
        };
        assert_eq!(HeldMail::from_bytes(&held.to_bytes().unwrap()).unwrap(), held);
        // Records held before the type existed (an assistant handover had no lookalike).
        let old = br#"{"client_ip":"assistant","helo":"","mail_from":"a@b.test","from":"a@b.test",
                       "display_name":null,"verdict":{"authenticated":false},"raw":"From: a@b.test\r\n\r\nx"}"#;
        assert_eq!(HeldMail::from_bytes(old).unwrap().lookalike, None);
        assert!(HeldMail::from_bytes(b"{}").is_err());
    }
}
