//! Identifiers that reach URLs, APIs or addresses are 128 random bits, so knowing one
//! ticket id says nothing about any other. Sequential numbers exist only for display.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::CoreError;

const RANDOM_BYTES: usize = 16;
const ENCODED_LEN: usize = 22;

fn random_suffix() -> String {
    let mut bytes = [0u8; RANDOM_BYTES];
    // The OS generator failing means the machine cannot produce any secret at all;
    // continuing would mint predictable ids, so this is one of the few justified panics.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("operating system random generator unavailable");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A name nobody else will pick (`prefix` and random characters): for the holder of a
/// lease that is taken for one piece of work.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}{}", random_suffix())
}

fn valid_suffix(s: &str) -> bool {
    s.len() == ENCODED_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! random_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, random_suffix()))
            }

            pub fn parse(s: &str) -> Result<Self, CoreError> {
                match s.strip_prefix($prefix) {
                    Some(rest) if valid_suffix(rest) => Ok(Self(s.to_owned())),
                    _ => Err(CoreError::InvalidId { kind: $kind }),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, CoreError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

random_id!(
    /// A ticket; appears in URLs, so it is random.
    TicketId, "tkt_", "ticket");
random_id!(
    /// Any account: staff or customer.
    UserId, "usr_", "user");
random_id!(
    /// A customer company (organisation of customers).
    CompanyId, "org_", "company");
random_id!(
    /// A team of agents; tickets belong to one team.
    TeamId, "team_", "team");
random_id!(
    /// A custom ticket field defined by an administrator.
    CustomFieldId, "fld_", "custom field");
random_id!(
    /// One message on a ticket (public reply or internal note).
    MessageId, "msg_", "message");
random_id!(
    /// A stored attachment; downloadable only through its ticket's authorisation.
    AttachmentId, "att_", "attachment");
random_id!(
    /// A file (usually an image) belonging to a help-centre article; served to those who
    /// may read the article.
    ArticleFileId, "afl_", "article file");
random_id!(
    /// Server-side session row id (not the bearer token, which is never stored).
    SessionId, "ses_", "session");
random_id!(
    /// A registered passkey or security key.
    PasskeyId, "pk_", "passkey");
random_id!(
    /// An in-flight WebAuthn ceremony (its challenge state lives on the server).
    CeremonyId, "wac_", "ceremony");
random_id!(
    /// An outbound email waiting in (or sent from) the outbox.
    OutboxId, "out_", "outbox message");
random_id!(
    /// A conversation with the support assistant.
    ConversationId, "cnv_", "conversation");
random_id!(
    /// A help-centre article (all its versions share the id).
    ArticleId, "art_", "article");
random_id!(
    /// One notification to one agent.
    NotificationId, "ntf_", "notification");
random_id!(
    /// A canned reply with ticket changes, personal or shared.
    MacroId, "mac_", "macro");
random_id!(
    /// A saved view of the ticket list, personal or shared.
    ViewId, "vw_", "view");
random_id!(
    /// Business hours: opening periods in a time zone, and holidays.
    CalendarId, "cal_", "calendar");
random_id!(
    /// A service-level policy: the targets tickets matching its conditions get.
    SlaPolicyId, "sla_", "service-level policy");
random_id!(
    /// A trigger or automation: conditions and actions a team's tickets run through.
    RuleId, "rul_", "rule");
random_id!(
    /// A request under privacy law about one person (erasure; later access), with the
    /// deadline it must be answered by.
    PrivacyRequestId, "prq_", "privacy request");
random_id!(
    /// A legal hold: a customer, company or ticket kept from erasure and retention.
    LegalHoldId, "hold_", "legal hold");
random_id!(
    /// Where the desk posts signed webhooks, for which events and as whom.
    WebhookEndpointId, "wh_", "webhook endpoint");
random_id!(
    /// One event for one webhook endpoint: its `webhook-id`, the same on every retry.
    WebhookDeliveryId, "whd_", "webhook delivery");

/// Position of an entry in the audit chain. Sequential by design: gaps are evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AuditSeq(pub i64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_round_trip_and_differ() {
        let a = TicketId::generate();
        let b = TicketId::generate();
        assert_ne!(a, b);
        assert_eq!(TicketId::parse(a.as_str()), Ok(a.clone()));
        assert!(a.as_str().starts_with("tkt_"));
    }

    #[test]
    fn ids_of_another_kind_or_malformed_are_rejected() {
        let user = UserId::generate();
        assert!(TicketId::parse(user.as_str()).is_err());
        assert!(TicketId::parse("tkt_1").is_err());
        assert!(TicketId::parse("tkt_../../etc/passwd_____").is_err());
        assert!(TicketId::parse("tkt_AAAAAAAAAAAAAAAAAAAAA%").is_err());
    }
}
