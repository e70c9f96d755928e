//! Where an accepted message goes, durably, before the sender gets 250: a public reply
//! on a ticket (the token's participant, authenticated), a new ticket of the
//! authenticated sender's own, or the quarantine. Ticket writes go through the same
//! Cedar checks as the web: the sender's account must be allowed to reply to or open
//! the ticket. Nothing here sends mail back (no backscatter).

use std::collections::HashMap;
use std::sync::Arc;

use mail_parser::MessageParser;
use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{EmailAddress, Principal, Role, TeamId, TicketId, UserId, Visibility};
use palisade_policy::{Action, PolicyEngine, Resource, TicketFacts};
use palisade_store::{NewTicket, NewUser, Store, UserRecord};
use serde_json::json;

use crate::{Accepted, MailError, Placement, Recipient, Verdict, place};

const MAX_SUBJECT_CHARS: usize = 200;
/// The tag every ticket released from quarantine carries.
pub const RELEASED_TAG: &str = "released-from-quarantine";
/// The tag of a ticket opened by mail from a domain that imitates a known one.
pub const LOOKALIKE_TAG: &str = "lookalike-sender";
/// How many known sender domains a new sender is compared with (most recent first).
const KNOWN_DOMAINS_COMPARED: u32 = 2000;
const MAX_BODY_CHARS: usize = 100_000;

/// A released message's ticket, and whom to ask to confirm it.
pub struct Released {
    pub ticket: TicketId,
    pub requester: UserRecord,
    pub subject: String,
}

pub struct Inbound {
    store: Store,
    policy: Arc<PolicyEngine>,
    /// Which team each support mailbox belongs to.
    teams: HashMap<EmailAddress, TeamId>,
    /// The organisation's own domains (lookalikes of them are flagged).
    own_domains: Vec<String>,
    /// Applied to the subject and text of mail that becomes a ticket or a reply, when
    /// the operator turned redaction of inbound mail on.
    redact: Option<Redact>,
}

/// Removes what must not be stored from a text (the binary passes `assist`'s redactor).
pub type Redact = Arc<dyn Fn(&str) -> String + Send + Sync>;

impl Inbound {
    pub fn new(store: Store, policy: Arc<PolicyEngine>, teams: HashMap<EmailAddress, TeamId>) -> Self {
        let mut own_domains: Vec<String> = teams.keys().map(|m| m.domain().to_ascii_lowercase()).collect();
        own_domains.sort();
        own_domains.dedup();
        Self {
            store,
            policy,
            teams,
            own_domains,
            redact: None,
        }
    }

    pub fn with_redaction(mut self, redact: Redact) -> Self {
        self.redact = Some(redact);
        self
    }

    fn redacted(&self, (subject, body): (String, String)) -> (String, String) {
        match &self.redact {
            Some(redact) => (redact(&subject), redact(&body)),
            None => (subject, body),
        }
    }

    /// Adds domains to compare senders with, besides the mailboxes' own.
    pub fn with_own_domains(mut self, domains: &[String]) -> Self {
        self.own_domains
            .extend(domains.iter().map(|d| d.to_ascii_lowercase()));
        self.own_domains.sort();
        self.own_domains.dedup();
        self
    }

    /// A bounce to the VERP address of an outbound message: marks its recipient's
    /// address (once per message) and audits it, in one transaction. Never a ticket,
    /// never a reply.
    pub async fn record_bounce(
        &self,
        bounce_id: [u8; palisade_store::BOUNCE_ID_LEN],
    ) -> Result<(), MailError> {
        let mut tx = self.store.begin().await?;
        if self.store.record_bounce(&mut tx, &bounce_id).await? {
            let ctx = AuditContext {
                actor: "mail".into(),
                ip: String::new(),
                user_agent: "smtp".into(),
                session: String::new(),
            };
            let event = AuditEvent::new(AuditAction::MailBounced, hex::encode(bounce_id), Outcome::Success);
            self.store.append_audit(&mut tx, &ctx, &event).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The known domain the sender's imitates, if any.
    async fn lookalike(&self, domain: &str) -> Result<Option<crate::Lookalike>, MailError> {
        let known = self.store.known_domains(KNOWN_DOMAINS_COMPARED).await?;
        Ok(crate::lookalike(
            domain,
            self.own_domains.iter().chain(known.iter()).map(String::as_str),
        ))
    }

    /// Stores `accepted` where the placement rule says; returns the placement.
    pub async fn deliver(&self, accepted: Accepted) -> Result<Placement, MailError> {
        match self.deliver_once(&accepted).await {
            // Two first messages from a new sender at once: one created the account, the
            // other's transaction hit it and rolled back. Once more finds the account.
            Err(MailError::Store(palisade_store::StoreError::Conflict)) => self.deliver_once(&accepted).await,
            other => other,
        }
    }

    async fn deliver_once(&self, accepted: &Accepted) -> Result<Placement, MailError> {
        let from = &accepted.message.from.address;
        let account = self.store.find_user_by_email(from).await?;
        // A disabled account's address neither writes as that account nor opens a new
        // one (the address is taken): refused for good, not deferred forever.
        if account.as_ref().is_some_and(|u| u.disabled) {
            return Err(MailError::Permanent("the sender's account is disabled".into()));
        }
        let mut placement = place(
            &accepted.recipient,
            &accepted.verdict,
            account.as_ref().map(|u| &u.id),
        );
        // Staff accounts do not open tickets by mail, and authenticated mail from an
        // address without an account opens one for a new customer.
        if placement == Placement::NewTicket && account.as_ref().is_some_and(|u| u.role.is_staff()) {
            placement = Placement::Quarantine;
        }
        let ctx = AuditContext {
            actor: account
                .as_ref()
                .map(|u| u.id.to_string())
                .unwrap_or_else(|| "mail".into()),
            ip: accepted.client_ip.to_string(),
            user_agent: format!("smtp/{}", accepted.helo),
            session: String::new(),
        };
        let mailbox = match &accepted.recipient {
            Recipient::Mailbox(m) | Recipient::Reply { mailbox: m, .. } => m.clone(),
            Recipient::Unknown | Recipient::Bounce { .. } => {
                return Err(MailError::Permanent("not a mailbox".into()));
            }
        };
        let team = self
            .teams
            .get(&mailbox)
            .cloned()
            .ok_or_else(|| MailError::Config(format!("mailbox {} has no team", mailbox.as_str())))?;
        // Reads and decisions first, so the transaction below (which holds the audit
        // chain's head) only writes.
        let (subject, body) = self.redacted(text_of(accepted));
        let lookalike = match &placement {
            Placement::PublicReply { .. } => None,
            Placement::NewTicket | Placement::Quarantine => self.lookalike(from.domain()).await?,
        };
        let lookalike_json = lookalike.as_ref().map(
            |l| json!({ "domain": from.domain(), "resembles": l.resembles, "reason": l.reason.as_str() }),
        );
        let reply = match &placement {
            Placement::PublicReply { ticket, author } => {
                let record = self.store.get_ticket(ticket).await?;
                let principal = self.principal(author).await?;
                // The requester of a ticket nobody had confirmed answers, authenticated,
                // through the reply address mailed only to them: that proves the address
                // is theirs, so the reply confirms the ticket.
                let mut facts = record.facts();
                let confirms = !facts.requester_confirmed && facts.requester == *author;
                facts.requester_confirmed |= confirms;
                let proof = self
                    .policy
                    .authorize(&principal, Action::TicketReply, &Resource::Ticket(facts))
                    .map_err(|_| MailError::Permanent("the participant may no longer reply".into()))?;
                Some((record, proof, confirms))
            }
            _ => None,
        };
        let mut tx = self.store.begin().await?;
        if placement != Placement::Quarantine {
            let message_id = accepted
                .message
                .single("Message-ID")
                .unwrap_or_default()
                .trim()
                .to_owned();
            if !message_id.is_empty()
                && !self
                    .store
                    .first_receipt(&mut tx, from.as_str(), &message_id)
                    .await?
            {
                // A retransmission of something already taken: acknowledged, not stored twice.
                return Ok(placement);
            }
        }
        let detail = match &placement {
            Placement::Quarantine => {
                let sealed = serde_json::to_vec(&json!({
                    "client_ip": accepted.client_ip.to_string(),
                    "helo": accepted.helo,
                    "mail_from": accepted.mail_from.as_ref().map(|a| a.as_str().to_owned()),
                    "from": from.as_str(),
                    "display_name": accepted.message.from.display_name,
                    "verdict": verdict_json(&accepted.verdict),
                    "lookalike": lookalike_json,
                    "raw": String::from_utf8_lossy(&accepted.raw),
                }))
                .map_err(|e| MailError::Permanent(e.to_string()))?;
                let id = self.store.quarantine_mail(&mut tx, &team, &sealed).await?;
                json!({ "placement": "quarantine", "quarantine_id": id, "verdict": verdict_json(&accepted.verdict),
                        "lookalike": lookalike_json })
            }
            Placement::PublicReply { ticket, author } => {
                let Some((record, proof, confirms)) = &reply else {
                    return Err(MailError::Permanent("reply without its ticket".into()));
                };
                if *confirms && self.store.confirm_requester(&mut tx, ticket, author).await? {
                    let event = AuditEvent::new(
                        AuditAction::RequesterConfirmed,
                        ticket.to_string(),
                        Outcome::Success,
                    )
                    .with_detail(json!({ "by": "authenticated_reply" }));
                    self.store.append_audit(&mut tx, &ctx, &event).await?;
                }
                let message = self
                    .store
                    .add_message(&mut tx, proof, record, author, Visibility::Public, &body)
                    .await?;
                self.store
                    .record_mail_provenance(
                        &mut tx,
                        &message,
                        verdict_json(&accepted.verdict).to_string().as_bytes(),
                    )
                    .await?;
                self.store.remember_domain(&mut tx, from.domain()).await?;
                json!({ "placement": "reply", "ticket": ticket.to_string(), "verdict": verdict_json(&accepted.verdict) })
            }
            Placement::NewTicket => {
                let (requester, created) = match account {
                    Some(user) => (user, None),
                    None => {
                        let (user, event) = self.new_customer(&mut tx, from, accepted).await?;
                        (user, Some(event))
                    }
                };
                let (id, _, creation, message) = self
                    .open_ticket(&mut tx, &requester, &team, &subject, &body)
                    .await?;
                // Audited after the ticket: every transaction takes the ticket counter
                // before the audit chain's head, so two never wait for each other.
                if let Some(event) = created {
                    self.store.append_audit(&mut tx, &ctx, &event).await?;
                }
                let mut provenance = verdict_json(&accepted.verdict);
                provenance["lookalike"] = lookalike_json.clone().unwrap_or_default();
                self.store
                    .record_mail_provenance(&mut tx, &message, provenance.to_string().as_bytes())
                    .await?;
                if lookalike.is_some() {
                    let tag = palisade_core::TagName::parse(LOOKALIKE_TAG)
                        .map_err(|e| MailError::Permanent(e.to_string()))?;
                    self.store.tag_new_ticket(&mut tx, &creation, &id, &tag).await?;
                } else {
                    // A lookalike never becomes a known domain others are compared with.
                    self.store.remember_domain(&mut tx, from.domain()).await?;
                }
                json!({ "placement": "new_ticket", "ticket": id.to_string(), "verdict": verdict_json(&accepted.verdict),
                        "lookalike": lookalike_json })
            }
        };
        let event = AuditEvent::new(AuditAction::MailReceived, mailbox.as_str(), Outcome::Success)
            .with_detail(detail);
        self.store.append_audit(&mut tx, &ctx, &event).await?;
        tx.commit().await?;
        Ok(placement)
    }

    /// An agent's release of a quarantined message: it becomes a new ticket of the
    /// address in its `From` (an account is created for an unknown address), tagged
    /// `released-from-quarantine` so everyone handling it sees it was not authenticated.
    /// Nobody has proved to own that address, so the ticket stays out of the
    /// customer's portal until they confirm it (the caller mails them the link).
    /// Staff addresses are never made requesters this way.
    pub async fn release(
        &self,
        tx: &mut palisade_store::Tx,
        sealed: &[u8],
        team: &TeamId,
        reviewer: &Principal,
        ctx: &AuditContext,
    ) -> Result<Released, MailError> {
        let held: serde_json::Value = serde_json::from_slice(sealed)
            .map_err(|e| MailError::Permanent(format!("unreadable quarantine: {e}")))?;
        let raw = held["raw"].as_str().unwrap_or_default().as_bytes().to_vec();
        let message = crate::read_message(&raw).map_err(|e| MailError::Permanent(e.as_str().into()))?;
        let from = message.from.address.clone();
        let account = self.store.find_user_by_email(&from).await?;
        let (requester, created) = match account {
            Some(user) if user.role.is_staff() || user.disabled => {
                return Err(MailError::Permanent(
                    "the sender's address belongs to a staff or disabled account".into(),
                ));
            }
            Some(user) => (user, None),
            None => {
                let name = message
                    .from
                    .display_name
                    .clone()
                    .filter(|n| !n.contains('@'))
                    .unwrap_or_else(|| from.as_str().to_owned());
                let (user, event) = self.create_customer(tx, &from, &name).await?;
                (user, Some(event))
            }
        };
        let (subject, body) = self.redacted(subject_and_body(&message, &raw));
        let (id, facts, _, message) = self.open_ticket(tx, &requester, team, &subject, &body).await?;
        self.store.mark_requester_unconfirmed(tx, &id).await?;
        if let Some(event) = created {
            self.store.append_audit(tx, ctx, &event).await?;
        }
        let mut provenance = held["verdict"].clone();
        provenance["released_by"] = json!(reviewer.user_id.to_string());
        self.store
            .record_mail_provenance(tx, &message, provenance.to_string().as_bytes())
            .await?;
        let tag =
            palisade_core::TagName::parse(RELEASED_TAG).map_err(|e| MailError::Permanent(e.to_string()))?;
        let proof = self
            .policy
            .authorize(reviewer, Action::TicketTag, &Resource::Ticket(facts))
            .map_err(|_| MailError::Permanent("the reviewer may not tag this ticket".into()))?;
        self.store.set_tags(tx, &proof, &id, &[tag]).await?;
        Ok(Released {
            ticket: id,
            requester,
            subject,
        })
    }

    async fn principal(&self, user: &UserId) -> Result<Principal, MailError> {
        let record = self.store.get_user(user).await?;
        Ok(Principal {
            user_id: record.id.clone(),
            role: record.role,
            teams: self.store.user_teams(&record.id).await?,
            company: record.company.clone(),
            session: None,
            scopes: None,
        })
    }

    /// A customer account for an authenticated sender, and the audit event to append
    /// once the ticket exists.
    async fn new_customer(
        &self,
        tx: &mut palisade_store::Tx,
        from: &EmailAddress,
        accepted: &Accepted,
    ) -> Result<(UserRecord, AuditEvent), MailError> {
        let name = accepted
            .message
            .from
            .display_name
            .clone()
            .filter(|n| !n.contains('@'))
            .unwrap_or_else(|| from.as_str().to_owned());
        self.create_customer(tx, from, &name).await
    }

    async fn create_customer(
        &self,
        tx: &mut palisade_store::Tx,
        from: &EmailAddress,
        name: &str,
    ) -> Result<(UserRecord, AuditEvent), MailError> {
        let name: String = name.chars().take(200).collect();
        let id = self
            .store
            .create_user(
                tx,
                &NewUser {
                    role: Role::Customer,
                    email: from.clone(),
                    name: name.clone(),
                    phone: None,
                    company: None,
                    password_hash: None,
                },
            )
            .await?;
        let event = AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success)
            .with_detail(json!({ "source": "mail", "role": "customer" }));
        let user = UserRecord {
            id,
            role: Role::Customer,
            email: from.clone(),
            name,
            phone: None,
            company: None,
            disabled: false,
            created_at: palisade_core::UnixMillis::now(),
        };
        Ok((user, event))
    }

    async fn open_ticket(
        &self,
        tx: &mut palisade_store::Tx,
        requester: &UserRecord,
        team: &TeamId,
        subject: &str,
        body: &str,
    ) -> Result<
        (
            TicketId,
            TicketFacts,
            palisade_policy::Authorized,
            palisade_core::MessageId,
        ),
        MailError,
    > {
        let company_sharing = match &requester.company {
            Some(c) => self.store.get_company(c).await?.share_tickets,
            None => false,
        };
        let id = TicketId::generate();
        let facts = TicketFacts {
            id: id.clone(),
            requester: requester.id.clone(),
            collaborators: vec![],
            team: team.clone(),
            assignee: None,
            company: requester.company.clone(),
            company_sharing,
            requester_confirmed: true,
        };
        let principal = Principal {
            user_id: requester.id.clone(),
            role: requester.role,
            teams: vec![],
            company: requester.company.clone(),
            session: None,
            scopes: None,
        };
        let proof = self
            .policy
            .authorize(&principal, Action::TicketCreate, &Resource::Ticket(facts.clone()))
            .map_err(|_| MailError::Permanent("the sender may not open tickets".into()))?;
        let new = NewTicket {
            requester: requester.id.clone(),
            team: team.clone(),
            subject: subject.to_owned(),
            first_message: body.to_owned(),
            author: requester.id.clone(),
        };
        let (_, message) = self.store.create_ticket(tx, &proof, &id, &new).await?;
        Ok((id, facts, proof, message))
    }
}

/// The subject (from the strict reading) and the plain-text body.
fn text_of(accepted: &Accepted) -> (String, String) {
    subject_and_body(&accepted.message, &accepted.raw)
}

fn subject_and_body(message: &crate::StrictMessage, raw: &[u8]) -> (String, String) {
    let subject: String = message
        .single("Subject")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(no subject)".into())
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SUBJECT_CHARS)
        .collect();
    let body = MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default();
    let body: String = body.chars().take(MAX_BODY_CHARS).collect();
    let body = if body.trim().is_empty() {
        "(empty message)".to_owned()
    } else {
        body
    };
    (subject, body)
}

fn verdict_json(verdict: &Verdict) -> serde_json::Value {
    match verdict {
        Verdict::Authenticated(crate::AuthMethod::Dkim { domain }) => {
            json!({ "authenticated": "dkim", "domain": domain })
        }
        Verdict::Authenticated(crate::AuthMethod::Spf { domain }) => {
            json!({ "authenticated": "spf", "domain": domain })
        }
        Verdict::Authenticated(crate::AuthMethod::Arc { forwarder, domain }) => {
            json!({ "authenticated": "arc", "domain": domain, "forwarder": forwarder })
        }
        Verdict::Unauthenticated(f) => json!({
            "authenticated": false,
            "dkim_not_counted": f.dkim_not_counted,
            "dkim_failed": f.dkim_failed,
            "spf": f.spf,
        }),
        Verdict::TryLater(why) => json!({ "authenticated": false, "deferred": why }),
    }
}
