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
}
