//! Threading by capability only. Each participant's mail about a ticket carries a reply
//! address (`support+r<token>@…`) and `Message-ID` whose token names a capability (the
//! ticket and that participant) and is MACed with a key derived from the master key.
//! Subject tags, ticket numbers, `In-Reply-To` or `References` never attach mail from
//! outside to a ticket. A message joins a ticket as a public reply only when its token
//! is genuine and live AND the authenticated sender is the participant it was given
//! to; anyone else who writes to it gets a ticket of their own, never a seat on
//! someone else's.

use palisade_core::{EmailAddress, TicketId, UserId};
use palisade_crypto::{CAPABILITY_TOKEN_CHARS, CapabilityKeys, CapabilityPurpose, Keyring};
use palisade_store::{BOUNCE_ID_LEN, ReplyCapability, Store, Tx};

use crate::{MailError, Verdict};

/// The separator between a mailbox's local part and a reply token.
const REPLY_MARKER: &str = "+r";
/// The separator between the sender's local part and a bounce token (VERP).
pub(crate) const BOUNCE_MARKER: &str = "+b";

/// `local<marker><token>@domain` for `base` = `local@domain`.
pub(crate) fn tokened_address(
    base: &EmailAddress,
    marker: &str,
    token: &str,
) -> Result<EmailAddress, MailError> {
    let (local, domain) = base
        .as_str()
        .split_once('@')
        .ok_or_else(|| MailError::Config("an address without a domain".into()))?;
    EmailAddress::parse(&format!("{local}{marker}{token}@{domain}")).map_err(|_| {
        MailError::Config(format!(
            "the local part {local:?} is too long to carry a capability token"
        ))
    })
}

/// The envelope sender (VERP) of an outbound message whose outbox row has `bounce_id`:
/// a bounce to it names the message, and only someone who saw the envelope can send one.
pub(crate) fn bounce_address(
    keys: &CapabilityKeys,
    sender: &EmailAddress,
    version: u8,
    bounce_id: &[u8; BOUNCE_ID_LEN],
) -> Result<EmailAddress, MailError> {
    let token = keys.mint(CapabilityPurpose::Bounce, version, bounce_id);
    tokened_address(sender, BOUNCE_MARKER, &token)
}

/// Which key versions sign and which still verify (rotation with a grace period: mint
/// with `current`, accept `current` and `also_accept` until the operator drops them).
#[derive(Clone, Debug)]
pub struct ReplyKeys {
    pub current: u8,
    pub also_accept: Vec<u8>,
}

impl Default for ReplyKeys {
    fn default() -> Self {
        Self {
            current: 1,
            also_accept: Vec::new(),
        }
    }
}

impl ReplyKeys {
    fn accepted(&self) -> Vec<u8> {
        let mut versions = vec![self.current];
        versions.extend(self.also_accept.iter().copied().filter(|v| *v != self.current));
        versions
    }
}

/// What a recipient address is, decided at RCPT time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// A support mailbox itself: new conversations.
    Mailbox(EmailAddress),
    /// A reply address with a genuine, live capability.
    Reply {
        mailbox: EmailAddress,
        capability: ReplyCapability,
    },
    /// The envelope sender of one of Palisade's own messages (VERP), with a genuine
    /// token: a bounce. It marks the address and never opens a ticket.
    Bounce { bounce_id: [u8; BOUNCE_ID_LEN] },
    /// Not ours, or a reply token that is guessed, forged, revoked or retired: 550.
    Unknown,
}

/// Where an accepted message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A public reply on the ticket, by its participant.
    PublicReply { ticket: TicketId, author: UserId },
    /// A new ticket for the authenticated sender.
    NewTicket,
    /// Held for an agent to review (sender not authenticated).
    Quarantine,
}

/// The one rule that decides where a message goes. `sender_account` is the account
/// whose address is the authenticated `From` (none if that address has no account).
pub fn place(recipient: &Recipient, verdict: &Verdict, sender_account: Option<&UserId>) -> Placement {
    if !matches!(verdict, Verdict::Authenticated(_)) {
        return Placement::Quarantine;
    }
    match recipient {
        Recipient::Reply { capability, .. } if sender_account == Some(&capability.participant) => {
            Placement::PublicReply {
                ticket: capability.ticket.clone(),
                author: capability.participant.clone(),
            }
        }
        // A genuine token in the hands of someone else (forwarded, leaked, or the
        // attacker in Cc): their message becomes their own ticket.
        Recipient::Reply { .. } | Recipient::Mailbox(_) => Placement::NewTicket,
        Recipient::Bounce { .. } | Recipient::Unknown => Placement::Quarantine,
    }
}

pub struct Threading {
    store: Store,
    keys: ReplyKeys,
    mailboxes: Vec<EmailAddress>,
    /// Envelope senders of outbound mail, whose VERP addresses take bounces.
    bounce_senders: Vec<EmailAddress>,
}

impl Threading {
    pub fn new(store: Store, keys: ReplyKeys, mailboxes: Vec<EmailAddress>) -> Self {
        Self {
            store,
            keys,
            mailboxes,
            bounce_senders: Vec::new(),
        }
    }

    /// Whether `address` is one of the support addresses mail is received for.
    pub fn serves(&self, address: &str) -> bool {
        self.mailboxes.iter().any(|m| m.as_str() == address)
    }

    /// Takes bounces to the VERP addresses of `sender` (the `[mail]` sender address).
    pub fn with_bounce_sender(mut self, sender: EmailAddress) -> Self {
        self.bounce_senders.push(sender);
        self
    }

    fn keyring(&self) -> &Keyring {
        self.store.keys()
    }

    /// The reply address and `Message-ID` for mail to `participant` about `ticket`,
    /// sent from `mailbox`; the capability is created in the caller's transaction.
    pub async fn reply_identity(
        &self,
        tx: &mut Tx,
        mailbox: &EmailAddress,
        ticket: &TicketId,
        participant: &UserId,
    ) -> Result<(EmailAddress, String), MailError> {
        let capability = self
            .store
            .reply_capability_for(tx, ticket, participant, self.keys.current)
            .await?;
        let token = self.keyring().capabilities().mint(
            CapabilityPurpose::Reply,
            capability.key_version,
            &capability.id,
        );
        let address = tokened_address(mailbox, REPLY_MARKER, &token)?;
        Ok((address, format!("<r{token}@{}>", mailbox.domain())))
    }

    /// Decides what `rcpt` is. Tokens are checked by MAC before any lookup, so guessing
    /// costs nothing but a refusal.
    pub async fn recipient(&self, rcpt: &EmailAddress) -> Result<Recipient, MailError> {
        if self.mailboxes.contains(rcpt) {
            return Ok(Recipient::Mailbox(rcpt.clone()));
        }
        let Some((local, domain)) = rcpt.as_str().split_once('@') else {
            return Ok(Recipient::Unknown);
        };
        if let Some((base, token)) = local.rsplit_once(BOUNCE_MARKER)
            && token.len() == CAPABILITY_TOKEN_CHARS
        {
            return Ok(self.bounce(base, domain, token));
        }
        let Some((base, token)) = local.rsplit_once(REPLY_MARKER) else {
            return Ok(Recipient::Unknown);
        };
        let Ok(mailbox) = EmailAddress::parse(&format!("{base}@{domain}")) else {
            return Ok(Recipient::Unknown);
        };
        if token.len() != CAPABILITY_TOKEN_CHARS || !self.mailboxes.contains(&mailbox) {
            return Ok(Recipient::Unknown);
        }
        let Some((version, id)) = self.keyring().verify_capability(
            CapabilityPurpose::Reply,
            token,
            &self.keys.accepted(),
            palisade_core::UnixMillis::now().0,
        ) else {
            return Ok(Recipient::Unknown);
        };
        match self.store.reply_capability(&id).await? {
            Some(capability) if capability.key_version == version => {
                Ok(Recipient::Reply { mailbox, capability })
            }
            _ => Ok(Recipient::Unknown),
        }
    }

    fn bounce(&self, base: &str, domain: &str, token: &str) -> Recipient {
        let Ok(sender) = EmailAddress::parse(&format!("{base}@{domain}")) else {
            return Recipient::Unknown;
        };
        if !self.bounce_senders.contains(&sender) {
            return Recipient::Unknown;
        }
        match self.keyring().verify_capability(
            CapabilityPurpose::Bounce,
            token,
            &self.keys.accepted(),
            palisade_core::UnixMillis::now().0,
        ) {
            Some((_, bounce_id)) => Recipient::Bounce { bounce_id },
            None => Recipient::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthMethod;

    fn capability(participant: &UserId) -> ReplyCapability {
        ReplyCapability {
            id: [1; 10],
            ticket: TicketId::generate(),
            participant: participant.clone(),
            key_version: 1,
        }
    }

    #[test]
    fn only_the_authenticated_participant_replies_into_the_ticket() {
        let customer = UserId::generate();
        let stranger = UserId::generate();
        let mailbox = EmailAddress::parse("support@desk.example").unwrap_or_else(|_| unreachable!());
        let reply = Recipient::Reply {
            mailbox: mailbox.clone(),
            capability: capability(&customer),
        };
        let authenticated = Verdict::Authenticated(AuthMethod::Dkim {
            domain: "customer.example".into(),
        });
        let unauthenticated = Verdict::Unauthenticated(Default::default());
        assert!(matches!(
            place(&reply, &authenticated, Some(&customer)),
            Placement::PublicReply { author, .. } if author == customer
        ));
        // Someone else with the token (forwarded, leaked, attacker in Cc).
        assert_eq!(
            place(&reply, &authenticated, Some(&stranger)),
            Placement::NewTicket
        );
        assert_eq!(place(&reply, &authenticated, None), Placement::NewTicket);
        // The participant's address, but not authenticated (forged From).
        assert_eq!(
            place(&reply, &unauthenticated, Some(&customer)),
            Placement::Quarantine
        );
        let try_later = Verdict::TryLater("dns".into());
        assert_eq!(place(&reply, &try_later, Some(&customer)), Placement::Quarantine);
        assert_eq!(
            place(&Recipient::Mailbox(mailbox), &authenticated, Some(&customer)),
            Placement::NewTicket
        );
        assert_eq!(
            place(&Recipient::Unknown, &authenticated, Some(&customer)),
            Placement::Quarantine
        );
    }
}
