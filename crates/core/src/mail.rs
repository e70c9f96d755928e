//! An email as the rest of Palisade hands it to the outbox: who it goes to and what it
//! says. Headers, encoding, signing and delivery are the mail crate's business.

use serde::{Deserialize, Serialize};

/// Mail to one address on file (plain text, optionally with an HTML alternative). Never built from addresses in inbound
/// mail: the recipient is always an account's stored address.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// Where replies go: a capability reply address for ticket mail.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The `Message-ID` without angle brackets (one carrying a capability token for
    /// ticket mail); a random one when absent.
    #[serde(default)]
    pub message_id: Option<String>,
    /// An HTML rendering of `text` (already escaped by whoever built it): the mail
    /// then goes out as `multipart/alternative`.
    #[serde(default)]
    pub html: Option<String>,
    /// Files sent with it (an agent's reply's attachments, already judged clean).
    #[serde(default)]
    pub files: Vec<OutgoingFile>,
}

/// A file attached to outgoing mail. The content is kept as base64 in the outbox's
/// (sealed) envelope rather than as a JSON array of numbers.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingFile {
    pub name: String,
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}
